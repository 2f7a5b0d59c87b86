"""Model packages refuse modified models; average precision follows the VOC definition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from av_edge.core.detection.boxes import DETECTION_DTYPE
from av_edge.core.detection.evaluation import average_precision
from av_edge.core.detection.manifest import MANIFEST_FILE, MODEL_FILE, ModelPackageError, load_package, write_package
from test.core.detection.test_boxes import MANIFEST


def test_package_round_trip_and_hash(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", MANIFEST, b"onnx bytes")
    assert package.manifest.sha256 != MANIFEST.sha256 and package.onnx_bytes == b"onnx bytes"
    assert load_package(tmp_path / "pkg").manifest.class_names == ("car", "person")


def test_one_flipped_byte_is_refused(tmp_path: Path) -> None:
    write_package(tmp_path / "pkg", MANIFEST, bytes(range(256)))
    data = bytearray((tmp_path / "pkg" / MODEL_FILE).read_bytes())
    data[100] ^= 0x01
    (tmp_path / "pkg" / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelPackageError, match=r"sha256 .* does not match"):
        load_package(tmp_path / "pkg")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("class_names"), "malformed manifest"),
        (lambda d: d["output"].update(format="ssd"), "output format 'ssd'"),
        (lambda d: d["input"].update(width=650), "multiples of 32"),
        (lambda d: d["input"].update(layout="NHWC"), "NCHW float32"),
    ],
)
def test_malformed_manifests_name_the_problem(tmp_path: Path, edit, message: str) -> None:
    write_package(tmp_path / "pkg", MANIFEST, b"x")
    document = yaml.safe_load((tmp_path / "pkg" / MANIFEST_FILE).read_text())
    edit(document)
    (tmp_path / "pkg" / MANIFEST_FILE).write_text(yaml.safe_dump(document))
    with pytest.raises(ModelPackageError, match=message):
        load_package(tmp_path / "pkg")


def test_missing_package_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelPackageError, match="No such file"):
        load_package(tmp_path / "nowhere")


def rows(*boxes: tuple[float, float, float, float, float, int]) -> np.ndarray:
    return np.array(list(boxes), DETECTION_DTYPE)


def test_average_precision() -> None:
    truth = [rows((0, 0, 10, 10, 1, 0), (20, 20, 30, 30, 1, 0)), rows((0, 0, 10, 10, 1, 1))]
    perfect = [rows((0, 0, 10, 10, 0.9, 0), (20, 20, 30, 30, 0.8, 0)), rows()]
    assert average_precision(perfect, truth, 0) == pytest.approx(1.0)
    assert average_precision(perfect, truth, 1) == pytest.approx(0.0)  # the class-1 object was missed
    half = [rows((0, 0, 10, 10, 0.9, 0)), rows()]
    assert average_precision(half, truth, 0) == pytest.approx(0.5)
    # a confident false positive first, then both hits: precision 1/2 then 2/3 at recall 1
    noisy = [rows((50, 50, 60, 60, 0.99, 0), (0, 0, 10, 10, 0.9, 0), (20, 20, 30, 30, 0.8, 0)), rows()]
    assert average_precision(noisy, truth, 0) == pytest.approx(2 / 3)
    duplicate = [rows((0, 0, 10, 10, 0.9, 0), (0, 0, 10, 10, 0.8, 0)), rows()]
    assert average_precision(duplicate, truth, 0) == pytest.approx(0.5)  # a duplicate is a false positive
    assert np.isnan(average_precision(perfect, truth, 7))
