"""The cells ranked across data sets, as Demšar (2006) compares classifiers over many data sets.

Each data set ranks the cells on one metric (1 the best, ties the mean of the ranks they span); the mean
ranks are then tested with Friedman's test and, pair by pair, with Nemenyi's test (the critical difference
of the mean ranks), Conover's test after Friedman and Wilcoxon's signed-rank test, both Holm-corrected.
Every test comes from scipy or scikit-posthocs; this module only lays the scores out for them.

``scores`` is a table with one row per data set and one column per cell, each value that cell's mean on
the data set (e.g. F1 over the cross-validation folds).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """Each data set's ranks of the cells: 1 the best, tied cells the mean of the ranks they span."""
    return scores.rank(axis=1, ascending=not higher_is_better, method="average")


def mean_ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.Series:
    """Each cell's mean rank over the data sets, best (lowest) first; ties keep the column order."""
    return ranks(scores, higher_is_better).mean(axis=0).sort_values(kind="stable")


def friedman(scores: pd.DataFrame) -> dict[str, float]:
    """Friedman's test that every cell ranks alike (scipy, with its correction for tied ranks), and the
    Iman-Davenport F that Demšar recommends (from the uncorrected statistic), each with its p-value."""
    from scipy import stats

    n, k = scores.shape
    statistic, p_value = stats.friedmanchisquare(*(scores[cell].to_numpy() for cell in scores.columns))
    r = ranks(scores).mean(axis=0).to_numpy()
    uncorrected = 12 * n / (k * (k + 1)) * (float(np.sum(r**2)) - k * (k + 1) ** 2 / 4)
    denominator = n * (k - 1) - uncorrected
    f = (n - 1) * uncorrected / denominator if denominator > 0 else math.inf
    f_p = float(stats.f.sf(f, k - 1, (k - 1) * (n - 1))) if math.isfinite(f) else 0.0
    return {"statistic": float(statistic), "p_value": float(p_value), "statistic_uncorrected": uncorrected,
            "iman_davenport_f": f, "iman_davenport_p_value": f_p}


def critical_difference(cells: int, datasets: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of two mean ranks: q_alpha * sqrt(k (k + 1) / (6 N)), q_alpha the
    studentized range quantile over sqrt(2) (Demšar's Table 5: 2.569 for four cells at 0.05)."""
    from scipy import stats

    q = stats.studentized_range.ppf(1 - alpha, cells, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(cells * (cells + 1) / (6 * datasets)))


def _labelled(p_values: pd.DataFrame, cells: list[str]) -> pd.DataFrame:
    p_values = p_values.copy()
    p_values.index, p_values.columns = cells, cells
    return p_values


def nemenyi(scores: pd.DataFrame) -> pd.DataFrame:
    """Nemenyi's pairwise p-values after Friedman (scikit-posthocs), cell by cell."""
    import scikit_posthocs as sp

    return _labelled(sp.posthoc_nemenyi_friedman(scores.to_numpy()), list(scores.columns))


def conover(scores: pd.DataFrame) -> pd.DataFrame:
    """Conover's pairwise p-values after Friedman, Holm-corrected (scikit-posthocs). When every data set
    orders the cells alike its within-set variance is 0: each pair then gets p = 0 (scikit-posthocs divides by
    that 0; its warning is silenced here)."""
    import scikit_posthocs as sp

    with np.errstate(divide="ignore", invalid="ignore"):
        p_values = sp.posthoc_conover_friedman(scores.to_numpy(), p_adjust="holm")
    return _labelled(p_values, list(scores.columns))


def wilcoxon(scores: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon's signed-rank p-values of each pair of cells over the data sets (paired by data set),
    Holm-corrected (scikit-posthocs); a pair equal on every data set gets 1."""
    import scikit_posthocs as sp

    groups = [scores[cell].to_numpy(dtype=float) for cell in scores.columns]
    return _labelled(sp.posthoc_wilcoxon(groups, zero_method="zsplit", p_adjust="holm"), list(scores.columns))


def rank_report(scores: pd.DataFrame, higher_is_better: bool = True, alpha: float = 0.05) -> dict[str, Any]:
    """Everything a ranking says about ``scores``: mean ranks, Friedman, the critical difference and the
    pairwise p-values of the three post-hoc tests (nested dicts, cell names as keys)."""
    if scores.shape[0] < 2 or scores.shape[1] < 3:
        raise ValueError(f"ranking needs at least 2 data sets and 3 cells, got {scores.shape[0]} and "
                         f"{scores.shape[1]}")
    if scores.isna().to_numpy().any():
        raise ValueError("ranking needs every cell scored on every data set")
    oriented = scores if higher_is_better else -scores
    return {
        "datasets": list(scores.index),
        "mean_rank": mean_ranks(scores, higher_is_better).to_dict(),
        "friedman": friedman(oriented),
        "critical_difference": critical_difference(scores.shape[1], scores.shape[0], alpha),
        "alpha": alpha,
        "nemenyi": nemenyi(oriented).to_dict(),
        "conover_holm": conover(oriented).to_dict(),
        "wilcoxon_holm": wilcoxon(oriented).to_dict(),
    }


def draw_critical_difference(ax, mean_rank: pd.Series, p_values: pd.DataFrame, alpha: float = 0.05) -> None:
    """scikit-posthocs' critical-difference diagram on ``ax``: the cells at their mean ranks, a bar across
    each group that ``p_values`` (e.g. Nemenyi's) does not tell apart at ``alpha``.

    scikit-posthocs finds the groups as Python sets of the labels, and a set of strings iterates in an order
    that changes from process to process (string hashing is salted): each bar was drawn through its cells in
    another order, so the PNG's bytes changed on every run. The cells go in as their positions (0, 1, ...;
    an int's hash is itself) and get their names back once drawn."""
    import scikit_posthocs as sp

    names = list(mean_rank.index)
    positions = pd.Series(mean_rank.to_numpy(), index=range(len(names)))
    matrix = pd.DataFrame(p_values.loc[names, names].to_numpy(), index=positions.index, columns=positions.index)
    drawn = sp.critical_difference_diagram(positions, matrix, alpha=alpha, ax=ax, label_fmt_left="{label}",
                                           label_fmt_right="{label}")
    for text in drawn["labels"]:
        position = int(text.get_text())
        rank = f"{positions[position]:.2g}"
        text.set_text(f"{names[position]} ({rank})" if text.get_ha() == "right" else f"({rank}) {names[position]}")
