"""Quality against network evaluations: run a grid of (provider, sampler, spacing, NFE, seed) cells.

Each cell is one ordinary ``denoisebench run`` (through :mod:`denoisebench.runs.runner`), so its
record lands in ``--results-dir`` like any other run and ``denoisebench report`` / ``compare``
read it. Cells run in parallel worker processes (``--workers``, each with ``--threads``); on a
GPU they share the device. The number of steps of a cell is the largest whose NFE does not
exceed the target (Heun: NFE = 2 S - 1).

    python benchmarks/nfe_sweep.py --providers unet --samplers ddim,heun,dpmpp-2m --nfe 10,20 \\
        --spacings linspace,karras --seeds 0 -n 1000 --results-dir results/nfe
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path


def steps_for(sampler: str, nfe: int, T: int = 1000) -> int:  # noqa: N803
    """The largest step count whose NFE does not exceed ``nfe``."""
    from denoisebench.diffusion.schedule import make_schedule
    from denoisebench.plugins import get_registry

    cls, _ = get_registry().sampler(sampler)
    schedule = make_schedule("linear", T)
    best = 1
    for steps in range(1, nfe + 1):
        if cls(schedule, steps).nfe <= nfe:
            best = steps
    return best


def run_cell(cell: dict, args: dict) -> tuple[dict, str, float]:
    """One run in a worker process; returns the cell, its run dir (or error) and seconds."""
    import torch

    torch.set_num_threads(args["threads"])
    from denoisebench.errors import DenoisebenchError
    from denoisebench.runs.runner import RunConfig, execute

    options = {"spacing": cell["spacing"]} if cell["spacing"] != "default" else {}
    options.update(cell.get("sampler_options", {}))
    config = RunConfig(provider=cell["provider"], sampler=cell["sampler"], steps=cell["steps"],
                       num_samples=args["num_samples"], batch_size=args["batch_size"], seed=cell["seed"],
                       device=args["device"], results_dir=Path(args["results_dir"]),
                       options=dict(cell.get("options", {})), sampler_options=options)
    start = time.perf_counter()
    try:
        run_dir = str(execute(config))
    except (DenoisebenchError, RuntimeError) as exc:
        run_dir = f"ERROR {type(exc).__name__}: {exc}"
    return cell, run_dir, time.perf_counter() - start


def parse_provider(text: str) -> tuple[str, dict[str, str]]:
    """'kbnet:mode=tweedie' -> ('kbnet', {'mode': 'tweedie'})."""
    name, _, opts = text.partition(":")
    return name, dict(o.split("=", 1) for o in opts.split(";") if o)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--providers", default="unet")
    ap.add_argument("--samplers", default="ddim")
    ap.add_argument("--spacings", default="default")
    ap.add_argument("--nfe", default="10,20")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--sampler-option", action="append", default=[], help="SAMPLER:KEY=VALUE")
    ap.add_argument("-n", "--num-samples", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--results-dir", default="results/nfe-sweep")
    args = ap.parse_args()
    extra: dict[str, dict[str, str]] = {}
    for item in args.sampler_option:
        name, _, kv = item.partition(":")
        key, _, value = kv.partition("=")
        extra.setdefault(name, {})[key] = value
    cells = []
    for prov, sampler, spacing, nfe, seed in itertools.product(
            args.providers.split(","), args.samplers.split(","), args.spacings.split(","),
            [int(v) for v in args.nfe.split(",")], [int(v) for v in args.seeds.split(",")]):
        name, options = parse_provider(prov)
        steps = nfe if sampler == "ddpm" else steps_for(sampler, nfe)
        cells.append({"provider": name, "options": options, "sampler": sampler, "spacing": spacing,
                      "steps": steps, "nfe": nfe, "seed": seed, "sampler_options": extra.get(sampler, {})})
    shared = {"num_samples": args.num_samples, "batch_size": args.batch_size, "device": args.device,
              "threads": args.threads, "results_dir": args.results_dir}
    print(f"{len(cells)} cells, {args.workers} workers x {args.threads} threads on {args.device}", flush=True)
    start = time.perf_counter()
    ctx = None
    if args.workers > 1:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=ctx) as pool:
        futures = [pool.submit(run_cell, cell, shared) for cell in cells]
        for k, fut in enumerate(as_completed(futures), 1):
            cell, run_dir, secs = fut.result()
            print(f"[{k}/{len(cells)} {time.perf_counter() - start:.0f}s] {cell['provider']} {cell['options']} "
                  f"{cell['sampler']} {cell['spacing']} nfe={cell['nfe']} steps={cell['steps']} seed={cell['seed']}: "
                  f"{secs:.0f}s {run_dir}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
