"""ms per image of each encoder on this CPU at MNIST's size (1 x 28 x 28) and a colour size
(3 x 32 x 32), one thread, and the extrapolated CPU-seconds of encoding a full N = 1,000
evaluation (the samples, the 1,000 held-out images and the N train-subset floor images = 3,000
images; the 4,000-image train split for AuthPct/C_T is encoded once per dataset and cached).

Networks without their weights here are built with random values (the same cost):
``python benchmarks/bench_encoders.py [--batch 8] [--encoders inception,...]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import torch

from denoisebench.encoders import InceptionEncoder, get_encoder
from denoisebench.encoders.timm_vit import TimmEncoder


def random_model(enc) -> None:  # noqa: ANN001
    """Give an encoder without weights a randomly initialised network of the same architecture."""
    if enc.weights_present():
        return
    if isinstance(enc, TimmEncoder):
        enc._model = enc.create(None)
    elif isinstance(enc, InceptionEncoder):
        from unittest import mock

        from pytorch_fid import inception as fid_inception

        with mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *a, **k: None), \
                mock.patch.object(torch.nn.Module, "load_state_dict", lambda self, sd, *a, **k: None):
            enc._model = fid_inception.InceptionV3([3], resize_input=False, normalize_input=False).eval()


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--encoders", default="mnist-classifier,pixels,inception,clip-vitb32,dinov2-vitb14,dinov2-vitl14")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    shapes = {"1x28x28": rng.integers(0, 256, (args.batch, 28, 28), dtype=np.uint8),
              "3x32x32": rng.integers(0, 256, (args.batch, 32, 32, 3), dtype=np.uint8)}
    rows = []
    for name in args.encoders.split(","):
        enc = get_encoder(name)
        random_model(enc)
        row = {"encoder": name, "weights": "real" if enc.weights_present() else "random", "batch": args.batch}
        for label, images in shapes.items():
            try:
                enc.check_images(images)
            except Exception as exc:  # noqa: BLE001
                row[label] = f"n/a ({str(exc).split(':')[0]})"
                continue
            enc.encode(images[:2])  # warm-up
            wall, cpu = time.perf_counter(), cpu_s()
            enc.encode(images)
            wall, cpu = time.perf_counter() - wall, cpu_s() - cpu
            row[label] = round(1000 * wall / len(images), 2)
            row[f"{label} cpu-s per N=1000 eval (3000 images)"] = round(3000 * cpu / len(images), 1)
        rows.append(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
