"""The cross-strategy summary: goal checks and the tables."""

from imbalance_lab.report import meets_goals, summarize, summary_markdown


def scores(**values):
    base = {"accuracy": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "balanced_accuracy": 0.0,
            "roc_auc": None, "average_precision": None, "brier": 0.5}
    return {**base, **values}


def test_goals_are_minimums_and_inclusive():
    goals = {"accuracy": 0.9, "f1": 0.5}
    assert meets_goals(scores(accuracy=0.9, f1=0.5), goals)
    assert not meets_goals(scores(accuracy=0.95, f1=0.49), goals)
    assert not meets_goals(scores(accuracy=0.89, f1=0.9), goals)


def test_a_brier_goal_is_a_maximum():
    assert meets_goals(scores(brier=0.04), {"brier": 0.05})
    assert not meets_goals(scores(brier=0.06), {"brier": 0.05})


def test_an_undefined_metric_never_meets_a_goal():
    assert not meets_goals(scores(roc_auc=None), {"roc_auc": 0.5})


def test_summary_keeps_strategy_order_and_checks_each_protocol():
    metrics = {
        "zeta": {"resampled": {"counts": {"0": 3, "1": 1}}, "test": scores(accuracy=0.95, f1=0.6),
                 "train": scores(accuracy=0.8, f1=0.6)},
        "alpha": {"resampled": {"counts": {"0": 3, "1": 3}}, "test": scores(accuracy=0.5, f1=0.6),
                  "train": scores(accuracy=0.95, f1=0.7)},
    }
    summary = summarize(metrics, {"accuracy": 0.9, "f1": 0.5})
    assert list(summary["strategies"]) == ["zeta", "alpha"]
    assert summary["strategies"]["zeta"]["test"]["meets_goals"] is True
    assert summary["strategies"]["zeta"]["train"]["meets_goals"] is False
    assert summary["strategies"]["alpha"]["test"]["meets_goals"] is False
    assert summary["strategies"]["alpha"]["train"]["meets_goals"] is True
    text = summary_markdown(summary, {"zeta": "none", "alpha": "SMOTE"}, test_rows=10, test_positives=2)
    assert "(10 rows, 2 defaults)" in text
    assert "| `zeta` | none | 3 / 1 | 0.950 |" in text
    assert "accuracy ≥ 0.90 and F1 ≥ 0.50" in text
    assert "n/a" in text  # undefined ROC AUC is shown as such, not as 0
