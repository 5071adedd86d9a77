"""One critical-difference diagram per metric (Demšar 2006): the cells at their mean ranks over the data sets,
a bar across each group that Nemenyi's test does not tell apart; drawn by scikit-posthocs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from imbalance_lab.benchmark.ranking import draw_critical_difference
from imbalance_lab.reporting.formatting import p_value_text
from imbalance_lab.reporting.plots import plt


def critical_difference_figure(ranking: Mapping[str, Any], metric: str):
    """The diagram of one metric's ranking (benchmark_summary's ``rankings[metric]``), or a figure saying why
    there is none (fewer than 3 distinct cells or 2 data sets)."""
    fig, ax = plt.subplots(figsize=(9.0, 0.28 * max(len(ranking["mean_rank"]), 3) + 1.6), dpi=100,
                           layout="constrained")
    if "nemenyi" not in ranking:
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"{metric}: {ranking['tests']}", ha="center", va="center")
        return fig
    # best first, ties by name: the same picture from the stage's summary and from its JSON (keys sorted)
    mean_rank = pd.Series(dict(sorted(ranking["mean_rank"].items(), key=lambda item: (item[1], item[0]))),
                          dtype=float)
    # a p-value undefined on these scores (null) tells no two cells apart
    p_values = pd.DataFrame(ranking["nemenyi"], dtype=float).loc[mean_rank.index, mean_rank.index].fillna(1.0)
    draw_critical_difference(ax, mean_rank, p_values, alpha=ranking["alpha"])
    same = ", ".join(f"{cell} = {earlier}" for cell, earlier in sorted(ranking["same_as"].items()))
    friedman = ranking["friedman"]
    ax.set_title(f"{metric}: mean rank over {len(ranking['datasets'])} data sets (1 = best); Friedman p = "
                 f"{p_value_text(friedman['p_value'])}, critical difference {ranking['critical_difference']:.2f}"
                 + (f"\nranked once: {same}" if same else ""), fontsize=9)
    return fig
