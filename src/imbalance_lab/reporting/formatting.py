"""How the reports write figures and names: numbers, signed differences and intervals, metric labels, goals,
names as Markdown code spans, and the verdict sentences the Markdown, HTML and terminal reports share."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from imbalance_lab.evaluation.metrics import LOWER_IS_BETTER
from imbalance_lab.settings.text import printable

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
    "log_loss": "log loss",
    "cost_per_1000": "cost per 1,000",
}
# Shorter names of metrics for the terminal's column headers.
TERMINAL_LABELS = {"cost_per_1000": "cost"}
# A code span: a run of backticks, the text, the same run (Markdown's rule).
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def format_number(value, digits: int = 3) -> str:
    """A score with ``digits`` decimals; a large figure (a cost) in whole units with thousands separators."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def p_value_text(value) -> str:
    """A p-value in two significant digits; null (a test undefined on these scores) as 'undefined'."""
    return "undefined" if value is None else f"{value:.2g}"


def signed(value) -> str:
    """A difference with its sign, as format_number writes it."""
    if value is None:
        return "n/a"
    return f"{value:+,.0f}" if abs(value) >= 1000 else f"{value:+.3f}"


def is_number(value) -> bool:
    """A JSON number a float can hold (true and false are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        float(value)
    except OverflowError:  # an integer beyond a float's range
        return False
    return True


def excludes_zero(difference: Mapping) -> bool:
    """The interval lies on one side of 0: better or worse beyond the noise (the sign says which)."""
    return difference["low"] > 0 or difference["high"] < 0


def interval(difference: Mapping | None) -> str:
    """A paired difference as 'mean [low, high]', with ✓ when the interval excludes 0."""
    if not difference:
        return ""
    mark = " ✓" if excludes_zero(difference) else ""  # either way: the sign says which
    return f"{signed(difference['mean'])} [{signed(difference['low'])}, {signed(difference['high'])}]{mark}"


def yes(value: bool) -> str:
    return "**yes**" if value else "no"


def goal_text(goals: Mapping[str, float]) -> str:
    return " and ".join(
        f"{LABELS.get(metric, metric)} {'≤' if metric in LOWER_IS_BETTER else '≥'} {goal:.2f}"
        for metric, goal in goals.items()
    )


def confidence_text(summary: Mapping) -> str:
    """The summary's interval level as a percentage (a summary that does not say: "paired")."""
    confidence = summary.get("confidence")
    return f"{confidence:.0%}" if is_number(confidence) else "paired"


def train_protocol(data: Mapping | None) -> str:
    """The name of scoring on the training rows: the article's protocol, on the article's data only."""
    return "article" if (data or {}).get("source", "article") == "article" else "training rows"


def code(text) -> str:
    """A name as a Markdown code span (Markdown inside it is text, not a link or an image); its fence is longer
    than any run of backticks in it; control characters written as escapes."""
    text = printable(text)
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"{fence}{text}{fence}"


def code_text(span: re.Match) -> str:
    """What a code span (a CODE_SPAN match) shows: one space each side is padding when both are there."""
    text = span[2]
    return text[1:-1] if text[:1] == text[-1:] == " " and text.strip() else text


def verdict_line(summary: Mapping, classifier: str, markdown: bool = True) -> str:
    """For one classifier: does its best resampling cell beat its threshold-tuning cell beyond the noise?
    In the terminal (``markdown`` false) the figures go on a second, indented line."""
    found = summary["verdicts"][classifier]
    label = LABELS.get(summary["primary"], summary["primary"])
    label, name = (label, code) if markdown else (printable(TERMINAL_LABELS.get(summary["primary"], label)), printable)
    d = found["difference"]
    lower_better = summary["primary"] in LOWER_IS_BETTER
    ahead = d["high"] < 0 if lower_better else d["low"] > 0
    behind = d["low"] > 0 if lower_better else d["high"] < 0
    answer = ("yes, resampling beats threshold tuning beyond the noise" if ahead else
              "no, threshold tuning beats resampling beyond the noise" if behind else
              "no, not beyond the noise (the two are within it)")
    figures = (f"best resampling {name(found['resampling'])} vs {name(found['threshold'])}, "
               f"Δ CV {label} {signed(d['mean'])} [{signed(d['low'])}, {signed(d['high'])}]")
    return f"{answer}: {figures}" if markdown else f"{answer}\n  {figures}"

