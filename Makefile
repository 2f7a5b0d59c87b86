# The two commands a new user needs: `make demo` and `make test`. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.bootstrapped

OPEN3D := $(VENV)/.open3d

.PHONY: demo test lint pytest bench soak open3d clean

$(STAMP): setup.py requirements/base.txt requirements/dev.txt requirements/ros-pip.txt tools/bootstrap.sh
	VENV=$(VENV) bash tools/bootstrap.sh

demo: $(STAMP)  ## the scenario suite (lock-step), then one scenario in real time over DDS
	$(VENV)/bin/av-edge suite --deterministic --known-failures config/scenarios/known_failures.yaml
	$(VENV)/bin/av-edge demo --scenario lead_stopped_50kmh_100pct

test: lint pytest  ## lint, type-check, unit + multi-process DDS integration tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports  # layer contracts: .importlinter

pytest: $(STAMP)
	$(PY) -m pytest

$(OPEN3D): $(STAMP) requirements/bench.txt tools/install_open3d.sh
	VENV=$(VENV) bash tools/install_open3d.sh

open3d: $(OPEN3D)  ## the benchmark baseline and .pcd/.ply reading (optional, heavy)

bench: $(STAMP) $(OPEN3D)  ## benchmarks -> bench/results.json
	$(VENV)/bin/av-edge bench

soak: $(STAMP)  ## every node under full load with faults, SOAK_MINUTES (default 30) -> bench/soak.json
	$(VENV)/bin/av-edge soak

clean:
	rm -rf $(VENV) build install log report bench/results.json bench/soak.json bench/soak_logs .pytest_cache .mypy_cache .ruff_cache
