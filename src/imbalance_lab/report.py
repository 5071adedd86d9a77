"""The cross-strategy comparison: summary table as JSON and Markdown."""

from __future__ import annotations

from typing import Mapping

from .metrics import LOWER_IS_BETTER

TEST_COLUMNS = ("accuracy", "precision", "recall", "f1", "balanced_accuracy", "roc_auc", "average_precision")
TRAIN_COLUMNS = ("accuracy", "precision", "recall", "f1")
LABELS = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "balanced_accuracy": "balanced acc.",
    "roc_auc": "ROC AUC",
    "average_precision": "avg. precision",
    "mcc": "MCC",
    "g_mean": "G-mean",
    "brier": "Brier",
}


def meets_goals(scores: Mapping, goals: Mapping[str, float]) -> bool:
    """Every goal reached: at least the goal, or at most it for a loss such as Brier."""
    def reached(metric: str, goal: float) -> bool:
        value = scores.get(metric)
        if value is None:
            return False
        return value <= goal if metric in LOWER_IS_BETTER else value >= goal

    return all(reached(metric, goal) for metric, goal in goals.items())


def summarize(metrics: Mapping[str, Mapping], goals: Mapping[str, float]) -> dict:
    """Per strategy (in the given order): headline scores and the goal check, per protocol."""
    summary = {}
    for name, result in metrics.items():
        summary[name] = {
            "resampled_counts": result["resampled"]["counts"],
            "test": {**{m: result["test"][m] for m in TEST_COLUMNS}, "meets_goals": meets_goals(result["test"], goals)},
            "train": {**{m: result["train"][m] for m in TRAIN_COLUMNS}, "meets_goals": meets_goals(result["train"], goals)},
        }
    return {"goals": dict(goals), "strategies": summary}


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _goal_text(goals: Mapping[str, float]) -> str:
    return " and ".join(
        f"{LABELS.get(metric, metric)} {'≤' if metric in LOWER_IS_BETTER else '≥'} {goal:.2f}"
        for metric, goal in goals.items()
    )


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def results_table(summary: Mapping, samplers: Mapping[str, str]) -> list[str]:
    """The held-out table, the one the README shows."""
    rows = []
    for name, entry in summary["strategies"].items():
        counts = entry["resampled_counts"]
        rows.append(
            [f"`{name}`", samplers[name], f"{counts.get('0', 0)} / {counts.get('1', 0)}"]
            + [_number(entry["test"][m]) for m in TEST_COLUMNS]
            + ["**yes**" if entry["test"]["meets_goals"] else "no"]
        )
    header = ["strategy", "sampler", "train rows after resampling (paid / defaulted)"]
    return _table(header + [LABELS[m] for m in TEST_COLUMNS] + ["meets goals"], rows)


def summary_markdown(summary: Mapping, samplers: Mapping[str, str], test_rows: int, test_positives: int) -> str:
    goals = summary["goals"]
    article_rows = [
        [f"`{name}`"] + [_number(entry["train"][m]) for m in TRAIN_COLUMNS]
        + ["**yes**" if entry["train"]["meets_goals"] else "no"]
        for name, entry in summary["strategies"].items()
    ]
    lines = [
        "# Results",
        "",
        f"Goals: {_goal_text(goals)} on the default class. A strategy's sampler resamples the training split only;",
        "every model is then scored on rows it never saw.",
        "",
        f"## Held-out test split ({test_rows} rows, {test_positives} defaults)",
        "",
        *results_table(summary, samplers),
        "",
        "## Article protocol: scored on the original training rows",
        "",
        "The article scored each model on the (un-resampled) rows it was trained on. These figures",
        "are kept only to check the article; they are not evidence of how a model generalises.",
        "",
        *_table(["strategy"] + [LABELS[m] for m in TRAIN_COLUMNS] + ["meets goals"], article_rows),
        "",
        "![Decision boundaries of every strategy](plots/boundaries.png)",
        "",
    ]
    return "\n".join(lines)
