"""What the comparison says, as one JSON-ready dict (reports/summary.json): the ranking, the paired comparisons
of each cell with its baseline and the leader, the verdict per classifier, the gaps to the ceilings; and the
check that a summary read back holds what the terminal leaderboard reads."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from imbalance_lab.evaluation.metrics import LOWER_IS_BETTER
from imbalance_lab.reporting.formatting import is_number
from imbalance_lab.settings.text import printable

TEST_COLUMNS = ("accuracy", "precision", "recall", "f1", "balanced_accuracy", "roc_auc", "average_precision")
EXTRA_COLUMNS = ("brier", "log_loss", "cost_per_1000")  # calibration and cost, in the summary and the cell tables
TRAIN_COLUMNS = ("accuracy", "precision", "recall", "f1")
CEILING_METRICS = ("f1", "accuracy", "precision", "recall")
GAP_CEILINGS = ("bayes", "best_line")  # the ceilings each cell's gap is measured to


def meets_goals(scores: Mapping, goals: Mapping[str, float]) -> bool:
    """Every goal reached: at least the goal, or at most it for a loss such as Brier."""
    def reached(metric: str, goal: float) -> bool:
        value = scores.get(metric)
        if value is None:
            return False
        return value <= goal if metric in LOWER_IS_BETTER else value >= goal

    return all(reached(metric, goal) for metric, goal in goals.items())


def paired_difference(a: Sequence[float], b: Sequence[float], *, folds: int, confidence: float) -> dict:
    """Mean of a - b over the same cross-validation folds, with a corrected t interval.

    Repeated k-fold scores share training rows, so the plain t interval is far too
    narrow. Nadeau & Bengio's correction inflates the variance of the mean from
    s²/J to (1/J + n_test/n_train)·s², where n_test/n_train = 1/(folds - 1).
    """
    from scipy import stats

    diffs = [x - y for x, y in zip(a, b, strict=True)]
    count = len(diffs)
    mean = sum(diffs) / count
    variance = sum((d - mean) ** 2 for d in diffs) / (count - 1) if count > 1 else 0.0
    t = float(stats.t.ppf((1 + confidence) / 2, count - 1))
    half_width = t * math.sqrt((1 / count + 1 / (folds - 1)) * variance)
    return {"mean": mean, "low": mean - half_width, "high": mean + half_width}


def better(metric: str, difference: Mapping) -> bool:
    """The interval lies wholly on the better side of zero."""
    return bool(difference["high"] < 0 if metric in LOWER_IS_BETTER else difference["low"] > 0)


@dataclass(frozen=True)
class Scores:
    """The cells' metrics and fold scores, and how the summary compares them (its primary metric and level)."""

    metrics: Mapping[str, Mapping]
    cv: Mapping[str, Mapping]
    primary: str
    confidence: float

    def cv_mean(self, name: str) -> float | None:
        return self.metrics[name]["cv"][self.primary]["mean"]

    def difference(self, a: str, b: str) -> dict:
        """a - b on the primary metric, paired over the same folds, and whether a is better beyond the noise."""
        found = paired_difference(self.cv[a]["scores"][self.primary], self.cv[b]["scores"][self.primary],
                                  folds=self.cv[a]["folds"], confidence=self.confidence)
        return {**found, "beyond_noise": better(self.primary, found)}


def ranking(scores: Scores) -> list[str]:
    """The cells best first; an undefined score last; ties keep params order (the sort is stable)."""
    def key(name: str) -> tuple:
        value = scores.cv_mean(name)
        if value is None:
            return (1, 0.0)
        return (0, value if scores.primary in LOWER_IS_BETTER else -value)

    return sorted(scores.metrics, key=key)


def cell_figures(result: Mapping, goals: Mapping[str, float]) -> dict:
    """One cell's evaluate-stage figures as the summary keeps them, and whether each protocol meets the goals."""
    entry = {
        "threshold": result["threshold"],
        "resampled_counts": result["resampled"]["counts"],
        "cv": {m: result["cv"][m] for m in (*TEST_COLUMNS, *EXTRA_COLUMNS) if m in result["cv"]},
        "test": {m: result["test"][m] for m in (*TEST_COLUMNS, *EXTRA_COLUMNS) if m in result["test"]},
        "train": {m: result["train"][m] for m in TRAIN_COLUMNS},
        "meets_goals": {
            "cv": meets_goals({m: v["mean"] for m, v in result["cv"].items()}, goals),
            "test": meets_goals(result["test"], goals),
            "train": meets_goals(result["train"], goals),
        },
    }
    return entry | {extra: result[extra] for extra in ("calibration", "cost_tuned") if extra in result}


def paired_comparisons(scores: Scores, name: str, *, leader: str, baseline: str | None) -> dict:
    """The cell against its baseline (cell - baseline) and the leader against the cell (leader - cell)."""
    found = {}
    if baseline is not None and baseline in scores.cv and name != baseline:
        found["vs_baseline"] = scores.difference(name, baseline)
    if name != leader:
        found["leader_ahead"] = scores.difference(leader, name)
    return found


def ceiling_gaps(scores: Scores, name: str, ceilings: Mapping | None) -> dict:
    """How far the cell's cross-validated and test scores lie below each ceiling (none for a metric without)."""
    if not ceilings or scores.primary not in CEILING_METRICS:
        return {}
    gaps, mean, test = {}, scores.cv_mean(name), scores.metrics[name]["test"]
    if mean is not None:
        gaps["gap_to"] = {kind: ceilings[kind][scores.primary] - mean for kind in GAP_CEILINGS}
    if scores.primary in test:
        gaps["test_gap_to"] = {kind: ceilings[kind][scores.primary] - test[scores.primary] for kind in GAP_CEILINGS}
    return gaps


def verdicts(scores: Scores, rank_in: Mapping[str, list[str]], kinds: Mapping[str, str | None]) -> dict:
    """Per classifier with both kinds of cell: its best resampling cell against its best threshold cell."""
    found = {}
    for classifier, ranked in rank_in.items():
        best = {kind: next((name for name in ranked if kinds.get(name) == kind), None)
                for kind in ("resampling", "threshold")}
        if best["resampling"] is not None and best["threshold"] is not None:
            found[classifier] = {"resampling": best["resampling"], "threshold": best["threshold"],
                                 "difference": scores.difference(best["resampling"], best["threshold"])}
    return found


def build_summary(metrics: Mapping[str, Mapping], cv: Mapping[str, Mapping], goals: Mapping[str, float], *,
                  primary: str, confidence: float, baselines: Mapping[str, str | None], ceilings: Mapping | None,
                  cells: Mapping[str, tuple[str, str]] | None = None, kinds: Mapping[str, str | None] | None = None
                  ) -> dict:
    """Everything the comparison says, as one JSON-ready dict.

    ``metrics`` and ``cv`` are per cell (a strategy with a classifier, in DVC's matrix order): the
    evaluate stage's metrics and the per-fold cross-validation scores. ``baselines`` names each
    cell's baseline: the same classifier with the leaderboard's baseline strategy. ``cells`` maps
    each to its (strategy, classifier) and ``kinds`` says which resample and which tune a threshold,
    for the verdict per classifier (without them, each cell is its own classifier's only one).
    """
    cells = dict(cells or {name: (name, "") for name in metrics})
    scores = Scores(metrics, cv, primary, confidence)
    order = ranking(scores)
    leader = order[0]
    classifiers = list(dict.fromkeys(classifier for _, classifier in cells.values()))
    rank_in = {c: [name for name in order if cells[name][1] == c] for c in classifiers}
    entries = {
        name: {"rank": rank, "strategy": cells[name][0], "classifier": cells[name][1],
               "rank_in_classifier": rank_in[cells[name][1]].index(name) + 1,
               **cell_figures(metrics[name], goals),
               **paired_comparisons(scores, name, leader=leader, baseline=baselines.get(name)),
               **ceiling_gaps(scores, name, ceilings)}
        for rank, name in enumerate(order, start=1)
    }
    return {
        "goals": dict(goals),
        "primary": primary,
        "confidence": confidence,
        "baselines": {name: baseline for name, baseline in baselines.items() if baseline in cv},
        "leader": leader,
        "leader_ahead_of_all_beyond_noise": all(entry["leader_ahead"]["beyond_noise"] for entry in entries.values()
                                                if "leader_ahead" in entry),
        "classifiers": {c: {"leader": rank_in[c][0], "cells": rank_in[c]} for c in classifiers},
        "verdicts": verdicts(scores, rank_in, kinds or {}),
        "cells": entries,
        "ceilings": dict(ceilings) if ceilings else None,
    }


# --- a summary read back --------------------------------------------------------------


class SummaryError(ValueError):
    """A summary (reports/summary.json) that is not what the compare stage writes: says which key and why."""


NUMBER, OPTIONAL_NUMBER, EACH = "a number", "a number or null", "each"
DIFFERENCE = {"mean": NUMBER, "low": NUMBER, "high": NUMBER}
# What the terminal leaderboard reads from a summary. A key ending in "?" may be absent; {EACH: spec}: every
# value of an object of any keys.
SUMMARY_SHAPE = {
    "primary": str,
    "goals": {EACH: NUMBER},
    "cells": {EACH: {"rank": int, "cv": dict, "meets_goals": {"cv": bool, "test": bool},
                     "test": {"f1": OPTIONAL_NUMBER, "accuracy": OPTIONAL_NUMBER}, "vs_baseline?": DIFFERENCE}},
    "verdicts": {EACH: {"resampling": str, "threshold": str, "difference": DIFFERENCE}},
    "not_fittable?": {EACH: {"reason": str, "during": str}},  # cells whose classifier could not be fitted
}
JSON_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "true or false", int: "a whole number",
              float: "a number", type(None): "null"}


def _check_object(value, shape: dict, where: str) -> None:
    """``value`` is an object with the keys of ``shape``, each of its shape."""
    if not isinstance(value, dict):
        kind = JSON_KINDS.get(type(value), type(value).__name__)
        raise SummaryError(f"{where or 'the file'} is {kind}, not an object")
    if EACH in shape:
        for key, item in value.items():
            _check_shape(item, shape[EACH], f"{where}.{printable(key)}" if where else printable(key))
        return
    for key, item_shape in shape.items():
        name = key.rstrip("?")
        path = f"{where}.{name}" if where else name
        if name in value:
            _check_shape(value[name], item_shape, path)
        elif not key.endswith("?"):
            raise SummaryError(f"{path} is missing")


def _check_shape(value, shape, where: str) -> None:
    """``value`` has the ``shape`` (see SUMMARY_SHAPE), else a SummaryError naming ``where`` it differs."""
    if isinstance(shape, dict):
        _check_object(value, shape, where)
        return
    if shape in (NUMBER, OPTIONAL_NUMBER):
        fits = is_number(value) or (shape == OPTIONAL_NUMBER and value is None)
    else:
        fits = isinstance(value, shape) and (shape is bool or not isinstance(value, bool))
    if not fits:
        wanted = shape if isinstance(shape, str) else JSON_KINDS[shape]
        raise SummaryError(f"{where} is {JSON_KINDS.get(type(value), type(value).__name__)}, not {wanted}")


def check_summary(summary) -> None:
    """A SummaryError unless ``summary`` holds everything the terminal leaderboard reads, in the right types."""
    _check_shape(summary, SUMMARY_SHAPE, "")
    primary = summary["primary"]
    for name, entry in summary["cells"].items():
        if primary in entry["cv"]:
            _check_shape(entry["cv"][primary], {"mean": OPTIONAL_NUMBER, "sd": OPTIONAL_NUMBER},
                         f"cells.{printable(name)}.cv.{printable(primary)}")
