"""The benchmark's summary (benchmark/summary.py): ranks by hand on a small table, a tuned-threshold cell ranked
once where it equals its untuned cell, a cell that failed on one set left out by name, win/tie/loss counts."""

from __future__ import annotations

import json

import pytest

from imbalance_lab.benchmark.summary import benchmark_summary

FOLDS = 5


def folds(f1: float, ap: float, brier: float, cost: float, spread: float = 0.01) -> dict[str, list[float]]:
    offsets = [spread * (i - 2) for i in range(FOLDS)]
    return {"f1": [f1 + o for o in offsets], "average_precision": [ap + o for o in offsets],
            "brier": [brier + o for o in offsets], "cost_per_1000": [cost + 100 * o for o in offsets]}


def scores() -> dict:
    """Three sets; tuned_threshold changes F1 and cost only (AP and Brier ignore the threshold)."""
    table = {}
    for index, dataset in enumerate(("a", "b", "c")):
        shift = 0.05 * index
        table[dataset] = {
            "baseline-logreg": folds(0.30 + shift, 0.60, 0.08, 50),
            "smote-logreg": folds(0.40 + shift, 0.55 + shift / 10, 0.12, 40),
            "tuned_threshold-logreg": folds(0.50 + shift, 0.60, 0.08, 30),
            "enn-logreg": folds(0.35 + shift, 0.58, 0.09, 45),
        }
    return table


def test_the_primary_metrics_mean_ranks_are_the_hand_ranks_and_the_json_is_plain():
    summary = benchmark_summary(scores(), folds=5)
    # every set orders F1 the same way: tuned 1, smote 2, enn 3, baseline 4
    assert summary["metric"] == "f1" and summary["datasets"] == ["a", "b", "c"]
    assert summary["mean_rank"] == {"tuned_threshold-logreg": 1.0, "smote-logreg": 2.0, "enn-logreg": 3.0,
                                    "baseline-logreg": 4.0}
    assert 0 < summary["friedman"]["p_value"] < 0.05  # the same order on 3 sets: chi2 = 9, p = 0.029
    assert summary["friedman"]["statistic"] == pytest.approx(9.0)
    assert summary["scores"]["b"]["smote-logreg"]["f1"] == pytest.approx(0.45)
    assert json.loads(json.dumps(summary)) == summary


def test_a_cell_equal_to_another_on_a_metric_is_ranked_once_there():
    summary = benchmark_summary(scores(), folds=5)
    for metric in ("average_precision", "brier"):
        ranked = summary["rankings"][metric]
        assert ranked["same_as"] == {"tuned_threshold-logreg": "baseline-logreg"}
        assert "tuned_threshold-logreg" not in ranked["mean_rank"] and len(ranked["mean_rank"]) == 3
    assert summary["rankings"]["f1"]["same_as"] == {}
    assert summary["rankings"]["brier"]["mean_rank"]["baseline-logreg"] == 1.0  # lower is better


def test_a_cell_that_failed_on_one_set_is_named_and_the_rest_are_ranked():
    table = scores()
    table["b"]["enn-logreg"] = {"error": "ENN removed every rare row of a training fold"}
    summary = benchmark_summary(table, folds=5)
    assert summary["not_ranked"] == {"enn-logreg": "b: ENN removed every rare row of a training fold"}
    assert set(summary["mean_rank"]) == {"tuned_threshold-logreg", "smote-logreg", "baseline-logreg"}
    assert all("enn-logreg" not in cells for cells in summary["scores"].values())


def test_win_tie_loss_against_the_classifiers_baseline():
    table = scores()
    table["c"]["enn-logreg"] = folds(0.30 + 0.10, 0.58, 0.09, 45, spread=0.2)  # c's baseline F1 within its noise
    records = benchmark_summary(table, folds=5)["win_tie_loss"]
    assert set(records) == {"smote-logreg", "tuned_threshold-logreg", "enn-logreg"}
    assert records["tuned_threshold-logreg"] == {"win": 3, "tie": 0, "loss": 0}
    assert records["enn-logreg"] == {"win": 2, "tie": 1, "loss": 0}
