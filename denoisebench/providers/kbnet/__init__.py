"""KBNet_s: its config (:mod:`.config`), the network (:mod:`.arch`), the architecture read off
official weights (:mod:`.shapes`), its training recipe (:mod:`.training`), the provider (:mod:`.provider`)."""

from __future__ import annotations

from .arch import KBNetConfig, KBNetS, official_gray_config

__all__ = ["KBNetConfig", "KBNetS", "official_gray_config"]
