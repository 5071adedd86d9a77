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
    p_value_text,
    signed,
    verdict_line,
)
from imbalance_lab.reporting.summary import SummaryError, better, check_summary
from imbalance_lab.settings.text import printable

LEADERBOARD_WIDTH = 100  # `imbalance-lab leaderboard` fits this many columns (or a wider terminal's)
# The terminal leaderboard's columns that give way, in this order, when the table is wider than the width
# (README, "Looking at results"); `--wide` prints them all.
GIVE_WAY = ("test acc.", "test F1", "goals CV/test")
# `imbalance-lab leaderboard --benchmark`: the mean-rank columns that give way, in this order
BENCHMARK_GIVE_WAY = ("rank: cost per 1,000", "rank: Brier", "rank: avg. precision")


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


GAP, FLOOR = 2, 6  # spaces between the terminal table's columns; the narrowest a wrapping column becomes


def _span(widths: Sequence[int]) -> int:
    """The width of a table of columns this wide."""
    return sum(widths) + GAP * (len(widths) - 1)


def _give_way(table: list[list[str]], width: int | None, give_way: Sequence[str]) -> list[str]:
    """Delete from ``table`` (header, then rows) the columns named in ``give_way``, in that order, while it is
    wider than ``width``; returns the headers left out."""
    left_out: list[str] = []
    for name in give_way:
        natural = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        if width is None or _span(natural) <= width:
            break
        if name in table[0]:
            index = table[0].index(name)
            left_out.append(name)
            for row in table:
                del row[index]
    return left_out


def _narrowed(natural: list[int], values: list[int], width: int) -> list[int]:
    """Column widths within ``width``, one character at a time: a header wider than its column's values
    (``values``: their widest) wraps first, then the widest column, none below FLOOR."""
    widths = list(natural)
    while _span(widths) > width:
        roomy = max(range(len(widths)), key=lambda i: widths[i] - max(values[i], FLOOR))
        widest = max(range(len(widths)), key=lambda i: widths[i])
        column = roomy if widths[roomy] > max(values[roomy], FLOOR) else widest
        if widths[column] <= FLOOR:
            break
        widths[column] -= 1
    return widths


def fit_table(header: list[str], rows: list[list[str]], width: int | None,
              give_way: Sequence[str] = ()) -> tuple[list[str], list[str], bool]:
    """A plain-text table within ``width`` columns (None: as wide as it is): the columns named in ``give_way``
    are left out, in that order, while it is too wide; then the widest of the others wrap (at a space,
    hyphen or underscore). Returns the lines, the headers left out, and whether a column wraps."""
    table = [list(header), *(list(row) for row in rows)]
    left_out = _give_way(table, width, give_way)
    natural = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    values = [max((len(row[i]) for row in table[1:]), default=0) for i in range(len(table[0]))]
    widths = natural if width is None else _narrowed(natural, values, width)
    lines = []
    for row in table:
        cells = [_wrap(cell, w) for cell, w in zip(row, widths, strict=True)]
        for depth in range(max(map(len, cells))):
            parts = [(cell[depth] if depth < len(cell) else "").ljust(w) for cell, w in zip(cells, widths, strict=True)]
            lines.append((" " * GAP).join(parts).rstrip())
    return lines, left_out, widths != natural


def _terminal_rows(summary: Mapping) -> list[list[str]]:
    """The ranked cells, best first: rank, name, score, difference to the baseline, test scores, goals."""
    p, rows = summary["primary"], []
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
    return rows


def _footer(summary: Mapping, width: int | None, left_out: Sequence[str], wrapped: bool) -> list[str]:
    """Under the table: each classifier's verdict (the answer, then the figures indented), what Δ and the goals
    mean, and what was left out or wrapped to fit."""
    verdicts = [line for classifier in summary["verdicts"]
                for line in f"{printable(classifier)}: {verdict_line(summary, classifier, markdown=False)}".split("\n")]
    footer = [f"Δ: against the same classifier's baseline, fold by fold; better/worse: beyond the noise "
              f"({confidence_text(summary)} CI)",
              f"goals: {printable(goal_text(summary['goals']))}; CV: repeated stratified k-fold on the training split"]
    if left_out or wrapped:
        what = [f"left out {', '.join(left_out)}"] if left_out else []
        what += ["wrapped long cells"] if wrapped else []
        footer.append(f"{' and '.join(what)} to fit {width} columns; imbalance-lab leaderboard --wide prints "
                      "every column")
    return ["", *verdicts, *([""] if verdicts else []), *footer]


def terminal_leaderboard(summary: Mapping, width: int | None = LEADERBOARD_WIDTH) -> str:
    """The ranked cells as plain text within ``width`` columns (None: every column, as wide as it is), for
    `imbalance-lab leaderboard`: the columns of GIVE_WAY give way in that order, then long names wrap, and
    a footer line says what was left out. Every name from the summary with its control characters as
    escapes (nothing reaches the terminal as a command). A summary without what it reads is a SummaryError."""
    check_summary(summary)
    p = summary["primary"]
    label, short = printable(LABELS.get(p, p)), printable(TERMINAL_LABELS.get(p, LABELS.get(p, p)))
    header = ["#", "cell", f"CV {short} mean ± sd", f"Δ {short} vs baseline", "test F1", "test acc.",
              "goals CV/test"]
    table, left_out, wrapped = fit_table(header, _terminal_rows(summary), width, GIVE_WAY)
    table += _wrap_lines(not_fittable_lines(summary), width)  # after the ranked cells, unranked
    unit = " customers" if p == "cost_per_1000" else ""
    title = f"cells ranked by cross-validated {label}{unit} ({'lower' if p in LOWER_IS_BETTER else 'higher'} is better)"
    footer = _wrap_lines(_footer(summary, width, left_out, wrapped), width)
    return "\n".join([*_wrap_lines([title], width), *table, *footer]) + "\n"


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



def ranked_cells(mean_rank: Mapping[str, float]) -> list[str]:
    """The cells best first (the lowest mean rank; ties by name): the file's keys are sorted by name."""
    return sorted(mean_rank, key=lambda cell: (mean_rank[cell], cell))


def benchmark_order(benchmark: Mapping) -> list[str]:
    """The ranked metrics, the primary first, then as the benchmark lists them."""
    from imbalance_lab.settings.values import BENCHMARK_METRICS

    primary = benchmark["metric"]
    return [primary, *(name for name in BENCHMARK_METRICS if name != primary and name in benchmark["rankings"])]


def benchmark_leaderboard(benchmark: Mapping, width: int | None = LEADERBOARD_WIDTH) -> str:
    """The cells ranked across data sets (reports/benchmark/summary.json) as plain text within ``width``
    columns, for `imbalance-lab leaderboard --benchmark`: mean rank per metric, wins/ties/losses against the
    baseline, the Friedman test, and the sets and cells left out. A summary without what it reads is a
    SummaryError."""
    try:
        metric, ranked, rankings = benchmark["metric"], benchmark["datasets"], benchmark["rankings"]
        left_out = [f"not ranked: data set {printable(name)}: {printable(why)}"
                    for name, why in benchmark["not_ranked_datasets"].items()]
        left_out += [f"not ranked: cell {printable(cell)}: {printable(why)}"
                     for cell, why in benchmark["not_ranked"].items()]
        if benchmark["friedman"] is None:
            return "\n".join(_wrap_lines([f"no ranking across data sets: {len(ranked)} set(s) ranked, 2 needed "
                                          "(benchmark.datasets in params.yaml)", *left_out], width)) + "\n"
        order = benchmark_order(benchmark)
        header = ["#", "cell", *(f"rank: {LABELS.get(name, name)}" for name in order),
                  f"{TERMINAL_LABELS.get(metric, LABELS.get(metric, metric))} vs baseline W/T/L"]
        rows = []
        for position, cell in enumerate(ranked_cells(benchmark["mean_rank"]), start=1):
            record = benchmark["win_tie_loss"].get(cell)
            rows.append([str(position), printable(cell),
                         *(format_number(rankings[name]["mean_rank"][cell], 2) if cell in rankings[name]["mean_rank"]
                           else f"= {printable(rankings[name]['same_as'][cell])}" for name in order),
                         "" if record is None else f"{record['win']}/{record['tie']}/{record['loss']}"])
        friedman, difference = benchmark["friedman"], rankings[metric]["critical_difference"]
        title = (f"cells ranked across {len(ranked)} data sets by mean rank on {LABELS.get(metric, metric)} (1 = "
                 f"best); Friedman p = {p_value_text(friedman['p_value'])}")
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise SummaryError(f"{type(err).__name__}: {err}") from None
    table, gave_way, wrapped = fit_table(header, rows, width, BENCHMARK_GIVE_WAY)
    footer = [f"mean ranks closer than {difference:.2f} (the critical difference, Nemenyi at 0.05) are not told "
              "apart; W/T/L: data sets where the cell beat, tied or lost to its classifier's baseline (paired "
              "interval)", *left_out]
    if gave_way or wrapped:
        what = [f"left out {', '.join(gave_way)}"] if gave_way else []
        what += ["wrapped long cells"] if wrapped else []
        footer.append(f"{' and '.join(what)} to fit {width} columns; --wide prints every column")
    return "\n".join([*_wrap_lines([title], width), *table, "", *_wrap_lines(footer, width)]) + "\n"
