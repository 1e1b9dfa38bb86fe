"""The metric interface: what a metric declares (name, report columns, direction, N-dependence)
and computes from one shared :class:`Evaluation` (first draft; see the metrics hook)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Column:
    """One report column a metric fills: where its value sits in the metric's result, how it reads."""

    key: str
    header: str
    better: str | None  # "min", "max" or None (neither)
    path: tuple[str, ...] = ("value",)
    std_path: tuple[str, ...] | None = None
    digits: int = 3
    scale: float = 1.0


class Metric(ABC):
    """Subclasses set ``name``, ``description``, ``columns`` and ``depends_on_n``; implement :meth:`compute`."""

    name: ClassVar[str]
    description: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]] = ()
    depends_on_n: ClassVar[bool] = False

    @abstractmethod
    def compute(self, evaluation: Any) -> dict[str, Any] | None:
        """This metric's JSON-serialisable result for the evaluation's images."""
