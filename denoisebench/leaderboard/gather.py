"""Everything the page shows, from run dirs: the report's tables (every run, seeds averaged), the
compare engine's verdicts and rank groups per setting, and where each entry's sample grid is."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..compare import Comparison, RunRef, SampleSource, Setting, compare_runs, group_runs, runs_in
from ..compare.collect import Groups, run_ref
from ..compare.engine import recorded_result
from ..errors import DenoisebenchError
from ..report import Table, build_tables, load_runs
from ..runs.records import RUN_FILE

class _Headline(Sequence[str]):
    """The metrics the page decides on, read from their declarations: every paired metric with a
    headline column (the FID-proxy first: the primary one for sorting, bands and the verdict matrix)."""

    def _keys(self) -> list[str]:
        from ..compare import METRICS as SPECS

        return [key for key, spec in SPECS.items() if spec.headline]

    def __getitem__(self, index: Any) -> Any:
        return self._keys()[index]

    def __len__(self) -> int:
        return len(self._keys())


METRICS: Sequence[str] = _Headline()
PRIMARY = "fid"


@dataclass
class Board:
    """The report's tables, the paired comparison of every setting and the runs behind them."""

    tables: list[Table]
    comparison: Comparison
    groups: Groups
    warnings: list[str] = field(default_factory=list)

    def grid(self, setting: Setting, entry: str) -> Path | None:
        """The sample grid of ``entry`` in ``setting`` at seed 0 (else its lowest seed), if saved."""
        seeds = self.groups.get(setting, {}).get(entry, {})
        if not seeds:
            return None
        path = seeds[0 if 0 in seeds else min(seeds)].run_dir / "grid.png"
        return path if path.is_file() else None

    def floor(self, setting: Setting, key: str) -> tuple[float, float] | None:
        """(value, std) of the real-vs-real floor of column ``key`` at the setting's dataset and N."""
        for table in self.tables:
            if table.dataset != setting.dataset or (setting.dataset_hash and table.dataset_hash != setting.dataset_hash):
                continue
            floors = table.floors()
            if key not in floors:
                continue
            rows = floors[floors["n"] == setting.n]
            for _, row in rows.iterrows():
                value = float(row[key])
                if math.isfinite(value):
                    std = float(row.get(f"{key}_std", math.nan))
                    return value, std
        return None


def _refs(root: Path, warn: Callable[[str], None]) -> list[RunRef]:
    """The runs of a results dir, or of one run dir."""
    if not (root / RUN_FILE).is_file():
        return runs_in(root, warn)
    from ..suite.status import scan_results

    runs, warnings = scan_results(root.parent)
    for w in warnings:
        warn(w)
    mine = [r for r in runs if r.run_dir == root]
    try:
        return [run_ref(mine[0])] if mine else []
    except (KeyError, TypeError, ValueError, AttributeError):
        warn(f"ignoring {root}: run.json lacks what a comparison needs")
        return []


def gather(paths: list[Path], n_bootstrap: int = 200, seed: int = 0, data_dir: Path | None = None,
           warn: Callable[[str], None] | None = None, progress: Callable[[str], None] | None = None,
           encoders: list[str] | None = None) -> Board:
    """Read every run under ``paths`` (results dirs or run dirs) and compare the entries of each setting
    (each verdict on every encoder: ``encoders``, else ``compare``'s defaults)."""
    warnings: list[str] = []

    def _warn(message: str) -> None:
        warnings.append(message)
        if warn is not None:
            warn(message)

    for root in paths:
        if not root.is_dir():
            raise DenoisebenchError(f"results dir {root} does not exist: pass a results dir or a run dir")
    tables = build_tables(load_runs(paths, _warn))
    refs = [ref for root in paths for ref in _refs(root, lambda _m: None)]
    if not tables or not refs:
        where = ", ".join(map(str, paths))
        raise DenoisebenchError(f"no complete runs in {where}: run 'denoisebench run' or 'denoisebench bench' first")
    no_samples: list[str] = []

    def _warn_runs(message: str) -> None:  # one line for all the runs whose samples were not kept
        if "samples.npz is missing" in message:
            no_samples.append(message)
        else:
            _warn(message)

    comparison = compare_runs(refs, SampleSource(memorisation=False, data_dir=data_dir), list(METRICS), n_bootstrap, seed,
                              progress=progress, warn=_warn_runs, encoders=encoders)
    if len(no_samples) == 1:
        _warn(no_samples[0])
    elif no_samples:
        _warn(f"{len(no_samples)} runs have no samples.npz (not kept), e.g. {no_samples[0].removeprefix('ignoring ')}")
    groups = group_runs(refs)
    compared = set(comparison.settings_by_key())
    unpaired = [recorded_result(setting, by_entry, METRICS) for setting, by_entry in groups.items()
                if setting not in compared and len(by_entry) > 1]
    unpaired = [r for r in unpaired if r.standings]
    if unpaired:
        _warn(f"{len(unpaired)} setting(s) have no samples.npz to pair (not kept): shown with the values their "
              "run.json recorded, without paired verdicts")
        comparison = replace(comparison, settings=sorted(comparison.settings + unpaired,
                                                         key=lambda r: r.setting.sort_key()))
    return Board(tables, comparison, groups, warnings)
