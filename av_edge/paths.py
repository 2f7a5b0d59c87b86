"""Where installed data (config, launch) lives: the source tree for a checkout or editable install,
else ``share/av_edge`` of a colcon install."""

from __future__ import annotations

from pathlib import Path

PACKAGE = "av_edge"
FASTDDS_PROFILE = "fastdds_large_data.xml"
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def share_dir() -> Path:
    if (_SOURCE_ROOT / "package.xml").is_file() and (_SOURCE_ROOT / "config").is_dir():
        return _SOURCE_ROOT
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory(PACKAGE))


def config_file(name: str) -> Path:
    return share_dir() / "config" / name
