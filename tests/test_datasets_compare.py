"""An image folder of non-square PNGs, resized by ``-D size``, through run and compare: compare
reloads the dataset from the runs' recorded ``--data-dir`` and options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from denoisebench.cli import cli


def write_folder(root: Path) -> None:
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("heldout", 12)):
        for i in range(n):
            path = root / split / f"c{i % 2}" / f"{i:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            img = np.zeros((30, 44), np.uint8)  # non-square grey
            img[4:26, 4 + i % 24:14 + i % 24] = 180 + int(rng.integers(0, 60))
            Image.fromarray(img).save(path)


@pytest.mark.slow  # about 12 s: two runs with metrics, then compare
def test_imagefolder_runs_and_compares_with_recorded_options(tmp_path: Path) -> None:
    write_folder(tmp_path / "pngs")
    runner = CliRunner()
    for provider in ("empirical", "wiener"):
        result = runner.invoke(cli, ["run", "-p", provider, "--dataset", "imagefolder", "--data-dir",
                                     str(tmp_path / "pngs"), "-D", "size=28", "-n", "6", "--steps", "2",
                                     "--sampler", "ddim", "--results-dir", str(tmp_path / "r")])
        assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["compare", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "ignoring" not in result.output and "| empirical | wiener |" in result.output


def test_corrupt_png_through_run_is_one_line_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    write_folder(tmp_path / "pngs")
    bad = tmp_path / "pngs" / "train" / "c0" / "000.png"
    bad.write_bytes(bad.read_bytes()[:40])
    result = CliRunner().invoke(cli, ["run", "-p", "empirical", "--dataset", "imagefolder", "--data-dir",
                                      str(tmp_path / "pngs"), "-D", "size=28", "-n", "2", "--results-dir",
                                      str(tmp_path / "r")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "000.png" in result.output
    assert not (tmp_path / "r").exists()
