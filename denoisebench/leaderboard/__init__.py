"""``denoisebench leaderboard``: one static HTML page that says which denoiser is best, by how much,
and at what cost.

:mod:`.gather` collects the report's tables and the compare engine's verdicts, :mod:`.bands` turns
verdicts into shaded rank groups, :mod:`.plots` draws quality against cost with the Pareto front,
:mod:`.sections` and :mod:`.page` write the HTML (every image embedded as a data URI).
"""

from .bands import rank_bands
from .gather import Board, gather
from .page import build_leaderboard, render_page
from .plots import pareto_front

__all__ = ["Board", "build_leaderboard", "gather", "pareto_front", "rank_bands", "render_page"]
