"""Ship a trained checkpoint: copy the EMA weights and write a manifest beside them.

    python -m denoisebench.training.export SRC.safetensors DST.safetensors --command "..." [--wall-s S]

The manifest (``DST`` with suffix ``.json``) holds the file's sha256 and size, the provider, the
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
from .checkpoint import read_metadata


def export(src: Path, dst: Path, commands: list[str], wall_s: float | None) -> dict[str, Any]:
    """Copy ``src`` to ``dst`` and write ``dst.with_suffix('.json')``; returns the manifest."""
    meta = read_metadata(src)
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
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
    }
    write_text_atomic(dst.with_suffix(".json"), json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description="Ship a trained checkpoint with its manifest.")
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--command", action="append", default=[], help="training command (repeatable)")
    ap.add_argument("--wall-s", type=float, default=None, help="measured wall time of the training")
    args = ap.parse_args()
    print(json.dumps(export(args.src, args.dst, args.command, args.wall_s), indent=2))


if __name__ == "__main__":
    main()
