"""Which metric columns a report shows, read from what each run declared.

A run.json written since the metrics hook carries ``metrics["declared"]``: every metric's columns,
better direction, N-dependence, floor kind and plugin. The report trusts that first, so a
third-party metric renders even where its plugin is not installed; a result key without a
declaration falls back to the installed registry, and old runs (no declarations at all) to the
builtin metrics' metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DenoisebenchError
from ..metrics.base import HELDOUT_SUFFIX, Metric, MetricColumn

BUILTIN_PLUGIN = "denoisebench.builtin"


@dataclass(frozen=True)
class MetricSpec:
    """One metric as a report sees it: declared metadata, no code."""

    name: str
    description: str
    columns: tuple[MetricColumn, ...]
    depends_on_n: bool = False
    floor: str | None = "train subset"
    note: str = ""
    plugin: str = BUILTIN_PLUGIN

    @classmethod
    def from_class(cls, metric: type[Metric], plugin: str) -> MetricSpec:
        return cls(metric.name, " ".join(str(metric.description).split()), tuple(metric.columns),
                   bool(metric.depends_on_n), metric.floor, metric.note, plugin)

    @classmethod
    def from_declared(cls, name: str, data: Any) -> MetricSpec:
        """Parse one ``declared`` entry; raises ``ValueError`` when it is malformed."""
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
            raise ValueError(f"declared metric {name!r} has no list of columns")
        try:
            columns = tuple(MetricColumn.from_json(c) for c in data["columns"])
        except (DenoisebenchError, TypeError, AttributeError) as exc:
            raise ValueError(f"declared metric {name!r}: {exc}") from None
        floor = data.get("floor")
        return cls(name, str(data.get("description") or ""), columns, bool(data.get("depends_on_n")),
                   floor if floor in ("train subset", "held-out") else None, str(data.get("note") or ""),
                   str(data.get("plugin") or "?"))

    def result(self, metrics: dict[str, Any]) -> Any:
        """This metric's result in a run's metrics object."""
        return metrics.get(self.name)

    def floor_result(self, metrics: dict[str, Any]) -> Any:
        """This metric's value for real digits (the floor row), wherever its floor kind keeps it."""
        if self.floor == "train subset":
            floor = metrics.get("floor")
            return floor.get(self.name) if isinstance(floor, dict) else None
        if self.floor == "held-out":
            return metrics.get(self.name + HELDOUT_SUFFIX)
        return None


def builtin_specs() -> dict[str, MetricSpec]:
    """The builtin metrics' metadata (what runs recorded before the metrics hook used)."""
    from ..metrics import BUILTIN_METRICS

    return {m.name: MetricSpec.from_class(m, BUILTIN_PLUGIN) for m in BUILTIN_METRICS}


def registered_specs() -> dict[str, MetricSpec]:
    """The installed metrics' metadata (an empty dict when the plugin system cannot be built)."""
    try:
        from ..plugins import get_registry

        return {name: MetricSpec.from_class(cls, info.plugin) for name, (cls, info) in get_registry().metrics.items()}
    except Exception:  # noqa: BLE001 - a report of stored runs must not depend on installed plugins
        return {}


def record_specs(metrics: dict[str, Any], registry: dict[str, MetricSpec],
                 builtins: dict[str, MetricSpec]) -> list[MetricSpec]:
    """The metrics a run's ``metrics`` object holds, with their metadata, in declared order."""
    declared = metrics.get("declared")
    specs: dict[str, MetricSpec] = {}
    if isinstance(declared, dict):
        for name, data in declared.items():
            try:
                specs[str(name)] = MetricSpec.from_declared(str(name), data)
            except ValueError:
                if name in registry:
                    specs[str(name)] = registry[name]
        fallback = registry
    else:
        fallback = {**builtins, **{k: v for k, v in registry.items() if k not in builtins}}
    for name, spec in fallback.items():
        if name not in specs and name in metrics:
            specs[name] = spec
    return builtins_first(list(specs.values()))


def builtins_first(specs: list[MetricSpec]) -> list[MetricSpec]:
    """The builtin metrics in their own order, then the others in the given order: where two metrics
    declare the same column key, the first one here keeps it."""
    from ..metrics import BUILTIN_METRICS

    builtin = [m.name for m in BUILTIN_METRICS]
    rank = {name: i for i, name in enumerate(builtin)}
    return sorted(specs, key=lambda s: rank.get(s.name, len(builtin)))


@dataclass(frozen=True)
class ReportColumn:
    """A column of a comparison table: a metric's column, or a cost the runner measured."""

    key: str
    header: str
    better: str | None
    digits: int
    scale: float = 1.0
    std_key: str | None = None
    per_n: bool = False
    shown: bool = True
    headline: bool = False
    metric: str | None = None  # None for the runner's own columns (cost)
    plugin: str = BUILTIN_PLUGIN

    @property
    def arrow(self) -> str:
        return {"min": " ↓", "max": " ↑", "zero": " →0"}.get(self.better or "", "")

    @classmethod
    def of_metric(cls, spec: MetricSpec, column: MetricColumn) -> ReportColumn:
        return cls(column.key, column.header, column.better, column.digits, column.scale,
                   f"{column.key}_std" if column.std_path else None, spec.depends_on_n, column.shown,
                   column.headline, spec.name, spec.plugin)


#: The cost of a run, measured by the runner (not a metric): after the metric columns.
COST_COLUMNS: tuple[ReportColumn, ...] = (
    ReportColumn("ms_per_image", "ms/image", "min", 1),
)
