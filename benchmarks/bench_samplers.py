"""What each registered sampler costs per image at a fixed number of network evaluations (NFE).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_samplers.py [--nfe 20] [--batch-size 256]
        [--threads 2] [--repeats 2] [--provider unet] [--device cpu] [--accuracy]

Speed: for every registered sampler, the largest step count whose NFE does not exceed ``--nfe``
(Heun: NFE = 2 S - 1), one batch through the real loop (:func:`sample_batch`, inference mode),
best of ``--repeats``. The provider's ``predict_eps`` is timed call by call inside the same chain,
so "network" is the network alone on exactly the sampler's calls and "overhead" = chain - network
is what the sampler and the loop add (goal: under 5 % of the chain).

``--accuracy`` adds, for the deterministic ODE samplers, each spacing and NFE 10 and 20, the RMS
distance (in [-1, 1] pixel units) of the final images to a reference solution of the same
probability-flow ODE from the same x_T (Heun on all T = 1000 steps, 1,999 NFE) on 32 images:
the integration error each spacing leaves, which is what a default spacing should minimise.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from denoisebench.datasets.base import ImageDataset
from denoisebench.diffusion.loop import sample_batch
from denoisebench.diffusion.noise import SampleNoise
from denoisebench.diffusion.samplers import SPACINGS, Sampler
from denoisebench.diffusion.schedule import make_schedule
from denoisebench.plugins import get_registry
from denoisebench.providers.base import EpsilonProvider, ProviderContext

SHAPE = (1, 28, 28)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class TimedProvider(EpsilonProvider):
    """Wraps a provider and adds up the wall time of its calls (synchronised on a GPU)."""

    name, description = "timed", "benchmark wrapper"

    def __init__(self, inner: EpsilonProvider, device: torch.device) -> None:
        self.inner, self.device, self.seconds, self.calls = inner, device, 0.0, 0

    def predict_eps(self, x_t, t, schedule):
        sync(self.device)
        start = time.perf_counter()
        eps = self.inner.predict_eps(x_t, t, schedule)
        sync(self.device)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return eps


def build_provider(name: str, device: torch.device) -> EpsilonProvider:
    empty = np.zeros((2, 28, 28), np.uint8)
    cls, _ = get_registry().provider(name)
    dataset = ImageDataset("bench", empty, np.zeros(2), empty, np.zeros(2))
    return cls.from_context(ProviderContext(dataset=dataset, device=device))


def steps_for(cls: type[Sampler], schedule, nfe: int) -> int:
    """The largest step count whose NFE does not exceed ``nfe``."""
    return max(s for s in range(1, nfe + 1) if cls(schedule, s).nfe <= nfe)


def time_sampler(provider: EpsilonProvider, sampler: Sampler, batch: int, repeats: int,
                 device: torch.device) -> tuple[float, float]:
    """(chain seconds, network seconds) of the fastest of ``repeats`` chains of one batch."""
    best = (float("inf"), 0.0)
    with torch.inference_mode():
        for _ in range(repeats):
            timed = TimedProvider(provider, device)
            noise = SampleNoise(0, range(batch), SHAPE, device)
            sync(device)
            start = time.perf_counter()
            sample_batch(timed, sampler, noise)
            sync(device)
            total = time.perf_counter() - start
            if total < best[0]:
                best = (total, timed.seconds)
    return best


def speed_table(provider: EpsilonProvider, nfe: int, batch: int, repeats: int, device: torch.device) -> None:
    schedule = make_schedule("linear", 1000)
    with torch.inference_mode():  # warm-up: allocator, weights in cache, kernels chosen
        warm = get_registry().sampler("ddim")[0](schedule, 2)
        sample_batch(provider, warm, SampleNoise(0, range(batch), SHAPE, device))
    print(f"{'sampler':<14}{'steps':>6}{'NFE':>5}{'ms/image':>10}{'ms/img/NFE':>12}{'network ms/img':>16}"
          f"{'overhead ms/img':>17}{'overhead':>10}")
    for name, (cls, _) in sorted(get_registry().samplers.items()):
        sampler = cls(schedule, steps_for(cls, schedule, nfe))
        total, network = time_sampler(provider, sampler, batch, repeats, device)
        per = 1000 / batch
        print(f"{name:<14}{sampler.steps:>6}{sampler.nfe:>5}{total * per:>10.2f}{total * per / sampler.nfe:>12.3f}"
              f"{network * per:>16.2f}{(total - network) * per:>17.3f}{100 * (total - network) / total:>9.2f}%")


def final_images(provider: EpsilonProvider, sampler: Sampler, count: int, device: torch.device) -> torch.Tensor:
    with torch.inference_mode():
        return sample_batch(provider, sampler, SampleNoise(1, range(count), SHAPE, device))


def accuracy_table(provider: EpsilonProvider, device: torch.device, count: int = 32) -> None:
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # full float32
    schedule = make_schedule("linear", 1000)
    registry = get_registry()
    reference = final_images(provider, registry.sampler("heun")[0](schedule, 1000), count, device)
    names = [n for n in ("ddim", "euler", "heun", "dpmpp-2m", "unipc") if n in registry.samplers]
    print(f"\nRMS distance to the 1,999-NFE Heun solution of the same ODE ({count} images, [-1, 1] units)")
    print(f"{'sampler':<12}{'NFE':>5}" + "".join(f"{s:>11}" for s in SPACINGS))
    for name in names:
        cls = registry.sampler(name)[0]
        for nfe in (10, 20):
            steps = steps_for(cls, schedule, nfe)
            errors = []
            for spacing in SPACINGS:
                out = final_images(provider, cls(schedule, steps, {"spacing": spacing}), count, device)
                errors.append(((out - reference) ** 2).mean().sqrt().item())
            default = cls.default_spacing
            cells = "".join(f"{e:>10.4f}{'*' if s == default else ' '}" for e, s in zip(errors, SPACINGS))
            print(f"{name:<12}{cls(schedule, steps).nfe:>5}{cells}")
    print("* the sampler's default spacing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--provider", default="unet")
    parser.add_argument("--nfe", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--accuracy", action="store_true", help="also the ODE integration error per spacing")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    provider = build_provider(args.provider, device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {args.threads} threads"
    print(f"{args.provider}, batch {args.batch_size}, {where}, torch {torch.__version__}, best of {args.repeats}\n")
    speed_table(provider, args.nfe, args.batch_size, args.repeats, device)
    if args.accuracy:
        accuracy_table(provider, device)


if __name__ == "__main__":
    main()
