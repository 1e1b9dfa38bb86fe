"""Benchmark the U-Net provider on this machine: sampling speed (eager vs optimised) and training.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_unet.py [--checkpoint PATH] [--compile]
        [--threads 2] [--steps 50] [--batch-size 256] [--json results/bench_unet.json]

Sampling: DDIM, ``--steps`` steps, one batch of ``--batch-size`` images through the real sampling
loop (:func:`denoisebench.diffusion.loop.sample_batch`, inference mode), for each inference path:
``eager`` (contiguous tensors, no compile), ``channels_last`` (the default path) and, with
``--compile``, ``channels_last+compile``. Each optimised path's final images are compared with
the eager path's (max |difference| in [-1, 1] units). Also: FLOPs per image per step
(torch.utils.flop_counter), the same numbers for a reference-like plain U-Net (3 levels 28/14/7,
no patch stem, no attention), the effect of the batch size, and the training throughput of the
final recipe (images/s, batch 128, AdamW + EMA).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from denoisebench.datasets.base import ImageDataset
from denoisebench.diffusion.loop import sample_batch
from denoisebench.diffusion.noise import SampleNoise
from denoisebench.providers.base import ProviderContext
from denoisebench.providers.unet import UNet, UNetConfig, UNetProvider
from denoisebench.providers.unet.provider import SHIPPED
from denoisebench.diffusion.samplers import DDIMSampler
from denoisebench.diffusion.schedule import make_schedule
from denoisebench.training.checkpoint import load_weights

REFERENCE_LIKE = UNetConfig(channels=(32, 64, 64), patch=1, attention=False)


def _dummy_dataset() -> ImageDataset:
    import numpy as np

    z = np.zeros((2, 28, 28), np.uint8)
    return ImageDataset("bench", z, np.zeros(2), z, np.zeros(2))


def flops_per_image(model: torch.nn.Module) -> float:
    with FlopCounterMode(display=False) as fc, torch.inference_mode():
        model(torch.randn(1, 1, 28, 28), torch.tensor([500]))
    return fc.get_total_flops()


def time_sampling(model: torch.nn.Module, options: dict[str, str], steps: int, batch: int,
                  repeats: int) -> tuple[float, torch.Tensor]:
    """Best wall time of ``repeats`` full chains of one batch, and the final float images."""
    import copy

    provider = UNetProvider.from_model(copy.deepcopy(model), ProviderContext(dataset=_dummy_dataset(),
                                                                             options=options))
    sampler = DDIMSampler(make_schedule("linear", 1000), steps)
    best, out = float("inf"), None
    with torch.inference_mode():
        sample_batch(provider, DDIMSampler(sampler.schedule, 2), SampleNoise(0, range(batch), (1, 28, 28)))
        for _ in range(repeats):
            noise = SampleNoise(0, range(batch), (1, 28, 28))
            t0 = time.perf_counter()
            out = sample_batch(provider, sampler, noise)
            best = min(best, time.perf_counter() - t0)
    assert out is not None
    return best, out


def time_forward(model: torch.nn.Module, batch: int, repeats: int, channels_last: bool) -> float:
    """Best ms per image per network call at ``batch``."""
    m = model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format).eval()
    x, t = torch.randn(batch, 1, 28, 28), torch.randint(1, 1001, (batch,))
    best = float("inf")
    with torch.inference_mode():
        m(x, t)
        for _ in range(repeats):
            t0 = time.perf_counter()
            m(x, t)
            best = min(best, time.perf_counter() - t0)
    return 1000 * best / batch


def training_throughput(config: UNetConfig, batch: int, steps: int) -> float:
    """Images per second of the final recipe's training step (draw, loss, AdamW, EMA)."""
    from timm.utils import ModelEmaV3

    torch.manual_seed(0)
    recipe = UNetProvider.training(config)
    model = recipe.build_model()
    ema = ModelEmaV3(model, decay=0.999, use_warmup=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    sched = make_schedule("linear", 1000)
    x0 = torch.rand(batch, 1, 28, 28) * 2 - 1
    gen = torch.Generator().manual_seed(0)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        loss = recipe.training_loss(model, recipe.draw(x0, gen, sched), sched)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update(model, step=i + 1)
        times.append(time.perf_counter() - t0)
    times = sorted(times[1:])
    return batch / times[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=SHIPPED if SHIPPED.is_file() else None)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    ap.add_argument("--train-steps", type=int, default=10)
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.checkpoint is not None:
        model, _ = load_weights(UNetProvider, args.checkpoint)
        config: UNetConfig = model.config
    else:
        torch.manual_seed(0)
        config = UNetConfig()
        model = UNet(config)
        with torch.no_grad():  # the zero-initialised output layers would make every path agree trivially
            for p in model.parameters():
                p.add_(0.02 * torch.randn_like(p))
    model = model.eval()
    n, s = args.batch_size, args.steps
    report: dict[str, object] = {
        "threads": torch.get_num_threads(), "steps": s, "batch_size": n,
        "checkpoint": str(args.checkpoint) if args.checkpoint else None, "config": repr(config),
        "params": sum(p.numel() for p in model.parameters()),
        "mflops_per_image_step": flops_per_image(model) / 1e6,
        "reference_like_mflops_per_image_step": flops_per_image(UNet(REFERENCE_LIKE)) / 1e6,
    }
    print(f"torch {torch.__version__}, {report['threads']} threads; model {config} "
          f"({report['params'] / 1e6:.2f}M params, {report['mflops_per_image_step']:.1f} MFLOP/image/step; "
          f"reference-like plain U-Net {report['reference_like_mflops_per_image_step']:.1f})", flush=True)
    paths = {"eager": {"channels_last": "0"}, "channels_last": {"channels_last": "1"}}
    if args.compile:
        paths["channels_last+compile"] = {"channels_last": "1", "compile": "1"}
    sampling: dict[str, dict[str, float]] = {}
    eager_out = None
    for name, options in paths.items():
        wall, out = time_sampling(model, options, s, n, args.repeats)
        diff = 0.0 if eager_out is None else float((out - eager_out).abs().max())
        eager_out = out if eager_out is None else eager_out
        sampling[name] = {"images_per_s": n / wall, "ms_per_image_step": 1000 * wall / (n * s),
                          "max_abs_diff_vs_eager": diff}
        print(f"sampling {name:22s} DDIM{s} batch {n}: {n / wall:7.1f} images/s, "
              f"{1000 * wall / (n * s):.3f} ms/image/step, max |x0 - eager| = {diff:.2e}", flush=True)
    report["sampling"] = sampling
    per_batch = {}
    for b in (16, 64, 256):
        per_batch[b] = {"contiguous": time_forward(model, b, 3, False), "channels_last": time_forward(model, b, 3, True)}
        print(f"network call batch {b:4d}: {per_batch[b]['contiguous']:.3f} ms/image contiguous, "
              f"{per_batch[b]['channels_last']:.3f} ms/image channels-last", flush=True)
    report["forward_ms_per_image_by_batch"] = per_batch
    ref = UNet(REFERENCE_LIKE)
    report["reference_like_ms_per_image_step"] = {"contiguous": time_forward(ref, n, 2, False),
                                                  "channels_last": time_forward(ref, n, 2, True)}
    print(f"reference-like plain U-Net batch {n}: {report['reference_like_ms_per_image_step']}", flush=True)
    report["training_images_per_s"] = training_throughput(config, 128, args.train_steps)
    print(f"training (batch 128, AdamW + EMA, channels-last): {report['training_images_per_s']:.1f} images/s",
          flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
