"""Small helpers shared by the verbs."""

from __future__ import annotations

from ..options import parse_key_values as _parse


def parse_key_values(values: tuple[str, ...], param_hint: str = "--option") -> dict[str, str]:
    """``KEY=VALUE`` pairs as a dict, or a one-line error naming the command-line option."""
    return _parse(values, param_hint)
