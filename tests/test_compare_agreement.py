"""Sample agreement of two entries run from the same noise: closed forms and the compare CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from denoisebench.cli import cli
from denoisebench.compare.agreement import centred_cosine, sample_agreement
from shared_kit import blob_images


def test_centred_cosine_closed_forms() -> None:
    a = blob_images(6, 0).astype(np.float64)
    assert np.allclose(centred_cosine(a, a), 1)
    assert np.allclose(centred_cosine(a, 255 - a), -1)  # the negative, up to the offset
    assert np.allclose(centred_cosine(a, 0.5 * a + 20), 1)  # offset and scale do not count
    x, y = a[0].ravel() - a[0].mean(), a[1].ravel() - a[1].mean()
    assert centred_cosine(a[:1], a[1:2])[0] == pytest.approx(x @ y / np.linalg.norm(x) / np.linalg.norm(y))
    flat = np.zeros((1, 8, 8))
    assert centred_cosine(flat, flat)[0] == 1 and centred_cosine(flat, a[:1, :8, :8])[0] == 0


def test_agreement_of_identical_and_unrelated_sets() -> None:
    a, b = blob_images(64, 0), blob_images(64, 1)
    same = sample_agreement(a, a.copy(), threshold=0.9)
    assert same.mean_cosine == pytest.approx(1) and same.share_above == 1 and same.ci_low == pytest.approx(1)
    assert same.random_mean_cosine < 0.9  # the random re-pairing never pairs a sample with itself
    other = sample_agreement(a, b, threshold=0.9)
    assert other.ci_low <= other.mean_cosine <= other.ci_high and other.mean_cosine < 0.5
    with pytest.raises(ValueError):
        sample_agreement(a, b[:10])


def test_compare_agreement_on_two_entries_from_the_same_noise(tiny_registered, tmp_path: Path) -> None:
    runner = CliRunner()
    for provider in ("wiener", "empirical"):
        result = runner.invoke(cli, ["run", "-p", provider, "--dataset", "tiny-blobs", "-n", "6", "--steps", "3",
                                     "--no-metrics", "--results-dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["compare", str(tmp_path), "--agreement", "--bootstrap", "100", "-m", "memorised"])
    assert result.exit_code == 0, result.output
    assert "Sample agreement" in result.stdout
    row = [line for line in result.stdout.splitlines() if line.startswith("| tiny-blobs")][-1]
    assert "empirical" in row and "wiener" in row and "| 6 |" in row
    bad = runner.invoke(cli, ["compare", str(tmp_path), "--agreement", "--format", "csv"])
    assert bad.exit_code == 2 and "markdown format only" in bad.stderr
