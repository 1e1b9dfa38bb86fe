"""Restoration training of kbnet through the generic trainer's provider contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from denoisebench.errors import DenoisebenchError
from denoisebench.providers.kbnet.arch import KBNetConfig, KBNetS
from denoisebench.providers.kbnet.provider import KBNetProvider
from denoisebench.providers.kbnet.training import SIGMA_DATA, KBNetRecipe, sigma_from_unit
from denoisebench.diffusion.schedule import linear_schedule
from denoisebench.training.recipe import is_trainable

TINY = {"width": 4, "middle_blk_num": 1, "enc_blk_nums": (1,), "dec_blk_nums": (1,), "nset": 2}


def test_kbnet_is_trainable_through_its_recipe() -> None:
    assert is_trainable(KBNetProvider) and KBNetProvider.training is KBNetRecipe
    assert not any(hasattr(KBNetProvider, name) for name in ("draw", "training_loss", "build_model"))


def test_the_recipe_calls_the_network_without_inspecting_it() -> None:
    """The trainer may pass a DDP wrapper: the recipe reads the architecture off its own config."""
    torch.manual_seed(0)
    net = KBNetS(KBNetConfig(**TINY))
    batch = _draw(torch.rand(3, 1, 8, 8) * 2 - 1, torch.Generator().manual_seed(0))
    assert torch.equal(_loss(net, batch), KBNetRecipe(net.config).training_loss(lambda y: net(y), batch,
                                                                                 linear_schedule()))


def _loss(model: torch.nn.Module, batch: dict, schedule=None) -> torch.Tensor:
    """The recipe's loss for the model's own config."""
    return KBNetRecipe(model.config).training_loss(model, batch, schedule or linear_schedule())


def _draw(x0: torch.Tensor, gen: torch.Generator, schedule=None) -> dict:
    return KBNetRecipe(KBNetConfig()).draw(x0, gen, schedule or linear_schedule())


def test_noise_levels_follow_the_configured_distribution() -> None:
    u = torch.linspace(0, 1, 101)
    log_cfg = KBNetConfig(sigma_min=0.002, sigma_max=80.0, sigma_dist="loguniform")
    s = sigma_from_unit(u, log_cfg)
    assert math.isclose(s[0].item(), 0.002, rel_tol=1e-5) and math.isclose(s[-1].item(), 80.0, rel_tol=1e-5)
    assert math.isclose(s[50].item(), math.sqrt(0.002 * 80.0), rel_tol=1e-5)  # log-uniform median
    lin = sigma_from_unit(u, KBNetConfig(sigma_min=0.0, sigma_max=0.5, sigma_dist="uniform"))
    assert torch.allclose(lin, 0.5 * u)


def test_the_linear_schedule_stays_inside_the_default_training_range() -> None:
    ab = linear_schedule().alpha_bars[1:]
    s_t = ((1 - ab) / ab).sqrt() / 2
    cfg = KBNetConfig()
    assert cfg.sigma_min <= s_t.min().item() and s_t.max().item() <= cfg.sigma_max


def test_draw_is_batch_first_and_seeded() -> None:
    x0 = torch.rand(5, 1, 8, 8) * 2 - 1
    a = _draw(x0, torch.Generator().manual_seed(3))
    b = _draw(x0, torch.Generator().manual_seed(3))
    assert all(v.shape[0] == 5 and torch.equal(v, b[k]) for k, v in a.items())
    assert torch.allclose(a["clean"], (x0 + 1) / 2)


def test_training_loss_is_the_l1_restoration_error() -> None:
    torch.manual_seed(0)
    net = KBNetS(KBNetConfig(**TINY, sigma_min=0.1, sigma_max=0.3, sigma_dist="uniform", loss="l1"))
    batch = _draw(torch.rand(4, 1, 8, 8) * 2 - 1, torch.Generator().manual_seed(0))
    s = (0.1 + 0.2 * batch["u"]).view(-1, 1, 1, 1)
    expected = (net(batch["clean"] + s * batch["noise"]) - batch["clean"]).abs().mean()
    assert torch.allclose(_loss(net, batch), expected)


@pytest.mark.parametrize("loss_weight", ["edm", "x0"])
def test_l2_loss_is_the_noise_weighted_squared_error(loss_weight: str) -> None:
    torch.manual_seed(0)
    net = KBNetS(KBNetConfig(**TINY, sigma_min=0.1, sigma_max=3.0, sigma_dist="uniform", loss="l2",
                             loss_weight=loss_weight))
    batch = _draw(torch.rand(4, 1, 8, 8) * 2 - 1, torch.Generator().manual_seed(0))
    s = (0.1 + 2.9 * batch["u"]).view(-1, 1, 1, 1)
    err = net(batch["clean"] + s * batch["noise"]) - batch["clean"]
    if loss_weight == "edm":  # (s^2 + sd^2) / s^2: epsilon-space error at low noise, image-space at high
        weight = (s ** 2 + SIGMA_DATA ** 2) / s ** 2
    else:
        weight = SIGMA_DATA ** 2 / (s ** 2 + SIGMA_DATA ** 2)
    expected = (weight * err ** 2).mean()
    assert torch.allclose(_loss(net, batch), expected)


class _ConstantDenoiser(torch.nn.Module):
    """Ignores its input and outputs one learned value: the loss's minimiser over constants."""

    def __init__(self, config: KBNetConfig) -> None:
        super().__init__()
        self.config = config
        self.value = torch.nn.Parameter(torch.tensor(0.5))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.value.expand_as(y)


def test_l1_training_finds_the_median_and_l2_the_mean() -> None:
    """At a noise level where the input is useless, the best output is the data's median under L1
    and its mean under the weighted L2 (the weight depends on s only): only the mean is what
    Tweedie's formula needs. Skewed data (mostly 0, like MNIST pixels) separates the two."""
    clean = (torch.rand(4000, 1, 1, 1, generator=torch.Generator().manual_seed(1)) < 0.2).float()  # mean 0.2, median 0
    fitted = {}
    for loss in ("l1", "l2"):
        model = _ConstantDenoiser(KBNetConfig(sigma_min=50.0, sigma_max=60.0, sigma_dist="uniform", loss=loss))
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        batch = {"clean": clean, "noise": torch.zeros_like(clean), "u": torch.rand(len(clean))}
        for _ in range(300):
            opt.zero_grad()
            _loss(model, batch).backward()
            opt.step()
        fitted[loss] = model.value.item()
    assert abs(fitted["l2"] - clean.mean().item()) < 0.01
    assert abs(fitted["l1"] - 0.0) < 0.02


def test_a_bad_loss_name_is_a_one_line_error() -> None:
    with pytest.raises(DenoisebenchError, match="loss must be 'l1' or 'l2'"):
        KBNetConfig(loss="huber").validate()
    with pytest.raises(DenoisebenchError, match="loss_weight must be 'edm' or 'x0'"):
        KBNetConfig(loss_weight="snr").validate()


def test_a_few_steps_reduce_the_loss(tiny_dataset) -> None:
    torch.manual_seed(0)
    recipe = KBNetRecipe(KBNetConfig(**TINY, sigma_min=0.05, sigma_max=0.5, sigma_dist="uniform"))
    net = recipe.build_model()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    x0 = tiny_dataset.train_tensor()[:16, :, :12, :12]
    gen, sched = torch.Generator().manual_seed(0), linear_schedule()
    fixed = recipe.draw(x0, torch.Generator().manual_seed(99), sched)
    with torch.no_grad():
        before = recipe.training_loss(net, fixed, sched).item()
    for _ in range(40):
        loss = recipe.training_loss(net, recipe.draw(x0, gen, sched), sched)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = recipe.training_loss(net, fixed, sched).item()
    assert after < 0.7 * before


def test_train_then_run_end_to_end(tmp_path: Path) -> None:
    from denoisebench.cli import cli  # noqa: F401

    ckpt = tmp_path / "kbnet.safetensors"
    opts = [x for k, v in {"width": "4", "middle_blk_num": "0", "enc_blk_nums": "1", "dec_blk_nums": "1",
                           "nset": "2"}.items() for x in ("-m", f"{k}={v}")]
    res = CliRunner().invoke(cli, ["train", "-p", "kbnet", "--steps", "2", "--batch-size", "8", "--threads", "1",
                                   "-o", str(ckpt), *opts], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["run", "-p", "kbnet", "--checkpoint", str(ckpt), "-n", "2", "--steps", "2",
                                   "--no-metrics", "--results-dir", str(tmp_path / "res")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    info = json.loads((Path(res.stdout.strip().splitlines()[-1]) / "run.json").read_text())["provider"]["info"]
    assert info["checkpoint_format"] == "denoisebench-train" and info["noise_range"] == [0.002, 80.0]


def test_schedule_noise_levels_are_those_a_sampler_visits() -> None:
    """sigma_dist=schedule: u -> t = 1 + floor(u T) uniform on 1..T, s = s_t of the schedule."""
    sched = linear_schedule()
    cfg = KBNetConfig(sigma_dist="schedule")
    u = (torch.arange(1000, dtype=torch.float32) + 0.5) / 1000
    s = sigma_from_unit(u, cfg, sched)
    s_t = (sched.sigma(torch.arange(1, 1001)) / 2).float()
    assert torch.allclose(s, s_t)  # one draw per timestep, in order
    assert torch.allclose(sigma_from_unit(torch.tensor([0.0, 0.9999999]), cfg, sched), s_t[[0, -1]])
    with pytest.raises(DenoisebenchError, match="needs the training schedule"):
        sigma_from_unit(u, cfg)


def test_lognormal_noise_levels_have_the_configured_quantiles() -> None:
    cfg = KBNetConfig(sigma_dist="lognormal", sigma_mean=-1.5, sigma_std=0.8)
    s = sigma_from_unit(torch.tensor([0.5, 0.8413447460685429]), cfg)
    assert math.isclose(s[0].item(), math.exp(-1.5), rel_tol=1e-5)  # median
    assert math.isclose(s[1].item(), math.exp(-1.5 + 0.8), rel_tol=1e-4)  # +1 std
    wide = KBNetConfig(sigma_dist="lognormal", sigma_mean=0.0, sigma_std=3.0)
    ends = sigma_from_unit(torch.tensor([0.0, 1.0]), wide)
    assert torch.allclose(ends, torch.tensor([wide.sigma_min, wide.sigma_max]), rtol=1e-5)  # clamped


def test_the_schedule_draw_enters_the_training_loss() -> None:
    torch.manual_seed(0)
    sched = linear_schedule()
    net = KBNetS(KBNetConfig(**TINY, sigma_dist="schedule"))
    batch = _draw(torch.rand(4, 1, 8, 8) * 2 - 1, torch.Generator().manual_seed(0), sched)
    s = sigma_from_unit(batch["u"], net.config, sched).view(-1, 1, 1, 1)
    err = net(batch["clean"] + s * batch["noise"]) - batch["clean"]
    expected = (SIGMA_DATA ** 2 / (s ** 2 + SIGMA_DATA ** 2) * err ** 2).mean()
    assert torch.allclose(_loss(net, batch, sched), expected)
