"""Rank groups as bands: entries, best first, that the paired verdicts cannot separate.

A band is a maximal run of consecutive entries (in ranking order) every two of which are tied;
bands may overlap, as in a compact letter display. Each entry gets the letters of the bands it is
in, and is shaded by the first.
"""

from __future__ import annotations

from collections.abc import Callable


def rank_bands(entries: list[str], tied: Callable[[str, str], bool]) -> dict[str, list[int]]:
    """Band numbers (0, 1, ...) of each entry of ``entries`` (best first); ``tied(a, b)`` says
    whether a and b cannot be separated. Entries sharing a number are mutually tied."""
    windows: list[tuple[int, int]] = []
    for start in range(len(entries)):
        stop = start + 1
        while stop < len(entries) and all(tied(entries[k], entries[stop]) for k in range(start, stop)):
            stop += 1
        if not windows or stop > windows[-1][1]:  # not inside the previous band
            windows.append((start, stop))
    out: dict[str, list[int]] = {e: [] for e in entries}
    for band, (start, stop) in enumerate(windows):
        for entry in entries[start:stop]:
            out[entry].append(band)
    return out


def band_letters(bands: list[int]) -> str:
    """'a', 'ab', ... for band numbers (beyond 26 bands: 'a27')."""
    return "".join(chr(ord("a") + b) if b < 26 else f"a{b + 1}" for b in bands)
