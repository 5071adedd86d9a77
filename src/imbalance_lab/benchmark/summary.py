"""What the benchmark's ranking stage will write: every metric ranked over every data set, for all cells and
for each classifier, as one JSON-ready dict (reports/benchmark/summary.json's shape, issue 24).

Two rules keep the ranking honest. A cell that failed on any data set cannot be ranked (Friedman needs every
cell scored on every set): it is left out and named with the set and the reason, and the rest are ranked. And
cells whose fold scores of a metric are identical (a tuned-threshold cell and its untuned cell on average
precision and Brier score, which ignore the threshold) are the same contender there: ranked once, under the
first name, the others listed as the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from imbalance_lab.benchmark.ranking import mean_ranks, rank_report
from imbalance_lab.benchmark.scoring import METRICS, higher_is_better, mean_table, win_tie_loss
from imbalance_lab.data.rounding import rounded


def failed_cells(scores: Mapping[str, Mapping[str, Mapping]]) -> dict[str, str]:
    """{cell: "<data set>: <reason>"} for each cell that failed on some data set (the first such set)."""
    failed: dict[str, str] = {}
    for dataset, cells in scores.items():
        for cell, result in cells.items():
            if "error" in result and cell not in failed:
                failed[cell] = f"{dataset}: {result['error']}"
    return failed


def same_scores(scores: Mapping[str, Mapping[str, Mapping]], cells: list[str], metric: str) -> dict[str, str]:
    """{cell: the earlier cell it equals} where two cells' fold scores of ``metric`` are equal on every set."""
    same: dict[str, str] = {}
    for index, cell in enumerate(cells):
        for earlier in cells[:index]:
            if earlier not in same and all(folds[cell][metric] == folds[earlier][metric] for folds in scores.values()):
                same[cell] = earlier
                break
    return same


def ranking_of(scores: Mapping[str, Mapping[str, Mapping]], cells: list[str], metric: str) -> dict[str, Any]:
    """One metric's ranking of ``cells`` (each scored on every set), duplicates ranked once."""
    same = same_scores(scores, cells, metric)
    contenders = [cell for cell in cells if cell not in same]
    table = mean_table(scores, metric)[contenders]
    if len(contenders) < 3 or len(scores) < 2:  # mean ranks only: Friedman needs 3 cells and 2 sets
        return {"mean_rank": mean_ranks(table, higher_is_better(metric)).to_dict(), "same_as": same,
                "tests": "none: fewer than 3 distinct cells or 2 data sets"}
    return {**rank_report(table, higher_is_better=higher_is_better(metric)), "same_as": same}


def benchmark_summary(scores: Mapping[str, Mapping[str, Mapping]], folds: int,
                      primary: str = "f1", baseline: str | None = "baseline") -> dict[str, Any]:
    """{data set: {cell: {metric: per-fold scores} or {"error": why}}} -> the summary: the primary metric's
    mean ranks and Friedman test at the top, every metric ranked for all cells and per classifier, each
    set's mean scores, and each strategy's win/tie/loss against its classifier's ``baseline`` cell on the
    primary metric (a tie: inside that set's paired interval over the ``folds``-fold CV's scores)."""
    failed = failed_cells(scores)
    cells = [cell for cell in next(iter(scores.values())) if cell not in failed]
    classifiers = sorted({cell.rsplit("-", 1)[1] for cell in cells})
    rankings = {metric: ranking_of(scores, cells, metric) for metric in METRICS}
    per_classifier = {
        classifier: {metric: ranking_of(scores, [c for c in cells if c.endswith(f"-{classifier}")], metric)
                     for metric in METRICS}
        for classifier in classifiers
        if sum(cell.endswith(f"-{classifier}") for cell in cells) >= 3
    }
    records: dict[str, dict[str, int]] = {}
    for cell in cells:
        strategy, classifier = cell.rsplit("-", 1)
        reference = f"{baseline}-{classifier}"
        if strategy == baseline or reference not in cells:
            continue
        counts = {"win": 0, "tie": 0, "loss": 0}
        higher = higher_is_better(primary)
        for result in scores.values():
            counts[win_tie_loss(result[cell][primary], result[reference][primary], higher, folds)] += 1
        records[cell] = counts
    means = {dataset: {cell: {metric: sum(result[metric]) / len(result[metric]) for metric in METRICS}
                       for cell, result in cells_scores.items() if cell in cells}
             for dataset, cells_scores in scores.items()}
    top = rankings[primary]
    return defined(rounded({  # as every file the project writes: 6 significant digits, never -0.0
        "metric": primary,
        "datasets": list(scores),
        "mean_rank": top["mean_rank"],
        "friedman": ({"statistic": top["friedman"]["statistic"], "p_value": top["friedman"]["p_value"]}
                     if "friedman" in top else None),
        "not_ranked": failed,
        "rankings": rankings,
        "per_classifier": per_classifier,
        "win_tie_loss": records,
        "scores": means,
    }))


def defined(value: Any) -> Any:
    """``value`` with null for every NaN or infinite float: a test undefined on these scores (Wilcoxon's on two
    data sets, Iman-Davenport's F when every set ranks the cells alike) is written as null, as JSON allows."""
    if isinstance(value, dict):
        return {key: defined(item) for key, item in value.items()}
    if isinstance(value, list):
        return [defined(item) for item in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value
