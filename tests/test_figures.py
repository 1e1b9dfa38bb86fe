"""Figures: nearest training digits per run, and the forward-noising figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from denoisebench.datasets.base import ImageDataset
from denoisebench.errors import DenoisebenchError
from denoisebench.report.figures import forward_figure, save_run_figures


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_figures_show_nearest_training_digits(tiny_dataset: ImageDataset, tmp_path: Path) -> None:
    images = np.concatenate([tiny_dataset.train_images[:5], tiny_dataset.heldout_images[:5]])
    paths = save_run_figures(tmp_path, images, tiny_dataset)
    assert [p.name for p in paths] == ["nearest.png"] and _is_png(paths[0])
    assert not list(tmp_path.glob(".*"))  # written atomically, no temp files left


def test_forward_figure(tiny_dataset: ImageDataset, tmp_path: Path) -> None:
    out = forward_figure(tmp_path / "f.png", tiny_dataset, count=3, timesteps=(0, 10, 1000))
    assert _is_png(out)
    with pytest.raises(DenoisebenchError, match="outside"):
        forward_figure(tmp_path / "g.png", tiny_dataset, timesteps=(0, 1001))


def test_figure_forward_command(tmp_path: Path) -> None:
    from denoisebench.cli import cli  # noqa: F401

    out = tmp_path / "forward.png"
    res = CliRunner().invoke(cli, ["figure", "forward", "--count", "2", "--timesteps", "0,500,1000",
                                   "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert _is_png(out)
    bad = CliRunner().invoke(cli, ["figure", "forward", "--timesteps", "a,b", "--output", str(out)])
    assert bad.exit_code == 2 and "comma-separated" in bad.stderr
