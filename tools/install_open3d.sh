#!/usr/bin/env bash
# open3d-cpu into the venv, with the libusb it needs to import (apt, when we are root).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if ! ldconfig -p | grep -q "libusb-1.0.so.0"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install_open3d: installing libusb-1.0-0"
    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libusb-1.0-0 >/dev/null
  else
    echo "install_open3d: open3d needs libusb-1.0-0 (sudo apt-get install libusb-1.0-0)" >&2
  fi
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements/bench.txt
"$VENV/bin/python" -c "import open3d; print('install_open3d: open3d', open3d.__version__)"
touch "$VENV/.open3d"
