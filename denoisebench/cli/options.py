"""Small helpers shared by the verbs."""

from __future__ import annotations

import click


def parse_key_values(values: tuple[str, ...]) -> dict[str, str]:
    """``--option KEY=VALUE`` pairs as a dict, or a one-line usage error."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--option")
        out[key.strip()] = value.strip()
    return out
