"""One data set's scores for every cell, and what a ranking needs from them.

Every cell of a data set is cross-validated on the same repeated stratified folds (the sampler inside each
training fold, as the train stage does), so two cells' fold scores pair up: a cell's win, tie or loss
against its classifier's baseline on a data set is read from the paired differences, with the
Nadeau-Bengio correction the reports already use (a naive interval over reused rows is too narrow). The
ranking takes each cell's mean per data set (benchmark/ranking.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from imbalance_lab.settings.values import BENCHMARK_METRICS

METRICS = BENCHMARK_METRICS  # the ranked metrics (settings.values says why these)


def higher_is_better(metric: str) -> bool:
    from imbalance_lab.evaluation.metrics import LOWER_IS_BETTER

    return metric not in LOWER_IS_BETTER


def failure_reason(err: BaseException) -> str:
    """One line for a cell that could not be fitted on a data set: the error's first line, shortened."""
    line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return line if len(line) <= 300 else line[:297] + "..."


def score_cells(X, y, cells: Mapping[str, Any], *, folds: int, repeats: int, seed: int, fixed_threshold: float,
                costs: Mapping[str, float], n_jobs: int | None = 1,
                progress: Callable[[str, int, int], None] | None = None) -> dict[str, dict]:
    """Each cell's per-fold scores on (X, y): {cell: {metric: [one per fold]}}, rounded as every file the
    project writes (data/rounding.py), or {cell: {"error": why}} for a cell that could not be fitted on some
    fold (a sampler or classifier that cannot work on these rows): the other cells are still scored. Every
    (cell, fold) pair is one task of joblib's backend (evaluation.metrics.cross_validated_cells)."""
    from imbalance_lab.data.rounding import significant
    from imbalance_lab.evaluation.metrics import cross_validated_cells

    results = cross_validated_cells(cells, X, y, folds=folds, repeats=repeats, seed=seed, n_jobs=n_jobs,
                                    fixed_threshold=fixed_threshold, costs=dict(costs), progress=progress)
    return {name: ({"error": failure_reason(result)} if isinstance(result, ValueError) else
                   {metric: [significant(float(value)) for value in result[0][metric]] for metric in METRICS})
            for name, result in results.items()}


def mean_table(scores: Mapping[str, Mapping[str, Mapping[str, Any]]], metric: str) -> pd.DataFrame:
    """{data set: {cell: per-fold scores}} -> one row per data set, one column per cell: the mean of
    ``metric`` over the folds; NaN where the cell failed on that data set."""
    rows = {dataset: {cell: (float(np.mean(folds[metric])) if metric in folds else math.nan)
                      for cell, folds in cells.items()}
            for dataset, cells in scores.items()}
    return pd.DataFrame.from_dict(rows, orient="index")


def win_tie_loss(cell, baseline, higher: bool, folds: int) -> str:
    """'win' when the cell beats the baseline beyond their paired interval on this data set (the fold scores
    of a ``folds``-fold CV, Nadeau-Bengio corrected: reporting.summary.paired_difference, as the reports
    compare cells), 'loss' when it is beaten so, else 'tie'."""
    from imbalance_lab.reporting.summary import paired_difference

    difference = paired_difference(cell, baseline, folds=folds, confidence=0.95)
    low, high = difference["low"], difference["high"]
    if not higher:  # a lower score is better (brier, cost)
        low, high = -high, -low
    return "win" if low > 0 else "loss" if high < 0 else "tie"
