"""benchmarks/size_sweep.sh and its table: shell syntax and the Wilson interval (the sweep itself runs
on a GPU; ``bash benchmarks/size_sweep.sh --device cpu --quick`` checks it end to end in ~3 minutes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_sweep_script_parses() -> None:
    subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "size_sweep.sh")], check=True)


def test_wilson_interval_closed_forms() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from size_sweep_table import wilson
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    z2 = 1.96 ** 2
    lo, hi = wilson(0.0, 8)
    assert lo == pytest.approx(0, abs=1e-12) and hi == pytest.approx(z2 / (8 + z2))
    lo, hi = wilson(0.5, 100)
    assert lo + hi == pytest.approx(1.0) and 0.40 < lo < 0.41
