"""The metric interface: what a metric declares and how it computes from one shared :class:`Evaluation`.

A metric is a class registered through the ``register_metrics`` hook. It declares

- ``name``: its key in run.json's ``metrics`` (``metrics[name]`` holds what :meth:`Metric.compute`
  returns) and a one-line ``description``;
- ``columns``: the report columns it fills (:class:`MetricColumn`: a key, a header, which direction
  is better, where the value and its uncertainty sit in the result, digits, display scale);
- ``depends_on_n``: whether its value moves with the number of samples (FID's bias, PRDC's ball
  radii); such columns are compared only between runs of equal N;
- ``floor``: how the report's real-digit row gets its value: ``"train subset"`` (computed on N real
  train digits against the held-out split, exactly like a provider), ``"held-out"`` (computed on the
  held-out digits themselves, e.g. their distance to the train split) or ``None`` (no floor value).

The declared metadata is written into every run.json (``metrics["declared"]``), so a report renders
a metric's columns even where the plugin that computed it is not installed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import DenoisebenchError

if TYPE_CHECKING:
    from .evaluation import Evaluation

#: Which value of a column is best: lowest, highest, closest to zero (a signed difference), or None (neither).
BETTER = ("min", "max", "zero", None)
FLOORS = ("train subset", "held-out", None)
#: Keys of run.json's ``metrics`` object that the evaluator itself writes: no metric may be named so.
RESERVED_NAMES = frozenset({"schema", "n", "seed", "reference", "dataset", "feature_network",
                            "feature_network_sha256", "skipped", "failed", "floor", "declared", "timing_s"})
HELDOUT_SUFFIX = "_heldout"


class MetricSkipped(Exception):
    """Raised by :meth:`Metric.compute` when the images cannot be measured (too few, wrong size).

    The metric's value is null and ``"<name>: <reason>"`` is listed in ``metrics["skipped"]``;
    unlike an error it is expected, so no warning is printed.
    """


@dataclass(frozen=True)
class MetricColumn:
    """One report column a metric fills.

    ``path`` (and ``std_path``) lead into the metric's result: ``("value",)`` reads
    ``result["value"]``. ``scale`` multiplies the value for display only (CSV and JSON keep raw
    units). ``headline`` columns are also plotted against the cost (network evaluations).
    ``shown=False`` columns go to CSV and JSON only (counts, sizes).
    """

    key: str
    header: str
    better: str | None = None  # "min", "max", "zero" (closest to 0) or None (neither: e.g. a density)
    path: tuple[str, ...] = ("value",)
    std_path: tuple[str, ...] | None = None
    digits: int = 3
    scale: float = 1.0
    headline: bool = False
    shown: bool = True

    def to_json(self) -> dict[str, Any]:
        """The column as recorded in run.json (tuples become lists)."""
        out = asdict(self)
        out["path"] = list(self.path)
        out["std_path"] = None if self.std_path is None else list(self.std_path)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MetricColumn:
        """The inverse of :meth:`to_json`; unknown keys are ignored (newer writers may add some)."""
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        fields["path"] = tuple(fields.get("path") or ("value",))
        if fields.get("std_path") is not None:
            fields["std_path"] = tuple(fields["std_path"])
        column = cls(**fields)
        column.check()
        return column

    def check(self) -> None:
        """Raise a one-line error for a malformed declaration."""
        if not isinstance(self.key, str) or not self.key.isidentifier():
            raise DenoisebenchError(f"metric column key {self.key!r} must be an identifier such as 'fid'")
        if self.better not in BETTER:
            raise DenoisebenchError(f"metric column {self.key!r}: better must be 'min', 'max', 'zero' or None, "
                                    f"got {self.better!r}")
        if not self.path or not all(isinstance(p, str) for p in self.path):
            raise DenoisebenchError(f"metric column {self.key!r}: path must be a non-empty tuple of keys")
        if not isinstance(self.digits, int) or not 0 <= self.digits <= 12:
            raise DenoisebenchError(f"metric column {self.key!r}: digits must be an int in 0..12")


class Metric(ABC):
    """Subclass it, set the class attributes below and implement :meth:`compute`.

    One instance scores one set of images; it must not keep state between calls. Expensive shared
    pieces (features, class probabilities, nearest training images, held-out features) come from
    the :class:`~denoisebench.metrics.evaluation.Evaluation`, computed once for all metrics.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    columns: ClassVar[tuple[MetricColumn, ...]] = ()
    depends_on_n: ClassVar[bool] = False
    floor: ClassVar[str | None] = "train subset"
    #: A sentence for the report's legend (default: the headers and the description).
    note: ClassVar[str] = ""
    #: Bump when the computation changes: cached floor values of another version are recomputed.
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.check_declaration()

    @classmethod
    def check_declaration(cls) -> None:
        """Raise a one-line error when the class attributes are malformed (run at class creation)."""
        where = f"metric class {cls.__name__}"
        name = getattr(cls, "name", None)
        if name is not None and (name in RESERVED_NAMES or str(name).endswith(HELDOUT_SUFFIX)):
            raise DenoisebenchError(f"{where}: the name {name!r} is reserved for the evaluator's own keys; "
                                    "choose another")
        if not isinstance(cls.columns, tuple) or not all(isinstance(c, MetricColumn) for c in cls.columns):
            raise DenoisebenchError(f"{where}: columns must be a tuple of MetricColumn")
        for column in cls.columns:
            column.check()
        keys = [c.key for c in cls.columns]
        if len(set(keys)) != len(keys):
            raise DenoisebenchError(f"{where}: column keys {keys} repeat; give each column its own key")
        if cls.floor not in FLOORS:
            raise DenoisebenchError(f"{where}: floor must be 'train subset', 'held-out' or None, got {cls.floor!r}")

    @abstractmethod
    def compute(self, evaluation: Evaluation) -> dict[str, Any] | None:
        """This metric's JSON-serialisable result for ``evaluation.images``.

        Raise :class:`MetricSkipped` when the images cannot be measured.
        """

    @classmethod
    def declaration(cls) -> dict[str, Any]:
        """What run.json records about this metric (plugin facts are added by the caller)."""
        return {"description": " ".join(str(cls.description).split()), "note": cls.note,
                "depends_on_n": bool(cls.depends_on_n), "floor": cls.floor, "version": cls.version,
                "columns": [c.to_json() for c in cls.columns]}
