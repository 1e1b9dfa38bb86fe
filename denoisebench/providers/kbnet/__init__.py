"""KBNet_s: the network (:mod:`.arch`), its architecture read off official weights (:mod:`.shapes`),
its training recipe (:mod:`.training`) and the provider (:mod:`.provider`)."""

from __future__ import annotations

from .arch import KBNetConfig, KBNetS, official_gray_config

__all__ = ["KBNetConfig", "KBNetS", "official_gray_config"]
