#!/usr/bin/env python3
"""Train av_edge's default camera detector on simulator-rendered images and write a model package.

Dev-only (PyTorch CPU: ``pip install -r requirements/train.txt``); never needed at runtime. The
network is a small anchor-free single-scale detector (stride 8, FPN-style fusion of strides 16 and
32) whose ONNX output uses the YOLOv8 export layout ``[B, 4 + nc, N]`` (cx, cy, w, h in input pixels,
class probabilities), so av_edge decodes it exactly like a YOLO export. Validation runs the exported
ONNX through ONNX Runtime and av_edge's own decoding, so the recorded mAP is the shipped artefact's.

    python tools/train_detector.py --output av_edge/models/sim_detector
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import multiprocessing
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch convention
from torch import nn

from av_edge.core.camera import load_rig
from av_edge.core.detection.boxes import decode, to_batch
from av_edge.core.detection.evaluation import average_precision
from av_edge.core.detection.manifest import ModelManifest, write_package
from av_edge.paths import config_file
from av_edge.sim.detection_data import DETECTOR_CLASSES, GeneratorSettings, sample

STRIDE = 8
WIDTH, HEIGHT = 640, 480
MEAN, STD = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)


def conv(cin: int, cout: int, stride: int = 1, groups: int = 1, k: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.SiLU()
    )


def separable(c: int) -> nn.Sequential:
    return nn.Sequential(conv(c, c, groups=c), conv(c, c, k=1))


class TinyDetector(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(conv(3, 16, 2), conv(16, 32, 2))  # /4
        self.c3 = nn.Sequential(conv(32, 48, 2), separable(48))  # /8
        self.c4 = nn.Sequential(conv(48, 64, 2), separable(64), separable(64))  # /16
        self.c5 = nn.Sequential(conv(64, 96, 2), separable(96), separable(96))  # /32
        self.lat5, self.lat4 = conv(96, 48, k=1), conv(64, 48, k=1)
        self.head = nn.Sequential(separable(48), separable(48))
        self.box = nn.Conv2d(48, 4, 1)
        self.cls = nn.Conv2d(48, num_classes, 1)
        nn.init.constant_(self.cls.bias, -4.6)  # prior probability 0.01 (RetinaNet)

    def raw(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per stride-8 cell: ltrb distances (stride units, before softplus) and class logits."""
        p3 = self.c3(self.stem(x))
        p4 = self.c4(p3)
        p5 = self.c5(p4)
        p4 = self.lat4(p4) + F.interpolate(self.lat5(p5), size=p4.shape[2:], mode="nearest")
        p3 = p3 + F.interpolate(p4, size=p3.shape[2:], mode="nearest")
        feature = self.head(p3)
        return self.box(feature).flatten(2), self.cls(feature).flatten(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """YOLOv8 export layout: [B, 4 + nc, N] with cx, cy, w, h in input pixels and probabilities."""
        box, cls = self.raw(x)
        centres = grid_centres(x.shape[2], x.shape[3]).to(x)
        ltrb = F.softplus(box) * STRIDE
        x1y1 = centres.T[None] - ltrb[:, :2]
        x2y2 = centres.T[None] + ltrb[:, 2:]
        return torch.cat([(x1y1 + x2y2) / 2, x2y2 - x1y1, cls.sigmoid()], dim=1)


def grid_centres(height: int, width: int) -> torch.Tensor:
    """(N, 2) pixel centres of the stride-8 cells, row-major (as ``flatten(2)``)."""
    ys, xs = torch.meshgrid(torch.arange(height // STRIDE), torch.arange(width // STRIDE), indexing="ij")
    return (torch.stack([xs.flatten(), ys.flatten()], dim=1).float() + 0.5) * STRIDE


def assign(centres: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Index of the box each cell learns (-1: background). Positive: within 2.5 cells of the box centre
    and inside the box (YOLOX centre sampling), plus always the cell holding the centre; a cell in
    several boxes learns the smallest."""
    if len(boxes) == 0:
        return torch.full((len(centres),), -1, dtype=torch.long)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    px, py = centres[:, :1], centres[:, 1:]
    inside = (px > boxes[:, 0]) & (px < boxes[:, 2]) & (py > boxes[:, 1]) & (py < boxes[:, 3])
    near = ((px - cx).abs() < 2.5 * STRIDE) & ((py - cy).abs() < 2.5 * STRIDE)
    holder = ((px - cx).abs() <= STRIDE / 2) & ((py - cy).abs() <= STRIDE / 2)
    candidate = (inside & near) | holder
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].expand_as(candidate)
    area = torch.where(candidate, area, torch.full_like(area, math.inf))
    best_area, best = area.min(dim=1)
    return torch.where(torch.isfinite(best_area), best, torch.full_like(best, -1))


def giou_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ix1, iy1 = torch.max(a[:, 0], b[:, 0]), torch.max(a[:, 1], b[:, 1])
    ix2, iy2 = torch.min(a[:, 2], b[:, 2]), torch.min(a[:, 3], b[:, 3])
    inter = (ix2 - ix1).clamp(0) * (iy2 - iy1).clamp(0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a + area_b - inter + 1e-7
    cx1, cy1 = torch.min(a[:, 0], b[:, 0]), torch.min(a[:, 1], b[:, 1])
    cx2, cy2 = torch.max(a[:, 2], b[:, 2]), torch.max(a[:, 3], b[:, 3])
    hull = (cx2 - cx1) * (cy2 - cy1) + 1e-7
    return 1 - (inter / union - (hull - union) / hull)


def loss_fn(model: TinyDetector, images: torch.Tensor, targets: list[torch.Tensor]) -> torch.Tensor:
    box_raw, cls_raw = model.raw(images)
    centres = grid_centres(images.shape[2], images.shape[3])
    cls_target = torch.zeros_like(cls_raw)
    box_losses, positives = [], 0
    for i, target in enumerate(targets):
        owner = assign(centres, target[:, :4])
        pos = owner >= 0
        if not pos.any():
            continue
        positives += int(pos.sum())
        cls_target[i, target[owner[pos], 4].long(), pos.nonzero().squeeze(1)] = 1.0
        ltrb = F.softplus(box_raw[i][:, pos].T) * STRIDE
        c = centres[pos]
        predicted = torch.cat([c - ltrb[:, :2], c + ltrb[:, 2:]], dim=1)
        box_losses.append(giou_loss(predicted, target[owner[pos], :4]))
    focal = _focal(cls_raw, cls_target).sum() / max(positives, 1)
    box = torch.cat(box_losses).mean() if box_losses else cls_raw.sum() * 0
    return focal + 2.0 * box


def _focal(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0) -> torch.Tensor:
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    return ce * (1 - p_t) ** gamma * (alpha * target + (1 - alpha) * (1 - target))


# -- data -----------------------------------------------------------------------------------------------


def _render(job: tuple[int, int, bool | None, GeneratorSettings]) -> tuple[np.ndarray, np.ndarray]:
    seed, index, night, settings = job
    camera = load_rig(config_file("vehicle.yaml"))[0]
    return sample(camera, np.random.default_rng([seed, index]), settings, night)


def render_set(seed: int, count: int, night: bool | None, settings: GeneratorSettings, workers: int) -> list:
    jobs = [(seed, i, night, settings) for i in range(count)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return pool.map(_render, jobs, chunksize=16)


def crops(
    data: list, rng: np.random.Generator, batch: int, crop: tuple[int, int]
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A batch of random crops (multiples of 32), random horizontal flips; boxes clipped, kept when
    at least half of them stays in the crop."""
    cw, ch = crop
    images, targets = [], []
    for k in rng.integers(len(data), size=batch):
        image, labels = data[k]
        x0, y0 = int(rng.integers(0, WIDTH - cw + 1)), int(rng.integers(0, HEIGHT - ch + 1))
        patch = image[y0 : y0 + ch, x0 : x0 + cw]
        rows = np.stack([labels["x1"], labels["y1"], labels["x2"], labels["y2"]], 1).astype(np.float32) - [
            x0,
            y0,
            x0,
            y0,
        ]
        clipped = rows.clip([0, 0, 0, 0], [cw, ch, cw, ch])
        area = lambda r: (r[:, 2] - r[:, 0]).clip(0) * (r[:, 3] - r[:, 1]).clip(0)  # noqa: E731
        keep = area(clipped) >= 0.5 * area(rows)
        target = np.column_stack([clipped[keep], labels["class_id"][keep]]).astype(np.float32)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
            target[:, [0, 2]] = cw - target[:, [2, 0]]
        images.append(torch.from_numpy(np.ascontiguousarray(patch[:, :, ::-1].transpose(2, 0, 1))).float() / 255)
        targets.append(torch.from_numpy(target).reshape(-1, 5))
    return torch.stack(images), targets


# -- export and validation ------------------------------------------------------------------------------


def export_onnx(model: TinyDetector) -> bytes:
    model.eval()
    buffer = io.BytesIO()
    torch.onnx.export(
        model,
        torch.zeros(1, 3, HEIGHT, WIDTH),
        buffer,
        input_names=["images"],
        output_names=["output0"],
        dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    return buffer.getvalue()


def validate(onnx_bytes: bytes, manifest: ModelManifest, data: list) -> dict[str, float]:
    """AP@0.5 per class of the exported model through ONNX Runtime and av_edge's own decoding."""
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    found = []
    for start in range(0, len(data), 8):
        images = [image for image, _ in data[start : start + 8]]
        batch, _ = to_batch(images, manifest)
        (output,) = session.run(None, {manifest.input_name: batch})
        found += decode(output, "yolo", score_threshold=0.05, iou_threshold=0.5)
    truths = [labels for _, labels in data]
    return {name: round(average_precision(found, truths, c), 3) for c, name in enumerate(DETECTOR_CLASSES)}


def train_and_export(args: argparse.Namespace, train: list, started: float) -> bytes:
    """Train on ``train`` as ``args`` say; the ONNX export."""
    model = TinyDetector(len(DETECTOR_CLASSES))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=args.steps, pct_start=0.05)
    rng = np.random.default_rng(args.seed)
    model.train()
    for step in range(args.steps):
        images, targets = crops(train, rng, args.batch, (320, 256))
        loss = loss_fn(model, images, targets)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        schedule.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  {time.time() - started:.0f} s", flush=True)

    return export_onnx(model)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("av_edge/models/sim_detector"))
    parser.add_argument("--train-images", type=int, default=3000)
    parser.add_argument("--val-images", type=int, default=300, help="per split (day, night)")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument(
        "--from-onnx", type=Path, default=None, help="skip training: validate and package this export of a run"
    )
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    settings = GeneratorSettings()
    started = time.time()
    train = [] if args.from_onnx else render_set(args.seed, args.train_images, None, settings, args.workers)
    val_day = render_set(args.seed + 1, args.val_images, False, settings, args.workers)
    val_night = render_set(args.seed + 2, args.val_images, True, settings, args.workers)
    print(f"rendered {len(train)} + {2 * args.val_images} images in {time.time() - started:.0f} s", flush=True)

    onnx_bytes = args.from_onnx.read_bytes() if args.from_onnx else train_and_export(args, train, started)
    manifest = ModelManifest(
        name="av_edge_sim_detector",
        version=args.version,
        input_name="images",
        input_width=WIDTH,
        input_height=HEIGHT,
        channel_order="rgb",
        mean=MEAN,
        std=STD,
        output_format="yolo",
        class_names=DETECTOR_CLASSES,
        sha256="0" * 64,
    )
    day, night = validate(onnx_bytes, manifest, val_day), validate(onnx_bytes, manifest, val_night)
    extra = {
        "training_domain": "simulation",
        "purpose": "simulation only: trained on av_edge's synthetic camera images; real roads need a real model",
        "training": {
            "tool": "tools/train_detector.py",
            "seed": args.seed,
            "train_images": args.train_images,
            "steps": args.steps,
            "batch": args.batch,
            "lr": args.lr,
            "torch": str(torch.__version__),
            "generator": dataclasses.asdict(settings),
        },
        "validation": {
            "split": f"held-out synthetic, {args.val_images} images each",
            "map50_day": day,
            "map50_night": night,
        },
    }
    package = write_package(args.output, dataclasses.replace(manifest, extra=extra), onnx_bytes)
    print(json.dumps(extra["validation"], indent=1))
    print(f"wrote {package.path} ({len(onnx_bytes) / 1e6:.2f} MB) in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
