"""Thin ROS 2 nodes: convert message -> call core -> publish."""

import os

# One BLAS thread per node, set before numpy loads OpenBLAS: the nodes' linear algebra is small (a
# tracker's 4x4 matrices), OpenBLAS' idle threads spin on the cores the braking path needs, and
# each thread's 32 MiB buffer is resident in a node that locks its memory (node_setup.lock_memory).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
