"""Typed reads of a dataset's ``-D KEY=VALUE`` options, and the ``train``/``heldout`` caps."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import DenoisebenchError
from ..options import Configurable

#: The caps every file-backed dataset takes, for quick runs on a prefix of each split.
CAP_OPTIONS = {"train": "keep the first N train images (default: all)",
               "heldout": "keep the first N held-out images (default: all)"}


class DatasetParams(Configurable):
    """The options given to one dataset, checked against what its spec declares."""

    kind = "dataset"

    def __init__(self, dataset_id: str, declared: Mapping[str, str], given: Mapping[str, str]) -> None:
        self.name = dataset_id  # type: ignore[misc]
        self.options = dict(declared)  # type: ignore[misc]
        self.check_options(given)

    def has(self, key: str) -> bool:
        return key in self.given_options

    def cap(self, key: str) -> int | None:
        """The ``train``/``heldout`` cap: a positive integer, or None when not given."""
        return self.option_int(key, 0, lo=1) if self.has(key) else None

    def size(self, key: str = "size") -> tuple[int, int] | None:
        """``size=64`` or ``size=HxW`` as (H, W), each at least 8; None when not given."""
        if not self.has(key):
            return None
        raw = self.given_options[key].lower().replace(" ", "")
        parts = raw.split("x")
        try:
            h, w = (int(parts[0]), int(parts[0])) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
            if len(parts) > 2:
                raise ValueError
        except ValueError:
            raise DenoisebenchError(f"{self._what(key)} must be N or HxW (e.g. 64 or 48x64), got "
                                    f"{self.given_options[key]!r}") from None
        if min(h, w) < 8:
            raise DenoisebenchError(f"{self._what(key)} must be at least 8 pixels per side, got {h}x{w}")
        return h, w


def apply_caps(params: DatasetParams, train: tuple[np.ndarray, np.ndarray],
               heldout: tuple[np.ndarray, np.ndarray]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(images, labels) of each split cut to the ``train``/``heldout`` caps (a prefix: deterministic)."""
    out = []
    for key, (images, labels) in (("train", train), ("heldout", heldout)):
        n = params.cap(key) if key in params.options else None
        out.append((images[:n], labels[:n]) if n is not None else (images, labels))
    return tuple(out)
