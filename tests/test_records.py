"""Run records: deterministic npz, atomic JSON, staged directories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from denoisebench.runs import records


def test_npz_is_byte_identical_and_loads_with_numpy(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    records.save_npz_deterministic(a, images=images)
    records.save_npz_deterministic(b, images=images)
    assert a.read_bytes() == b.read_bytes()
    with np.load(a, allow_pickle=False) as data:
        assert np.array_equal(data["images"], images)


def test_json_write_is_atomic_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.json"
    records.write_json_atomic(path, {"a": 1})

    def crash(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(records.os, "fsync", crash)
    with pytest.raises(OSError):
        records.write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_staged_dir_appears_complete_with_unique_name(tmp_path: Path) -> None:
    finals = []
    for _ in range(2):
        with records.staged_run_dir(tmp_path, "run") as (staging, final):
            (staging / "x").write_text("1")
        finals.append(final[0])
    assert [p.name for p in finals] == ["run", "run-2"]
    with pytest.raises(RuntimeError):
        with records.staged_run_dir(tmp_path, "run") as (staging, _):
            raise RuntimeError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run-2"]
