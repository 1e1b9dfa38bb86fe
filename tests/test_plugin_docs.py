"""Every complete example of docs/plugins.md runs: the sampler, the metric and the dataset plugins.

(The provider example is run through the contract kit in tests/test_plugins.py.)
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import denoisebench
from denoisebench.cli import cli, main  # noqa: F401  (main registers the verbs)
from denoisebench.datasets.base import ImageDataset
from denoisebench.diffusion.loop import sample_batch
from denoisebench.diffusion.noise import SampleNoise
from denoisebench.diffusion.samplers import DDPMSampler
from denoisebench.diffusion.schedule import linear_schedule
from denoisebench.plugins import register_plugin, unregister_plugin

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def example(section: str, name: str) -> types.ModuleType:
    """The first python block under ``## section`` of the guide, executed as a module."""
    text = GUIDE.read_text().split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    module = types.ModuleType(name)
    exec(compile(code, f"docs/plugins.md ({section})", "exec"), module.__dict__)  # noqa: S102
    return module


@pytest.fixture
def registered():
    names: list[str] = []

    def add(module: types.ModuleType, name: str) -> None:
        register_plugin(module, name)
        names.append(name)

    yield add
    for name in names:
        unregister_plugin(name)


def run(*args: str) -> Path:
    res = CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return Path(res.stdout.strip().splitlines()[-1])


class GaussianData(denoisebench.EpsilonProvider):
    """The exact eps of data N(0, 0.25 I)."""

    name, description = "gauss-exact", "test"

    def __init__(self) -> None:
        pass

    def predict_eps(self, x_t: torch.Tensor, t: torch.Tensor, schedule: denoisebench.NoiseSchedule) -> torch.Tensor:
        ab = schedule.alpha_bars[t].to(x_t.dtype).view(-1, 1, 1, 1)
        return (1 - ab).sqrt() * x_t / (0.25 * ab + 1 - ab)


def test_sampler_example(registered, tmp_path: Path) -> None:
    module = example("Samplers", "denoisebench_eulera")
    registered(module, "eulera")
    record = json.loads((run("--provider", "empirical", "--sampler", "euler-a", "-s", "eta=0.3", "-n", "3",
                             "--steps", "4", "--no-metrics", "--results-dir", str(tmp_path)) / "run.json").read_text())
    assert record["sampler"]["label"] == "euler-a eta=0.3" and record["sampler"]["plugin"] == "eulera"
    schedule = linear_schedule(1000)
    outs = [sample_batch(GaussianData(), sampler, SampleNoise(4, range(3), (1, 5, 5), dtype=torch.float64))
            for sampler in (module.EulerAncestral(schedule, 30), DDPMSampler(schedule, 30, variance="small"))]
    assert torch.allclose(outs[0], outs[1], atol=1e-10)  # eta = 1 is ancestral sampling with beta~
    with pytest.raises(denoisebench.DenoisebenchError, match="option eta of sampler 'euler-a' must lie in"):
        module.EulerAncestral(schedule, 10, eta=2)


def test_metric_example(registered, tmp_path: Path, mnist5k: ImageDataset) -> None:
    module = example("Metrics", "denoisebench_ink")
    registered(module, "ink")
    images = mnist5k.heldout_images[:8]
    evaluation = denoisebench.Evaluation(images, mnist5k)
    gap = module.InkGap().compute(evaluation)
    assert gap["value"] == pytest.approx(abs(module.ink(images).mean() - module.ink(mnist5k.heldout_images).mean()))
    rows = json.loads(CliRunner().invoke(cli, ["metrics", "--json"]).stdout)["metrics"]
    assert {r["name"]: r["plugin"] for r in rows}["ink_gap"] == "ink"


def test_dataset_example(registered, tmp_path: Path) -> None:
    module = example("Datasets", "denoisebench_stripes")
    registered(module, "stripes")
    run_dir = run("--dataset", "stripes", "--provider", "empirical", "-n", "2", "--steps", "3", "--no-metrics",
                  "--results-dir", str(tmp_path))
    record = json.loads((run_dir / "run.json").read_text())
    assert record["dataset"]["id"] == "stripes" and record["dataset"]["train"] == 512
    images = np.load(run_dir / "samples.npz")["images"]
    assert images.shape == (2, 28, 28)
