"""Verdicts across encoders: does every encoder decide a paired comparison the same way?

One encoder is not enough to decide (issue 25): the same pair of entries may be separated one way
on the MNIST classifier's features and the other way, or not at all, on another encoder's. For a
(setting, metric, a, b) compared on several encoders the summary is

- ``robust``: every encoder gives the same significant direction (all ``a better``, or all ``b better``);
- ``level``: every encoder ties them;
- ``split``: anything else, shown as ``split (a better on X, Y; b better on Z; level on W)``;
- ``one encoder``: only one encoder scored it (no cross-check: nothing is claimed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .collect import Setting
from .paired import A_BETTER, B_BETTER, PairResult

ROBUST, SPLIT, LEVEL, ONE_ENCODER = "robust", "split", "level", "one encoder"


def across_kind(a_better: Iterable[str], b_better: Iterable[str], level: Iterable[str]) -> str:
    """The summary of the encoders that favour a, favour b and tie them."""
    a, b, t = list(a_better), list(b_better), list(level)
    if len(a) + len(b) + len(t) < 2:
        return ONE_ENCODER
    if not a and not b:
        return LEVEL
    if not t and (not a or not b):
        return ROBUST
    return SPLIT


@dataclass(frozen=True)
class Across:
    """How the encoders decided one (setting, metric, a, b)."""

    setting: Setting
    metric: str
    a: str
    b: str
    a_better: tuple[str, ...]
    b_better: tuple[str, ...]
    level: tuple[str, ...]

    @property
    def kind(self) -> str:
        return across_kind(self.a_better, self.b_better, self.level)

    @property
    def encoders(self) -> tuple[str, ...]:
        return self.a_better + self.b_better + self.level

    def text(self) -> str:
        """One line: 'robust (a better on X, Y)', 'split (a better on X; b better on Z; level on W)'..."""
        parts = [f"{who} better on {', '.join(on)}" for who, on in ((self.a, self.a_better), (self.b, self.b_better))
                 if on]
        if self.level:
            parts.append(f"level on {', '.join(self.level)}")
        kind = self.kind
        if kind == ONE_ENCODER:
            return f"one encoder ({'; '.join(parts)})"
        return f"{kind} ({'; '.join(parts)})"

    def as_dict(self) -> dict[str, Any]:
        return {"across": self.kind, "across_detail": self.text(), "a_better_on": list(self.a_better),
                "b_better_on": list(self.b_better), "level_on": list(self.level)}


def pair_key(p: PairResult) -> tuple[Setting, str, str, str]:
    return (p.setting, p.metric, p.a, p.b)


def across_encoders(pairs: Iterable[PairResult]) -> dict[tuple[Setting, str, str, str], Across]:
    """The cross-encoder summary of every (setting, metric, a, b) among ``pairs`` computed on an
    encoder (pairs with ``encoder`` None, e.g. the pixel-space memorised share, are left out)."""
    grouped: dict[tuple[Setting, str, str, str], dict[str, list[str]]] = {}
    for p in pairs:
        if p.encoder is None:
            continue
        slot = grouped.setdefault(pair_key(p), {A_BETTER: [], B_BETTER: [], "tied": []})
        slot[p.verdict].append(p.encoder)
    return {key: Across(key[0], key[1], key[2], key[3], tuple(v[A_BETTER]), tuple(v[B_BETTER]), tuple(v["tied"]))
            for key, v in grouped.items()}
