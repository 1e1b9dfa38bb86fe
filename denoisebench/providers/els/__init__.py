"""``els``: the equivariant local score machine (Kamb & Ganguli 2025) as a builtin provider."""

from .provider import ELSProvider

__all__ = ["ELSProvider"]
