"""Every file in denoisebench/weights/ matches the sha256 of its JSON manifest and stays small."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

WEIGHTS = Path(__file__).resolve().parents[1] / "denoisebench" / "weights"
MANIFESTS = sorted(WEIGHTS.glob("*.json"))


def test_every_shipped_weight_file_has_a_manifest() -> None:
    files = {p.name for p in WEIGHTS.glob("*.safetensors")}
    described = {json.loads(m.read_text())["file"] for m in MANIFESTS}
    assert files == described


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.stem)
def test_shipped_weights_match_their_manifest(manifest: Path) -> None:
    meta = json.loads(manifest.read_text())
    path = WEIGHTS / meta["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]
    assert path.stat().st_size < 8_000_000
    if "provider" in meta:  # trained by `denoisebench train`: the file's own metadata agrees
        from denoisebench.training.checkpoint import read_metadata

        stored = read_metadata(path)
        assert stored["provider"] == meta["provider"]
        assert stored["dataset"] == meta["dataset"]["id"] and stored["dataset_hash"] == meta["dataset"]["hash"]
        assert json.loads(stored["model_config"]) == meta["model_config"]
