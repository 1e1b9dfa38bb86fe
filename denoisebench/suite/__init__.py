"""Declared suites: a TOML matrix of entries x samplers x steps x seeds, filled by ``denoisebench bench``.

``load_suite`` parses a file, ``plan_suite`` finds which cells a results dir already holds,
``run_plan`` runs the rest: the ``[[train]]`` cells (:mod:`.trains`), the sample cells through the
ordinary run runner, then the ``[[probe]]`` cells (:mod:`.probes`).
"""

from .cells import Cell, expand
from .runner import SuitePlan, dry_run_table, plan_suite, results_dir_for, run_plan
from .spec import EntrySpec, ProbeSpec, SamplerSpec, SuiteSpec, TrainSpec, load_suite, parse_suite
from .status import CellStatus, scan_results

__all__ = ["Cell", "CellStatus", "EntrySpec", "ProbeSpec", "SamplerSpec", "TrainSpec", "SuitePlan", "SuiteSpec", "dry_run_table", "expand",
           "load_suite", "parse_suite", "plan_suite", "results_dir_for", "run_plan", "scan_results"]
