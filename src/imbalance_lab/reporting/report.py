"""The cross-strategy comparison, as the pipeline uses it: the summary (summary.py), the report's sections
(sections.py) rendered as Markdown and HTML from Jinja2 templates (markdown.py, html.py, templates/), and
the terminal leaderboard (leaderboard.py). The names here are those modules' public ones."""

from imbalance_lab.reporting.formatting import LABELS, verdict_line
from imbalance_lab.reporting.html import render_html
from imbalance_lab.reporting.leaderboard import (
    GIVE_WAY,
    LEADERBOARD_WIDTH,
    benchmark_leaderboard,
    terminal_leaderboard,
)
from imbalance_lab.reporting.markdown import comparison_markdown, render_markdown
from imbalance_lab.reporting.sections import (
    Section,
    benchmark_section,
    build_sections,
    ceiling_references,
    data_section,
    leaderboard_table,
    not_fittable_section,
    strategy_sections,
    verdict,
)
from imbalance_lab.reporting.summary import (
    TEST_COLUMNS,
    SummaryError,
    build_summary,
    check_summary,
    meets_goals,
    paired_difference,
)

__all__ = [
    "GIVE_WAY",
    "LABELS",
    "LEADERBOARD_WIDTH",
    "TEST_COLUMNS",
    "Section",
    "SummaryError",
    "benchmark_leaderboard",
    "benchmark_section",
    "build_sections",
    "build_summary",
    "ceiling_references",
    "check_summary",
    "comparison_markdown",
    "data_section",
    "leaderboard_table",
    "meets_goals",
    "not_fittable_section",
    "paired_difference",
    "render_html",
    "render_markdown",
    "strategy_sections",
    "terminal_leaderboard",
    "verdict",
    "verdict_line",
]
