"""Declared suites: a TOML matrix of entries x samplers x steps x seeds, filled by ``denoisebench bench``.

``load_suite`` parses a file, ``plan_suite`` finds which cells a results dir already holds,
``run_plan`` runs the rest through the ordinary run runner.
"""

from .cells import Cell, expand
from .runner import SuitePlan, dry_run_table, plan_suite, results_dir_for, run_plan
from .spec import EntrySpec, SamplerSpec, SuiteSpec, load_suite, parse_suite
from .status import CellStatus, scan_results

__all__ = ["Cell", "CellStatus", "EntrySpec", "SamplerSpec", "SuitePlan", "SuiteSpec", "dry_run_table", "expand",
           "load_suite", "parse_suite", "plan_suite", "results_dir_for", "run_plan", "scan_results"]
