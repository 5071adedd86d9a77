"""The Markdown reports: reports/summary.md from the report's sections, and the pull-request comment of
the workspace against a revision (`imbalance-lab compare-with REV`). Templates: summary.md.j2,
comparison.md.j2."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from imbalance_lab.evaluation.metrics import HEADLINE_METRICS
from imbalance_lab.reporting.formatting import code, format_number, goal_text, signed, train_protocol
from imbalance_lab.reporting.sections import Section
from imbalance_lab.reporting.templating import render

HEADLINE = tuple(f"{protocol}.{metric}" for protocol in ("cv", "test") for metric in HEADLINE_METRICS)


def render_markdown(sections: Sequence[Section]) -> str:
    return render("summary.md.j2", {"sections": sections})


def _headline_key(key: str) -> str | None:
    """'cv.f1.mean' -> 'cv.f1', 'test.f1' -> 'test.f1'; None for other metrics."""
    short = key[: -len(".mean")] if key.endswith(".mean") else key
    return short if short in HEADLINE else None


def _goal_cell(entry: Mapping | None) -> str:
    if entry is None:
        return "absent"
    # Summaries from before cross-validation kept the check inside each protocol's section.
    goals = entry.get("meets_goals") or {p: entry.get(p, {}).get("meets_goals") for p in ("cv", "test", "train")}
    return " / ".join("n/a" if goals.get(p) is None else "yes" if goals[p] else "no" for p in ("cv", "test", "train"))


def _goals_met(rev: str, summary_now: Mapping | None, summary_then: Mapping | None) -> dict | None:
    """Which cells meet the goals at ``rev`` and in the workspace (None when neither summary has a cell)."""
    now = (summary_now or {}).get("cells") or (summary_now or {}).get("strategies", {})  # before the grid: strategies
    then = (summary_then or {}).get("cells") or (summary_then or {}).get("strategies", {})
    names = list(now) + [name for name in then if name not in now]
    if not names:
        return None
    summary = summary_now or summary_then
    assert summary is not None  # a name came from one of them
    rows = []
    for name in names:
        before, after = _goal_cell(then.get(name)), _goal_cell(now.get(name))
        rows.append([code(name), before, after, "no" if before == after else "**yes**"])
    return {"text": goal_text(summary["goals"]), "protocol": train_protocol(summary.get("data")),
            "header": ["strategy", f"at {code(rev)}", "workspace", "changed"], "rows": rows}


def _headline_changes(rev: str, metrics_diff: Mapping) -> tuple[dict, int]:
    """The headline metrics that changed, as a table, and how many other metric values changed."""
    rows, others = [], 0
    for path, changes in sorted(metrics_diff.items()):
        for key, change in sorted(changes.items()):
            headline = _headline_key(key) if path.startswith("reports/metrics/") else None
            if headline is None:
                others += 1
                continue
            strategy = path.rsplit("/", 1)[-1].removesuffix(".json")
            rows.append([code(strategy), headline, format_number(change.get("old")), format_number(change.get("new")),
                         signed(change.get("diff"))])
    return {"header": ["strategy", "metric", code(rev), "workspace", "change"], "rows": rows}, others


def comparison_markdown(rev: str, metrics_diff: Mapping, params_diff: Mapping,
                        summary_now: Mapping | None, summary_then: Mapping | None) -> str:
    """A pull-request comment: which strategies meet the goals now and at ``rev``, the
    headline metrics that moved, and the settings that changed. Inputs are the JSON of
    `dvc metrics diff REV --json`, `dvc params diff REV --json` and both summaries."""
    headline, others = _headline_changes(rev, metrics_diff)
    settings = [[code(path), code(key), code(change.get("old")), code(change.get("new"))]
                for path, changes in sorted(params_diff.items()) for key, change in sorted(changes.items())]
    return render("comparison.md.j2", {
        "title": f"## imbalance-lab: workspace against {code(rev)}",
        "goals": _goals_met(rev, summary_now, summary_then),
        "headline": headline, "others": others, "command": code(f"dvc metrics diff {rev}"),
        "settings": {"header": ["file", "key", code(rev), "workspace"], "rows": settings},
    })
