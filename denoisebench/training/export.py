"""Ship a trained checkpoint: copy the EMA weights and write a manifest beside them.

    python -m denoisebench.training.export SRC.safetensors DST.safetensors --command "..." [--wall-s S]
        [--dtype float16]

``--dtype float16`` stores the floating-point tensors at half precision (half the bytes; loading casts
them back to the network's float32, see ``checkpoint.files``); the manifest and the file's metadata
record it. The manifest (``DST`` with suffix ``.json``) holds the file's sha256 and size, the provider, the
model and training configs, the dataset id and hash, the step, the git commit and code version
from the checkpoint's metadata, the exact training command(s) and the measured wall time.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from ..fileio import atomic_path, sha256_file, write_text_atomic
import torch

from .checkpoint import read_metadata
from .checkpoint.files import read_tensors, write_tensors


def export(src: Path, dst: Path, commands: list[str], wall_s: float | None,
           dtype: str | None = None) -> dict[str, Any]:
    """Copy ``src`` to ``dst`` (its float tensors cast to ``dtype`` when given) and write
    ``dst.with_suffix('.json')``; returns the manifest."""
    meta = read_metadata(src)
    if dtype is None:
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    else:
        tensors, _meta, _container = read_tensors(src)
        cast = getattr(torch, dtype)
        meta = {**meta, "stored_dtype": dtype}
        write_tensors(dst, {k: v.to(cast) if v.is_floating_point() else v for k, v in tensors.items()}, meta)
    manifest = {
        "file": dst.name,
        "sha256": sha256_file(dst),
        "bytes": dst.stat().st_size,
        "provider": meta.get("provider"),
        "weights": meta.get("weights"),
        "step": int(meta.get("step", 0)),
        "model_config": json.loads(meta.get("model_config", "{}")),
        "train_config": json.loads(meta.get("train_config", "{}")),
        "schedule": json.loads(meta.get("schedule", "{}")),
        "dataset": {"id": meta.get("dataset"), "hash": meta.get("dataset_hash"),
                    **({"image_shape": json.loads(meta["image_shape"])} if "image_shape" in meta else {})},
        "run_id": meta.get("run_id"),
        "git_commit": meta.get("git_commit"),
        "code_version": meta.get("code_version"),
        "created": meta.get("created"),
        "training_commands": commands,
        "training_elapsed_s_recorded": float(meta.get("elapsed_s", "nan")),
        "wall_s": wall_s,
        **({"stored_dtype": dtype} if dtype else {}),
    }
    write_text_atomic(dst.with_suffix(".json"), json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description="Ship a trained checkpoint with its manifest.")
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--command", action="append", default=[], help="training command (repeatable)")
    ap.add_argument("--wall-s", type=float, default=None, help="measured wall time of the training")
    ap.add_argument("--dtype", choices=["float16", "bfloat16"], default=None,
                    help="store the float tensors at this precision (default: as trained)")
    args = ap.parse_args()
    print(json.dumps(export(args.src, args.dst, args.command, args.wall_s, args.dtype), indent=2))


if __name__ == "__main__":
    main()
