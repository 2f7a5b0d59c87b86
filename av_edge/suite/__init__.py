"""The closed-loop scenario suite: lock-step runs, recording, replay, regression and reports."""
