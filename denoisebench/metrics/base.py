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
- ``input_shape``: the one image shape (C, H, W) it can read (a classifier's input, e.g.
  ``(1, 28, 28)``), or ``None`` for any shape. On a dataset of another shape the metric is not run:
  :meth:`Metric.skip_reason` says why, and the reason is listed in ``metrics["skipped"]``.

The declared metadata is written into every run.json (``metrics["declared"]``), so a report renders
a metric's columns even where the plugin that computed it is not installed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import DenoisebenchError

if TYPE_CHECKING:
    from ..datasets.base import ImageDataset
    from .evaluation import Evaluation

#: Which value of a column is best: lowest, highest, closest to zero (a signed difference), or None (neither).
BETTER = ("min", "max", "zero", None)
FLOORS = ("train subset", "held-out", None)
#: Keys of run.json's ``metrics`` object that the evaluator itself writes: no metric may be named so.
RESERVED_NAMES = frozenset({"schema", "n", "seed", "reference", "dataset", "feature_network", "encoders",
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
    ``shown=False`` columns go to CSV and JSON only (counts, sizes). ``headline`` and ``summary``
    columns are the few numbers ``run`` prints and training's periodic evaluation logs.
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
    summary: bool = False  # printed at the end of 'run' and logged by training's evaluation (as headline ones)

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
    #: The one image shape (C, H, W) the metric reads, or None for any shape (see :meth:`skip_reason`).
    input_shape: ClassVar[tuple[int, int, int] | None] = None
    #: What reads the images at that shape, named in the skip reason (e.g. "the pinned MNIST classifier").
    input_requirement: ClassVar[str] = "its declared input shape"
    #: Computed on ``evaluation.features``: run once per chosen encoder (:mod:`.per_encoder`).
    uses_features: ClassVar[bool] = False
    #: The encoder of a per-encoder copy of a feature metric (None: the pinned classifier).
    encoder: ClassVar[str | None] = None
    #: How ``compare`` (and the leaderboard) pair this metric sample by sample: None (they do not)
    #: or ``"features"``: its value is :meth:`paired_value` of the samples' and the reference's
    #: feature rows, so each bootstrap resample of rows gives a replicate. The decision is on
    #: :meth:`decision_column` (its header, better direction, digits); a ``headline`` column also
    #: puts the metric on the leaderboard.
    pairing: ClassVar[str | None] = None

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
        shape = cls.input_shape
        if shape is not None and not (isinstance(shape, tuple) and len(shape) == 3
                                      and all(isinstance(v, int) and v > 0 for v in shape)):
            raise DenoisebenchError(f"{where}: input_shape must be None or a (C, H, W) tuple of positive ints, "
                                    f"got {shape!r}")
        if cls.floor not in FLOORS:
            raise DenoisebenchError(f"{where}: floor must be 'train subset', 'held-out' or None, got {cls.floor!r}")

    @classmethod
    def skip_reason(cls, dataset: ImageDataset) -> str | None:
        """Why this metric cannot score images of ``dataset`` (None when it can).

        The default reads :attr:`input_shape`; override it for other requirements. A metric with a
        reason is neither computed nor given a floor value; the evaluator records the reason.
        """
        if cls.input_shape is None or tuple(dataset.image_shape) == tuple(cls.input_shape):
            return None
        c, h, w = cls.input_shape
        got = "x".join(str(v) for v in dataset.image_shape)
        return (f"reads {c}x{h}x{w} images only ({cls.input_requirement}); dataset {dataset.id!r} "
                f"has {got}")

    @abstractmethod
    def compute(self, evaluation: Evaluation) -> dict[str, Any] | None:
        """This metric's JSON-serialisable result for ``evaluation.images``.

        Raise :class:`MetricSkipped` when the images cannot be measured.
        """

    @classmethod
    def paired_value(cls, features: Any, reference: Any) -> float:
        """The decision column's value for N x d sample features against M x d reference features."""
        raise NotImplementedError(f"metric {cls.name!r} declares pairing {cls.pairing!r} but no paired_value")

    @classmethod
    def decision_column(cls) -> MetricColumn | None:
        """The column paired comparisons decide on: the first with a better direction."""
        return next((c for c in cls.columns if c.better is not None), None)

    @classmethod
    def declaration(cls) -> dict[str, Any]:
        """What run.json records about this metric (plugin facts are added by the caller)."""
        return {"description": " ".join(str(cls.description).split()), "note": cls.note,
                "depends_on_n": bool(cls.depends_on_n), "floor": cls.floor, "version": cls.version,
                "input_shape": None if cls.input_shape is None else list(cls.input_shape),
                "encoder": cls.encoder, "pairing": cls.pairing,
                "columns": [c.to_json() for c in cls.columns]}
