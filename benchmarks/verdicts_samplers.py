"""Issue 25, analysis (a): the sampler decision (unet, DDIM 100 vs DPM-Solver++(2M) 20 vs
DPM-Solver++(2M) SDE 20, same x_T per sample index, seeds 0-2) re-scored on several encoders and
three reference sets, with the verdict across encoders (robust / split / level), and what the
classifier's features are sensitive to (ink statistics; FD of perturbed real digits per encoder).

    python benchmarks/verdicts_samplers.py results/reference/encoders/key --out verdicts-samplers.md \
        [--t10k ../shared/data/mnist-t10k] [--bootstrap 300]

Encoders: mnist-classifier (the FID-proxy's), pixels, ``pca-32`` (the top 32 principal components
of the train split's pixels: a linear feature space, defined here), ``randconv`` (a fixed random
two-layer conv net with ReLU and 4x4 pooling, seed 0: an untrained feature space, defined here)
and the shipped ``ae-mnist-5k`` autoencoder (its code and texture statistics). References: the 1,000-image held-out
split (resampled in the bootstrap, as ``compare`` does), the 4,000-image train split and the real
MNIST test set (10,000; held fixed: a statement conditional on the set; FD only).
Nothing is written next to the runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from denoisebench.compare import SampleSet, bootstrap_entries, runs_in
from denoisebench.compare.across import across_encoders
from denoisebench.compare.collect import Setting
from denoisebench.compare.paired import compare_pairs
from denoisebench.runs.records import load_samples

ORDER = ["ddim 100", "dpmpp-2m 20", "dpmpp-2m-sde 20"]


def read_idx_images(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n, h, w = (int.from_bytes(raw[4 * i:4 * i + 4], "big") for i in (1, 2, 3))
    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, h, w).copy()


class PCA:
    def __init__(self, train: np.ndarray, k: int = 32) -> None:
        x = train.reshape(len(train), -1) / 255.0
        self.mean = x.mean(0)
        _u, _s, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        self.basis = vt[:k].T

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return (images.reshape(len(images), -1) / 255.0 - self.mean) @ self.basis


class RandConv:
    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.c1 = torch.randn(32, 1, 5, 5, generator=g) / 5.0
        self.c2 = torch.randn(32, 32, 3, 3, generator=g) / (3.0 * 32 ** 0.5)

    @torch.inference_mode()
    def __call__(self, images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)[:, None]
        x = torch.relu(torch.nn.functional.conv2d(x, self.c1, padding=2))
        x = torch.nn.functional.avg_pool2d(x, 2)
        x = torch.relu(torch.nn.functional.conv2d(x, self.c2, padding=1))
        x = torch.nn.functional.avg_pool2d(x, 7)  # 14 -> 2 x 2
        return x.flatten(1).double().numpy()  # 128-d


def ae_features(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """``ae-mnist-5k`` features of each array (None: its weights are absent)."""
    from denoisebench.encoders.autoencoder import AEMnist5k
    from denoisebench.errors import DenoisebenchError

    try:
        encoder = AEMnist5k()
        return {k: encoder.encode(v) for k, v in arrays.items()}
    except DenoisebenchError as exc:
        print("ae-mnist-5k unavailable:", exc, file=sys.stderr)
        return None


def ink(images: np.ndarray) -> dict[str, float]:
    x = images.astype(np.float64) / 255.0
    return {"mean intensity": float(x.mean()), "ink share (>0.5)": float((x > 0.5).mean()),
            "grey share (0.1-0.9)": float(((x > 0.1) & (x < 0.9)).mean()),
            "ink per digit (sum x)": float(x.sum(axis=(1, 2)).mean())}


def thicken(images: np.ndarray) -> np.ndarray:
    """A max filter over each pixel's 4-neighbourhood (strokes about one pixel thicker)."""
    x = images.copy()
    x[:, 1:] = np.maximum(x[:, 1:], images[:, :-1])
    x[:, :-1] = np.maximum(x[:, :-1], images[:, 1:])
    x[:, :, 1:] = np.maximum(x[:, :, 1:], images[:, :, :-1])
    x[:, :, :-1] = np.maximum(x[:, :, :-1], images[:, :, 1:])
    return x


def soften(images: np.ndarray) -> np.ndarray:
    """Half the image plus half its 3 x 3 box blur: softer edges (more mid-grey pixels), same ink."""
    x = images.astype(np.float64)
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge")
    box = sum(p[:, i:i + 28, j:j + 28] for i in range(3) for j in range(3)) / 9.0
    return np.clip(0.5 * x + 0.5 * box, 0, 255).round().astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("key", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--t10k", type=Path, default=Path("../shared/data/mnist-t10k"),
                    help="folder of the MNIST test set (IDX), for the analysis only; skipped when absent")
    ap.add_argument("--bootstrap", type=int, default=300)
    args = ap.parse_args()
    t0 = time.time()

    from denoisebench.datasets.base import DatasetOptions
    from denoisebench.encoders import get_encoder
    from denoisebench.plugins import get_registry

    data = get_registry().dataset("mnist-5k").open(DatasetOptions())
    refs = runs_in(args.key, lambda m: print("warning:", m, file=sys.stderr))
    samples: dict[tuple[str, int], np.ndarray] = {}
    for r in refs:
        samples[(f"{r.setting.sampler} {r.setting.steps}", r.seed)] = load_samples(r.run_dir)
    order = [e for e in ORDER if any(k[0] == e for k in samples)] + sorted({k[0] for k in samples} - set(ORDER))
    n = len(next(iter(samples.values())))
    references = {"held-out (1,000)": data.heldout_images, "train split (4,000)": data.train_images}
    t10k = args.t10k / "t10k-images-idx3-ubyte.gz"
    if t10k.is_file():
        references["MNIST test set (10,000)"] = read_idx_images(t10k)

    classifier = get_encoder("mnist-classifier")
    encoders = {"mnist-classifier": classifier.encode, "pixels": lambda im: im.reshape(len(im), -1) / 255.0,
                "pca-32": PCA(data.train_images), "randconv": RandConv()}
    perturbed = {"thicker strokes": thicken(data.heldout_images),
                 "contrast x0.8": (data.heldout_images * 0.8).round().astype(np.uint8),
                 "softer edges": soften(data.heldout_images)}
    arrays = {f"s_{e.replace(' ', '_')}_{s}": im for (e, s), im in samples.items()}
    arrays.update({f"r{i}": im for i, im in enumerate(references.values())})
    arrays.update({f"p{i}": im for i, im in enumerate(perturbed.values())})
    ae = ae_features(arrays)
    feats: dict[str, dict[str, np.ndarray]] = {}
    for name, fn in encoders.items():
        feats[name] = {k: np.asarray(fn(v), np.float64) for k, v in arrays.items()}
    if ae is not None:
        feats["ae-mnist-5k"] = ae
    names = list(feats)

    lines = ["# The sampler decision across encoders (issue 25, analysis a)", "",
             f"Runs: {args.key} — unet on mnist-5k, {', '.join(order)}; N = {n} per seed, seeds "
             f"{sorted({s for _e, s in samples})}, sample i of every sampler from the same x_T. Paired bootstrap "
             f"({args.bootstrap} replicates; sample indices resampled within each seed, the same indices for every "
             "encoder), seeds averaged, 95% percentile intervals. Encoders: " + ", ".join(names) + ". "
             "pca-32 and randconv are defined in this script (a linear and an untrained feature space); "
             "ae-mnist-5k is the autoencoder code from the encoders2 branch" + ("" if ae is not None else
                                                                                 " (absent here)") + ".",
             "", "Command: `python benchmarks/verdicts_samplers.py " + " ".join(sys.argv[1:]) + "`", ""]
    setting = Setting("mnist-5k", data.content_hash, "linear", "samplers", 0, n)
    for ri, (rname, _rimages) in enumerate(references.items()):
        resampled = ri == 0
        pairs = []
        per_seed_rows = []
        for enc in names:
            # FD on 784-d pixels costs a 784 x 784 covariance and eigh per replicate (~0.5 s on this
            # loaded CPU): pixels are scored with KD only; pca-32 carries the linear pixel-space FD
            metrics = [m for m in (["fid", "kid"] if resampled else ["fid"]) if not (enc == "pixels" and m == "fid")]
            if not metrics:
                continue
            print(f"{rname}: {enc} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
            f = feats[enc]
            sets = {(e, s): SampleSet(f[f"s_{e.replace(' ', '_')}_{s}"], None, None, n) for (e, s) in samples}
            boot = bootstrap_entries(sets, f[f"r{ri}"], metrics, args.bootstrap, 0, resample_reference=resampled)
            for metric in metrics:
                per = {e: {s: boot[(e, s, metric)] for (e2, s) in samples if e2 == e} for e in order}
                pairs += compare_pairs(setting, metric, per, order, reference_resampled=resampled, encoder=enc)
                if metric == "fid":
                    for e in order[1:]:
                        diffs = [per[e][s].value - per[order[0]][s].value for s in sorted(per[e])]
                        per_seed_rows.append((enc, e, diffs))
        across = across_encoders(pairs)
        lines += [f"## Reference: {rname}" + ("" if resampled else " (held fixed; FD only)")
                  + " — pixels: KD only (FD in 784-d is too slow here)", "",
                  "| metric | a | b | encoder | a − b | 95% interval | verdict |", "|---|---|---|---|---|---|---|"]
        for p in sorted(pairs, key=lambda p: (p.metric, order.index(p.a), order.index(p.b), names.index(p.encoder))):
            lines.append(f"| {p.metric} | {p.a} | {p.b} | {p.encoder} | {p.diff:.4g} | [{p.ci_low:.4g}, "
                         f"{p.ci_high:.4g}] | {p.verdict} |")
        lines += ["", "Across encoders:", "", "| metric | a | b | across encoders |", "|---|---|---|---|"]
        for (_s, metric, a, b), summary in across.items():
            lines.append(f"| {metric} | {a} | {b} | {summary.text()} |")
        lines += ["", f"FD per seed, sampler − {order[0]} (seeds {sorted({s for _e, s in samples})}):", "",
                  "| encoder | sampler | per-seed FD difference |", "|---|---|---|"]
        for enc, e, diffs in per_seed_rows:
            lines.append(f"| {enc} | {e} | {', '.join(f'{d:+.3g}' for d in diffs)} |")
        lines.append("")

    lines += ["## Ink statistics (mean over seeds; references; the perturbed held-out digits below)", "",
              "| set | " + " | ".join(ink(data.heldout_images)) + " |", "|---" * 5 + "|"]
    for e in order:
        stats = [ink(samples[(e, s)]) for (e2, s) in samples if e2 == e]
        lines.append(f"| {e} | " + " | ".join(f"{np.mean([x[k] for x in stats]):.4f}" for k in stats[0]) + " |")
    for rname, rimages in {**references, **{f"held-out, {k}": v for k, v in perturbed.items()}}.items():
        lines.append(f"| {rname} | " + " | ".join(f"{v:.4f}" for v in ink(rimages).values()) + " |")

    from denoisebench.metrics.frechet import fid
    lines += ["", "## What each encoder's FD sees: real held-out digits perturbed, against the train split", "",
              "FD(perturbed held-out, train) / FD(held-out, train): how many times the real-vs-real distance a "
              "perturbation of stroke thickness or contrast costs on each encoder (1 = blind to it).", "",
              "| encoder | FD(held-out, train) | " + " | ".join(perturbed) + " |", "|---" * (2 + len(perturbed)) + "|"]
    for enc in names:
        if enc == "pixels":
            continue
        f = feats[enc]
        base = fid(f["r0"], f["r1"])
        ratios = [fid(f[f"p{i}"], f["r1"]) / base for i in range(len(perturbed))]
        lines.append(f"| {enc} | {base:.4g} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |")
    lines += ["", f"Wall time: {time.time() - t0:.0f} s.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(args.out)
    json.dumps({})


if __name__ == "__main__":
    main()
