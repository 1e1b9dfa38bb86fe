"""The patch size as a function of the noise level, and its ``-o patch=...`` syntax.

The key is sigma = sqrt((1 - abar) / abar), the noise std of x_t / sqrt(abar) in [-1, 1] units, so
a schedule measured on one DDPM noise schedule applies to any other. A call at sigma uses the
entry whose sigma is nearest in log sigma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import DenoisebenchError


@dataclass(frozen=True)
class PatchSchedule:
    """Entries (sigma, patch size), sorted by sigma."""

    entries: tuple[tuple[float, int], ...]

    def size_at(self, sigma: float) -> int:
        if len(self.entries) == 1:
            return self.entries[0][1]
        log_s = math.log(max(sigma, 1e-12))
        return min(self.entries, key=lambda e: abs(math.log(e[0]) - log_s))[1]

    def sizes(self) -> list[int]:
        return sorted({p for _, p in self.entries})

    def text(self) -> str:
        return ",".join(f"{s:.4g}:{p}" for s, p in self.entries)


def _odd(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise DenoisebenchError(f"{what} must be an odd integer, got {text!r}") from None
    if value < 1 or value % 2 == 0:
        raise DenoisebenchError(f"{what} must be an odd integer >= 1, got {text!r}")
    return value


def parse_patch_schedule(text: str) -> PatchSchedule:
    """``"7"`` (one size for every t) or ``"SIGMA:P,SIGMA:P,..."``, or a one-line error."""
    usage = "option patch of provider 'els' must be an odd size (e.g. 7) or SIGMA:P,SIGMA:P,... (e.g. 0.1:3,1:9)"
    text = text.strip()
    if ":" not in text:
        return PatchSchedule(((1.0, _odd(text, "option patch of provider 'els'")),))
    entries = []
    for item in text.split(","):
        sigma_text, sep, size_text = item.partition(":")
        try:
            sigma = float(sigma_text)
        except ValueError:
            raise DenoisebenchError(f"{usage}; got {item!r}") from None
        if not sep or not sigma > 0 or math.isinf(sigma):
            raise DenoisebenchError(f"{usage}; got {item!r}")
        entries.append((sigma, _odd(size_text, f"the patch size in {item!r}")))
    return PatchSchedule(tuple(sorted(entries)))
