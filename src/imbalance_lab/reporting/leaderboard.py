"""`imbalance-lab leaderboard`: the ranked cells of reports/summary.json as plain text for a terminal, within
its width (columns give way, long names wrap), every name with its control characters as escapes."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence

from imbalance_lab.evaluation.metrics import LOWER_IS_BETTER
from imbalance_lab.reporting.formatting import (
    LABELS,
    TERMINAL_LABELS,
    confidence_text,
    excludes_zero,
    format_number,
    goal_text,
    signed,
    verdict_line,
)
from imbalance_lab.reporting.summary import better, check_summary
from imbalance_lab.settings.text import printable

LEADERBOARD_WIDTH = 100  # `imbalance-lab leaderboard` fits this many columns (or a wider terminal's)
# The terminal leaderboard's columns that give way, in this order, when the table is wider than the width
# (README, "Looking at results"); `--wide` prints them all.
GIVE_WAY = ("test acc.", "test F1", "goals CV/test")


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
        side = "" if not delta or not excludes_zero(delta) else " better" if better(p, delta) else " worse"
        rows.append([
            str(entry["rank"]), printable(name),
            f"{format_number(cv[p]['mean'])} ± {format_number(cv[p]['sd'])}" if p in cv else "n/a",
            f"{signed(delta['mean'])}{side}" if delta else "",
            format_number(entry["test"]["f1"]), format_number(entry["test"]["accuracy"]),
            f"{'yes' if goals['cv'] else 'no'} / {'yes' if goals['test'] else 'no'}",
        ])
    table, left_out, wrapped = fit_table(header, rows, width, GIVE_WAY)
    table += _wrap_lines(not_fittable_lines(summary), width)  # after the ranked cells, unranked
    goals = printable(goal_text(summary["goals"]))
    verdicts = [line for classifier in summary["verdicts"]  # each: the answer, then the figures indented
                for line in f"{printable(classifier)}: {verdict_line(summary, classifier, markdown=False)}".split("\n")]
    unit = " customers" if p == "cost_per_1000" else ""
    footer = [f"Δ: against the same classifier's baseline, fold by fold; better/worse: beyond the noise "
              f"({confidence_text(summary)} CI)",
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

