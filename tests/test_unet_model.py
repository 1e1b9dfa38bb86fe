"""The U-Net: shapes, t-dependence, parameterisations (closed forms) and fast-path equivalence."""

from __future__ import annotations

import pytest
import torch

from denoisebench.errors import DenoisebenchError
from denoisebench.providers.base import ProviderContext
from denoisebench.providers.unet import UNet, UNetConfig, UNetProvider, UNetRecipe
from denoisebench.providers.unet.training import snr_weight
from denoisebench.diffusion.schedule import linear_schedule

TINY = dict(channels=(8, 16), heads=2, groups=4)


def _randomised(config: UNetConfig) -> UNet:
    torch.manual_seed(0)
    net = UNet(config).eval()
    with torch.no_grad():
        for p in net.parameters():  # zero-initialised heads would hide t-dependence
            p.add_(0.05 * torch.randn_like(p))
    return net


@pytest.mark.parametrize("extra", [dict(patch=2), dict(patch=1), dict(patch=2, attention=False),
                                   dict(patch=2, channels=(8, 16, 16), blocks=2)])
def test_output_keeps_the_input_shape(extra: dict) -> None:
    net = _randomised(UNetConfig(**{**TINY, **extra}))
    x = torch.randn(3, 1, 28, 28)
    assert net(x, torch.tensor([1, 500, 1000])).shape == x.shape


def test_output_depends_on_t() -> None:
    net = _randomised(UNetConfig(**TINY))
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        a, b = net(x, torch.tensor([10, 10])), net(x, torch.tensor([900, 900]))
    assert (a - b).abs().max() > 1e-3


def test_bad_config_is_a_one_line_error() -> None:
    with pytest.raises(DenoisebenchError, match="parameterisation"):
        UNetConfig(parameterisation="score").validate()
    with pytest.raises(DenoisebenchError, match="multiples of groups"):
        UNetConfig(channels=(10, 20), groups=8).validate()


class _Oracle(torch.nn.Module):
    """Outputs the exact target of its parameterisation for known (x0, eps)."""

    def __init__(self, config: UNetConfig, x0: torch.Tensor, eps: torch.Tensor, ab: torch.Tensor) -> None:
        super().__init__()
        self.config, self.x0, self.eps = config, x0, eps
        self.a, self.s = ab.sqrt().view(-1, 1, 1, 1), (1 - ab).sqrt().view(-1, 1, 1, 1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return {"eps": self.eps, "v": self.a * self.eps - self.s * self.x0, "x0": self.x0}[
            self.config.parameterisation]


@pytest.mark.parametrize("param", ["eps", "v", "x0"])
def test_provider_converts_each_parameterisation_to_epsilon(tiny_dataset, param: str) -> None:
    sched = linear_schedule()
    t = torch.tensor([1, 250, 999])
    ab = sched.alpha_bars[t].float()
    x0, eps = torch.rand(3, 1, 28, 28) * 2 - 1, torch.randn(3, 1, 28, 28)
    x_t = ab.sqrt().view(-1, 1, 1, 1) * x0 + (1 - ab).sqrt().view(-1, 1, 1, 1) * eps
    cfg = UNetConfig(**TINY, parameterisation=param)
    provider = UNetProvider.from_model(_Oracle(cfg, x0, eps, ab), ProviderContext(dataset=tiny_dataset))
    assert torch.allclose(provider.predict_eps(x_t, t, sched), eps, atol=2e-3)


def test_min_snr_weights_follow_their_definition() -> None:
    ab = torch.tensor([0.999, 0.8, 0.5, 0.01], dtype=torch.float64)
    snr = ab / (1 - ab)
    m = torch.minimum(snr, torch.tensor(5.0, dtype=torch.float64))
    assert torch.allclose(snr_weight(ab, "eps", 5.0), m / snr)
    assert torch.allclose(snr_weight(ab, "v", 5.0), m / (snr + 1))
    assert torch.allclose(snr_weight(ab, "x0", 5.0), m)
    assert torch.allclose(snr_weight(ab, "eps", 0.0), torch.ones_like(ab))


def test_training_loss_is_the_weighted_mse_of_the_target() -> None:
    sched = linear_schedule()
    cfg = UNetConfig(**TINY, parameterisation="v", min_snr_gamma=5.0)
    net = _randomised(cfg)
    recipe = UNetRecipe(cfg)
    batch = recipe.draw(torch.rand(4, 1, 28, 28) * 2 - 1, torch.Generator().manual_seed(0), sched)
    ab = sched.alpha_bars[batch["t"]].float()
    a, s = ab.sqrt().view(-1, 1, 1, 1), (1 - ab).sqrt().view(-1, 1, 1, 1)
    x_t = a * batch["x0"] + s * batch["noise"]
    v = a * batch["noise"] - s * batch["x0"]
    snr = ab / (1 - ab)
    w = torch.clamp(snr, max=5.0) / (snr + 1)
    expected = (w * (net(x_t, batch["t"]) - v).pow(2).mean(dim=(1, 2, 3))).mean()
    assert torch.allclose(recipe.training_loss(net, batch, sched), expected, rtol=1e-5)
    # the trainer may pass a DDP wrapper: the recipe only calls what it is given
    assert torch.equal(recipe.training_loss(lambda x, t: net(x, t), batch, sched),
                       recipe.training_loss(net, batch, sched))


def test_channels_last_path_matches_the_eager_contiguous_path(tiny_dataset) -> None:
    cfg = UNetConfig(**TINY)
    net = _randomised(cfg)
    sched = linear_schedule()
    x, t = torch.randn(5, 1, 28, 28), torch.tensor([1, 10, 100, 500, 1000])
    plain = UNetProvider.from_model(_randomised(cfg), ProviderContext(dataset=tiny_dataset,
                                                                      options={"channels_last": "0"}))
    fast = UNetProvider.from_model(net, ProviderContext(dataset=tiny_dataset, options={"channels_last": "1"}))
    with torch.inference_mode():
        assert torch.allclose(plain.predict_eps(x, t, sched), fast.predict_eps(x, t, sched), atol=1e-5)


@pytest.mark.parametrize("word, expected", [("off", False), ("NO", False), ("on", True), ("yes", True)])
def test_flag_options_accept_the_public_boolean_words(tiny_dataset, word: str, expected: bool) -> None:
    provider = UNetProvider.from_model(UNet(UNetConfig(**TINY)), ProviderContext(
        dataset=tiny_dataset, options={"channels_last": word}))
    assert provider.info()["channels_last"] is expected
    with pytest.raises(DenoisebenchError, match="option channels_last of provider 'unet' must be 1 or 0"):
        UNetProvider.from_model(UNet(UNetConfig(**TINY)), ProviderContext(
            dataset=tiny_dataset, options={"channels_last": "fast"}))


def test_unknown_option_is_refused(tiny_dataset) -> None:
    with pytest.raises(DenoisebenchError, match="no option"):
        UNetProvider(ProviderContext(dataset=tiny_dataset, options={"fast": "1"}))
