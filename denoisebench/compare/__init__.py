"""Paired comparisons of entries: sample i of every entry starts from the same noise (seed, i), so
two entries' samples are compared index by index, seeds are combined, and each difference comes
with a 95% interval and a verdict (``a better``, ``b better``, ``tied``).

``compare_runs`` is the entry point; :mod:`.bootstrap` holds the statistics.
"""

from .bootstrap import METRICS, EntryMetrics, MetricSpec, bootstrap_entries
from .collect import RunRef, Setting, group_runs, runs_in, runs_of_plan
from .engine import Comparison, SettingResult, compare_runs
from .paired import A_BETTER, B_BETTER, TIED, PairResult, Standing, paired_difference, verdict
from .render import FORMATS, render
from .samples import SampleSet, SampleSource

__all__ = ["A_BETTER", "B_BETTER", "Comparison", "EntryMetrics", "FORMATS", "METRICS", "MetricSpec", "PairResult",
           "RunRef", "SampleSet", "SampleSource", "Setting", "SettingResult", "Standing", "TIED", "bootstrap_entries",
           "compare_runs", "group_runs", "paired_difference", "render", "runs_in", "runs_of_plan", "verdict"]
