"""The one checkpoint module: every trainable provider finds, reads and refuses weights the same way."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch

from denoisebench.errors import DenoisebenchError
from denoisebench.providers.base import ProviderContext
from denoisebench.providers.kbnet.arch import KBNetConfig
from denoisebench.providers.kbnet.provider import KBNetProvider
from denoisebench.providers.unet import UNetConfig, UNetProvider
from denoisebench.training.checkpoint import (config_to_json, load_weights, save_train_state, save_weights,
                                              unwrap_state_dict)

TINY = {UNetProvider: UNetConfig(channels=(8, 16), heads=2, groups=4),
        KBNetProvider: KBNetConfig(width=4, middle_blk_num=0, enc_blk_nums=(1,), dec_blk_nums=(1,), nset=2)}
PROVIDERS = pytest.mark.parametrize("provider", list(TINY), ids=lambda p: p.name)


def _tiny_checkpoint(provider: type, path: Path) -> torch.nn.Module:
    config = TINY[provider]
    torch.manual_seed(0)
    net = provider.training(config).build_model()
    save_weights(path, net, {"provider": provider.name, "model_config": config_to_json(config)})
    return net


@PROVIDERS
def test_weights_come_from_checkpoint_else_the_default(provider: type, tiny_dataset, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.safetensors"
    net = _tiny_checkpoint(provider, path)
    monkeypatch.setattr(provider, "default_checkpoint", path)
    loaded = provider.from_context(ProviderContext(tiny_dataset))  # no --checkpoint: the default
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), loaded.net.state_dict().values()))

    absent = tmp_path / "absent.safetensors"
    with pytest.raises(DenoisebenchError, match=rf"checkpoint {absent} does not exist: pass an existing file "
                                                rf"to --checkpoint or train one with 'denoisebench train "
                                                rf"--provider {provider.name}'"):
        provider.from_context(ProviderContext(tiny_dataset, checkpoint=absent))
    monkeypatch.setattr(provider, "default_checkpoint", absent)
    with pytest.raises(DenoisebenchError, match=rf"provider '{provider.name}' needs weights and its default "
                                                rf"weights .*absent.safetensors are missing: pass --checkpoint"):
        provider.from_context(ProviderContext(tiny_dataset))


@PROVIDERS
def test_a_training_state_is_not_taken_for_a_checkpoint(provider: type, tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    net = _tiny_checkpoint(provider, path)
    save_train_state(path, model=net, ema=copy.deepcopy(net), optimizer=torch.optim.AdamW(net.parameters()), step=1,
                     metadata={"run_id": "r"})
    with pytest.raises(DenoisebenchError, match="is a training state .*not a checkpoint"):
        load_weights(provider, tmp_path / "w.state.safetensors")


@PROVIDERS
def test_a_config_this_version_cannot_build_is_one_line(provider: type, tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    net = _tiny_checkpoint(provider, path)
    config = {**json.loads(config_to_json(TINY[provider])), "depth": 3}
    save_weights(path, net, {"provider": provider.name, "model_config": json.dumps(config)})
    with pytest.raises(DenoisebenchError, match="model config this version cannot build .*'depth'"):
        load_weights(provider, path)


@PROVIDERS
def test_a_pth_state_dict_of_a_wrapped_model_loads_when_it_carries_its_architecture(
        provider: type, tmp_path: Path) -> None:
    """``module.`` prefixes and framework nesting are undone for every provider; the architecture
    must then come from the file's shapes (kbnet reads them; the U-Net has no such reader)."""
    net = _tiny_checkpoint(provider, tmp_path / "w.safetensors")
    path = tmp_path / "w.pth"
    torch.save({"params_ema": {"module." + k: v for k, v in net.state_dict().items()}}, path)
    if provider is KBNetProvider:
        loaded, weights = load_weights(provider, path)
        assert weights.kind == "torch" and loaded.config.width == 4
        assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), loaded.state_dict().values()))
    else:
        with pytest.raises(DenoisebenchError, match="stores no model config"):
            load_weights(provider, path)


def test_state_dicts_are_unnested_and_unwrapped() -> None:
    t = torch.zeros(2)
    assert unwrap_state_dict({"net": {"module.a.weight": t}}) == {"a.weight": t}
    assert unwrap_state_dict({"b": t}) == {"b": t}
    with pytest.raises(DenoisebenchError, match="holds no state dict"):
        unwrap_state_dict({"net": {}})
