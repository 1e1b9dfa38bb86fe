"""KBNet_s: the network (:mod:`.arch`), its checkpoints (:mod:`.checkpoint`), the provider (:mod:`.provider`)."""

from __future__ import annotations

from .arch import KBNetConfig, KBNetS, official_gray_config

__all__ = ["KBNetConfig", "KBNetS", "official_gray_config"]
