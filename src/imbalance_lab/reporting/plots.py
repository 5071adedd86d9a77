"""Figures: the article's decision-boundary picture, resampled scatter, side-by-side grid.

Pictures are drawn over two numeric features. With more features the others are held
at a typical value (median, or most frequent category), and scatters show at most
``MAX_POINTS`` rows picked by a fixed seed, so a million-row data set draws quickly.

Made to be read at a glance: every legend sits outside the data; the classes differ by
marker as well as colour, dark on the pale regions (contrast ratio above 4.5); overlaid
curves differ by colour, line style and marker, so identical curves stay visible.

The comparison's pictures scale with the grid (up to 7 classifiers x 8 strategies and beyond): one panel per
classifier (curves, calibration) or a strategies-by-classifiers table (boundaries), sizes from the number of
columns within bounds, each strategy in one colour and marker in every picture (strategy_styles), one legend
outside the panels, and a curve that coincides with an earlier one dashed on top and named in the legend.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.inspection import DecisionBoundaryDisplay

# Dark points on pale regions; the classes also differ by marker (colour-blind readers).
CLASS_COLOURS = {0: "#08519c", 1: "#b2182b"}
CLASS_MARKERS = {0: "o", 1: "^"}
CLASS_NAMES = {0: "paid", 1: "defaulted"}
REGION_COLOURS = ListedColormap(["#dbe9f6", "#f8d5d5"])
# Overlaid curves: strategy i gets colour C{i % 10}, LINE_STYLES[i % 4] and CURVE_MARKERS[i % 7]
# (4 and 7 share no factor: 28 strategies before a style and marker pair repeats).
LINE_STYLES = ["-", "--", "-.", ":"]
CURVE_MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
# Fixed PNG metadata: no software version or date, so files are byte-stable.
PNG_METADATA = {"Software": None}
MAX_POINTS = 20_000


class TwoFeatureView(ClassifierMixin, BaseEstimator):
    """A fitted model seen as a function of two features, the others held at ``others``.

    Lets sklearn's DecisionBoundaryDisplay draw a model that takes more than two features.
    """

    def __init__(self, model=None, features=(), others=None):
        self.model = model
        self.features = features
        self.others = others

    def fit(self, X, y=None):  # already fitted: the wrapped model is
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    @property
    def classes_(self):
        return self.model.classes_

    def predict_proba(self, X):
        import pandas as pd

        grid = pd.DataFrame(np.asarray(X), columns=list(self.features))
        for name, value in self.others.items():  # not DataFrame.assign(**...): a column may be named `self`
            if name not in self.features:
                grid[name] = value
        return self.model.predict_proba(grid[list(self.model.feature_names_in_)])


def _text(name) -> str:
    """A name from the data or params as figure text: ``$`` escaped so matplotlib never reads mathtext, control
    characters as escapes (``\\x1b``); a newline of our own stays a line break."""
    from imbalance_lab.settings.text import printable

    return "\n".join(printable(line) for line in str(name).split("\n")).replace("$", r"\$")


def shown_rows(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Which of ``n`` rows a scatter draws: all, or ``max_points`` picked with a fixed seed."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, max_points, replace=False))


def _no_picture(ax, features) -> None:
    ax.text(0.5, 0.5, f"no picture: needs two numeric features (found {len(features)})",
            ha="center", va="center", transform=ax.transAxes, fontsize=9)
    ax.set_axis_off()


def _scatter_classes(ax, X, y, features, size: float = 12, class_names=CLASS_NAMES) -> None:
    x_name, y_name = features
    y = np.asarray(y)
    shown = shown_rows(len(y))
    X, labels = X.iloc[shown], y[shown]
    for label in (0, 1):
        rows = labels == label
        ax.scatter(
            X.loc[rows, x_name], X.loc[rows, y_name], s=size * (1 + label), c=CLASS_COLOURS[label],
            marker=CLASS_MARKERS[label], label=f"{_text(class_names[label])} ({int((y == label).sum())})",
            edgecolors="white", linewidths=0.4,
        )
    ax.set_xlabel(_text(x_name))
    ax.set_ylabel(_text(y_name))


def _region_handles(class_names) -> list[Patch]:
    """Legend entries for the two predicted regions."""
    return [Patch(facecolor=REGION_COLOURS(label), edgecolor="#888888", linewidth=0.5,
                  label=f"region predicted {_text(class_names[label])}") for label in (0, 1)]


def _legend_below(fig, ax, extra=(), ncol: int = 2, fontsize: float = 8) -> None:
    """The figure's legend under the axes, outside the data (needs a constrained layout)."""
    handles, labels = ax.get_legend_handles_labels()
    handles += list(extra)
    labels += [handle.get_label() for handle in extra]
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=fontsize, markerscale=1.5,
                   frameon=False)


def draw_decision_boundary(ax, model, X, y, threshold: float, grid_resolution: int, features=None,
                           others=None, class_names=CLASS_NAMES, size: float = 12) -> None:
    """Predicted region (positive where probability >= threshold) under the points (X, y).

    ``features``: the two columns to draw over (default: X's first two); ``others``: the
    values the remaining columns are held at.
    """
    features = list(X.columns[:2]) if features is None else list(features)
    if len(features) < 2:
        return _no_picture(ax, features)
    if list(X.columns) != features:
        model = TwoFeatureView(model, tuple(features), others)
    DecisionBoundaryDisplay.from_estimator(
        model, X[features], response_method="predict_proba", plot_method="contourf",
        levels=[0.0, threshold, 1.0], cmap=REGION_COLOURS, grid_resolution=grid_resolution, eps=1.0, ax=ax,
    )
    _scatter_classes(ax, X, y, features, size=size, class_names=class_names)


def decision_boundary_figure(model, X, y, *, threshold: float, grid_resolution: int, title: str, features=None,
                             others=None, class_names=CLASS_NAMES):
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=100, layout="constrained")
    draw_decision_boundary(ax, model, X, y, threshold, grid_resolution, features, others, class_names)
    ax.set_title(_text(title), fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        _legend_below(fig, ax, _region_handles(class_names))
    return fig


def resampled_figure(X, y, *, title: str, features=None, class_names=CLASS_NAMES):
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=100, layout="constrained")
    features = list(X.columns[:2]) if features is None else list(features)
    if len(features) < 2:
        _no_picture(ax, features)
    else:
        _scatter_classes(ax, X, y, features, size=8, class_names=class_names)
        _legend_below(fig, ax)
    ax.set_title(_text(title), fontsize=9)
    return fig


def _curve_style(i: int) -> dict:
    """Overlaid curve i's colour, line style and marker (see LINE_STYLES)."""
    return {"color": f"C{i % 10}", "linestyle": LINE_STYLES[i % len(LINE_STYLES)],
            "marker": CURVE_MARKERS[i % len(CURVE_MARKERS)], "markersize": 5, "linewidth": 1.4}


def reliability_figure(entries, *, n_bins: int, strategy: str, title: str):
    """Reliability diagram: observed share of positives per bin of predicted probability, one curve
    per (label, y_true, y_score) in ``entries``, over the perfectly calibrated diagonal.

    The curves are sklearn's CalibrationDisplay (calibration_curve with ``n_bins`` and ``strategy``).
    """
    from sklearn.calibration import CalibrationDisplay

    fig, ax = plt.subplots(figsize=(6.4, 5.8), dpi=100, layout="constrained")
    for i, (label, y_true, y_score) in enumerate(entries):
        CalibrationDisplay.from_predictions(y_true, y_score, n_bins=n_bins, strategy=strategy, ax=ax,
                                            name=_text(label), ref_line=i == 0, **_curve_style(i))
    legend = ax.get_legend()
    if legend is not None:  # sklearn's legend sits on the data: one below the axes instead
        legend.remove()
    ax.set(xlabel="mean predicted probability", ylabel="observed share of positives", xlim=(-0.02, 1.02),
           ylim=(-0.02, 1.02))
    ax.set_title(_text(title), fontsize=9)
    _legend_below(fig, ax)
    return fig


# --- summary pictures (compare): every cell of the grid, one panel per classifier ---------------------------------

# Each strategy has one colour and one marker in every summary picture and every run: the shipped strategies
# (params.yaml's order) take tab10's colours in this order (grey, C7, is left for reference lines); other
# strategies take the colours left over, in the order of their names, then tab20's paler ones.
SHIPPED_STRATEGIES = ("baseline", "smote", "enn", "smoteenn", "knn_smote", "balanced", "tuned_threshold", "scorecard")
STRATEGY_COLOURS = [matplotlib.colors.to_hex(plt.get_cmap("tab10")(i)) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)] + [
    matplotlib.colors.to_hex(plt.get_cmap("tab20")(i)) for i in (1, 3, 5, 7, 9, 11, 13, 17, 19)]
STRATEGY_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p", "d", "H", "8"]
REFERENCE_COLOUR = "#222222"  # diagonals, chance lines
# Figure sizes (inches at 100 dpi): a picture's row of panels fills at most MAX_WIDTH inches (plus its legend),
# each panel shrinking with the number of columns down to a readable least size (see _panel_size).
MAX_WIDTH = 15.0


def strategy_styles(strategies) -> dict[str, dict]:
    """Each strategy's colour and marker, fixed by its name (see STRATEGY_COLOURS): the same in every picture."""
    styles, free = {}, iter(range(len(SHIPPED_STRATEGIES), 10**6))
    for name in dict.fromkeys(strategies):
        if name in SHIPPED_STRATEGIES:
            styles[name] = SHIPPED_STRATEGIES.index(name)
    for name in sorted(set(strategies) - set(styles)):
        styles[name] = next(free)
    return {name: {"color": STRATEGY_COLOURS[i % len(STRATEGY_COLOURS)],
                   "marker": STRATEGY_MARKERS[i % len(STRATEGY_MARKERS)]} for name, i in styles.items()}


def _cells_of(names, cells) -> dict[str, tuple[str, str]]:
    """name -> (strategy, classifier); without ``cells`` each name is a strategy of one unnamed classifier."""
    return {name: tuple(cells[name]) if cells is not None else (name, "") for name in names}


def _duplicates(curves: dict) -> dict:
    """strategy -> the strategy drawn earlier in the same panel with the very same points (if any);
    ``curves``: strategy -> arrays, in drawing order."""
    seen: list[tuple[str, tuple]] = []
    same: dict[str, str] = {}
    for name, arrays in curves.items():
        for other, earlier in seen:
            if all(np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
                   for a, b in zip(arrays, earlier, strict=True)):
                same[name] = other
                break
        else:
            seen.append((name, arrays))
    return same


def _strategy_label(strategy: str, same: dict[str, dict], present: dict[str, set]) -> str:
    """A strategy's legend text, saying which other strategy's curve it coincides with (``same``: panel ->
    {strategy: earlier strategy}), and in which panels when not in every panel that has both
    (``present``: panel -> its strategies)."""
    earlier: dict[str, list[str]] = {}
    for panel, pairs in same.items():
        if strategy in pairs:
            earlier.setdefault(pairs[strategy], []).append(panel)
    text = _text(strategy)
    for other, where in earlier.items():
        both = [panel for panel, names in present.items() if {strategy, other} <= names]
        text += (f"\n(same curve as {_text(other)})" if len(where) == len(both)
                 else f"\n(same as {_text(other)}: {', '.join(map(_text, where))})")
    return text


def _strategy_style(strategy: str, styles: dict, duplicate: bool) -> dict:
    """A curve's style: its strategy's colour and marker; one that coincides with a curve drawn before it
    in its panel is dashed, thinner and with smaller markers, on top, so both stay visible."""
    style = {"color": styles[strategy]["color"], "marker": styles[strategy]["marker"], "linestyle": "-",
             "linewidth": 1.5, "markersize": 6, "zorder": 2}
    if duplicate:
        style.update(linestyle=(0, (3, 2)), linewidth=1.2, markersize=3, zorder=3)
    return style


def _strategy_legend(fig, strategies, styles, same, present, extra=(), fontsize: float = 9) -> None:
    """One legend for every panel, right of them, halfway down (constrained layout keeps it inside the picture,
    clear of the title)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=styles[s]["color"], marker=styles[s]["marker"], linestyle="-", linewidth=1.5,
                      markersize=6, label=_strategy_label(s, same, present)) for s in strategies]
    handles += list(extra)
    fig.legend(handles=handles, loc="outside right center", fontsize=fontsize, frameon=False,
               title="strategy (colour, marker)", title_fontsize=fontsize)


def _panel_size(columns: int, large: tuple[float, float], small: tuple[float, float], budget: float = MAX_WIDTH):
    """A panel's width and height (inches): the row of ``columns`` panels fills ``budget`` inches, each panel
    between ``small`` and ``large`` (same aspect as ``large``), so a picture grows with the grid up to a bound."""
    width = min(large[0], max(small[0], budget / columns))
    return width, width * large[1] / large[0]


def _wrapped(text: str, width: float, fontsize: float) -> str:
    """``text`` broken into lines that fit ``width`` inches at ``fontsize`` (a title of a narrow picture)."""
    import textwrap

    limit = max(20, int(width * 72 / (fontsize * 0.6)))
    return "\n".join(textwrap.fill(line, limit, break_long_words=False) for line in text.split("\n"))


def _header(name: str, length: float, fontsize: float) -> str:
    """A table header of at most ``length`` inches: broken after underscores when longer."""
    limit = max(6, int(length * 72 / (fontsize * 0.62)))
    lines = [""]
    for part in str(name).replace("_", "_\0").split("\0"):
        if lines[-1] and len(lines[-1]) + len(part) > limit:
            lines.append("")
        lines[-1] += part
    return _text("\n".join(lines))


def _classifier_order(cells: dict) -> list[str]:
    return list(dict.fromkeys(classifier for _, classifier in cells.values()))


def _panel_title(classifier: str, what: str) -> str:
    return f"{_text(classifier)}: {what}" if classifier else what


def _not_fitted(ax) -> None:
    """A slot of the table whose cell was not given (not fitted): empty, labelled, greyed."""
    ax.text(0.5, 0.5, "not fitted", ha="center", va="center", transform=ax.transAxes, fontsize=9, color="#555555")
    ax.set(xticks=[], yticks=[])
    for spine in ax.spines.values():
        spine.set_color("#bbbbbb")


def _few_ticks(ax) -> None:
    """Few, small ticks: small panels read better, and 56 panels draw faster."""
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(labelsize=7)
    ax.xaxis.label.set_fontsize(8)
    ax.yaxis.label.set_fontsize(8)


def _table_headers(axes, row_names, column_names, width: float, height: float) -> None:
    """The column's name over the top row, the row's name left of the first column."""
    for c, name in enumerate(column_names):
        axes[0, c].annotate(_header(name, width, 10), xy=(0.5, 1), xycoords=axes[0, c].title, xytext=(0, 3),
                            textcoords="offset points", ha="center", va="bottom", fontsize=10, weight="bold")
    for r, name in enumerate(row_names):
        axes[r, 0].annotate(_header(name, height, 10), xy=(0, 0.5), xycoords=axes[r, 0].yaxis.label, xytext=(-4, 0),
                            textcoords="offset points", ha="right", va="center", rotation=90, fontsize=10,
                            weight="bold")


def boundaries_grid_figure(panels, X, y, *, grid_resolution: int, features=None, others=None,
                           class_names=CLASS_NAMES, note: str = "", cells=None):
    """All decision boundaries side by side; ``panels`` is a list of (title, model, threshold).

    ``cells``: each panel's (strategy, classifier). With two or more of each, the panels form a table
    (strategies along the longer side, classifiers along the other; a cell not given stays an empty, labelled
    slot) and the titles only say the figures; otherwise they wrap into a near-square grid, titled
    ``<cell>: <title>``.
    """
    from imbalance_lab.settings.params import cell_name

    count = len(panels)
    strategies = list(dict.fromkeys(s for s, _ in cells)) if cells else []
    classifiers = list(dict.fromkeys(c for _, c in cells)) if cells else []
    table = len(strategies) > 1 and len(classifiers) > 1
    if table:
        row_names, column_names = ((classifiers, strategies) if len(strategies) >= len(classifiers)
                                   else (strategies, classifiers))
        rows, columns = len(row_names), len(column_names)
    else:
        columns = count if count <= 3 else min(8, math.ceil(math.sqrt(count)))
        rows = math.ceil(count / columns)
    width, height = _panel_size(columns, (4.6, 4.0), (1.9, 1.65))
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns + 0.6, (height + 0.3) * rows + 1.0), dpi=100,
                             squeeze=False, layout="constrained")  # not shared: linking 56 axes costs seconds
    small = width < 3.0
    if table:
        slot = {}
        for (strategy, classifier), panel in zip(cells, panels, strict=True):
            row, column = ((classifier, strategy) if row_names is classifiers else (strategy, classifier))
            slot[row_names.index(row), column_names.index(column)] = panel
        placed = [(axes[r, c], slot.get((r, c))) for r in range(rows) for c in range(columns)]
    else:
        titled = [(f"{cell_name(*cell)}: {title}" if cells else title, model, threshold)
                  for cell, (title, model, threshold) in zip(cells or [None] * count, panels, strict=True)]
        # a wrapped grid has more axes than panels: those past the last panel are left empty
        placed = list(zip(axes.flat, titled, strict=False)) + [(ax, False) for ax in axes.flat[count:]]
    for ax, panel in placed:
        if panel is False:  # past the last panel of a wrapped grid
            ax.set_visible(False)
        elif panel is None:  # a cell of the table that was not given (not fitted)
            _not_fitted(ax)
        else:
            title, model, threshold = panel
            draw_decision_boundary(ax, model, X, y, threshold, grid_resolution, features, others, class_names,
                                   size=6 if small else 12)
            ax.set_title(_text(title), fontsize=8 if small else 9)
        if small and panel:
            _few_ticks(ax)
        ax.label_outer()  # every panel spans the same feature ranges: tick labels on the outer panels only
    if table:
        _table_headers(axes, row_names, column_names, width, height)
    first = next((ax for ax, panel in placed if panel), axes.flat[0])
    if first.get_legend_handles_labels()[0]:  # one legend for every panel, under them all
        _legend_below(fig, first, _region_handles(class_names), ncol=4 if columns > 1 else 2, fontsize=10)
    fig.suptitle(_wrapped(_text(f"Decision boundaries over the training rows, per cell (red region: flagged as "
                                f"{class_names[1]}){note}"), fig.get_figwidth(), 11), fontsize=11)
    return fig


def cv_scores_figure(rows, *, metric: str, references: dict[str, float], goal: float | None, cells=None):
    """Horizontal bars of cross-validated mean ± sd per cell (``rows``: (name, mean, sd), best first), each
    coloured by its strategy (``cells``: name -> (strategy, classifier); without it a name is a strategy)."""
    from matplotlib.patches import Patch

    order = list(cells or [])  # the legend lists the strategies in the grid's order
    cells = _cells_of([name for name, _, _ in rows], cells)
    strategies = list(dict.fromkeys(cells[name][0] for name in sorted(cells, key=lambda n: (
        order.index(n) if n in order else len(order)))))
    styles = strategy_styles(strategies)
    names = [_text(name) for name, _, _ in rows][::-1]
    means = [mean for _, mean, _ in rows][::-1]
    sds = [sd for _, _, sd in rows][::-1]
    colours = [styles[cells[name][0]]["color"] for name, _, _ in rows][::-1]
    pitch = min(0.45, max(0.24, 7.0 / max(len(rows), 1)))  # inches per bar: 12 cells 0.45, 56 cells 0.24
    fig, ax = plt.subplots(figsize=(9.5, pitch * len(rows) + 2.4), dpi=100, layout="constrained")
    ax.barh(names, means, xerr=sds, color=colours, ecolor="#333333", capsize=2 if pitch < 0.4 else 3,
            error_kw={"linewidth": 1})
    ax.tick_params(axis="y", labelsize=10 if pitch >= 0.4 else 8)
    ax.margins(y=0.5 / max(len(rows), 1))
    styles_iter = iter(["--", ":", "-."])
    for label, value in references.items():
        ax.axvline(value, color="#d62728", linestyle=next(styles_iter), linewidth=1,
                   label=f"{_text(label)} ({value:.3f})")
    if goal is not None:
        ax.axvline(goal, color="#2ca02c", linewidth=1, label=f"goal ({goal:.2f})")
    ax.set_xlabel(f"cross-validated {_text(metric)} (mean ± sd over folds)")
    ax.set_xlim(left=0)
    ax.set_title(f"Cross-validated {_text(metric)} per cell (strategy-classifier), best first\n"
                 "bar: mean, whisker: ± sd; colour: strategy", fontsize=10)
    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(color=styles[s]["color"], label=_text(s)) for s in strategies]
    fig.legend(handles=handles, loc="outside right upper", fontsize=9, frameon=False)
    return fig


def curves_figure(curves: dict[str, dict[str, list[dict]]], cells=None):
    """PR and ROC curves of every cell (``curves``: name -> {"pr": rows, "roc": rows}): a precision-recall and
    a ROC panel per classifier (``cells``: name -> (strategy, classifier); without it every name is a
    strategy of one classifier), each strategy in its own colour and marker, one legend for all."""
    from matplotlib.lines import Line2D

    cells = _cells_of(curves, cells)
    classifiers = _classifier_order(cells)
    strategies = list(dict.fromkeys(strategy for strategy, _ in cells.values()))
    styles = strategy_styles(strategies)
    blocks = 1 if len(classifiers) <= 2 else 2  # a classifier's PR and ROC side by side, 1 or 2 classifiers a row
    rows = math.ceil(len(classifiers) / blocks)
    width, height = _panel_size(2 * blocks, (4.4, 3.9), (3.1, 2.75), budget=12.4)
    fig, axes = plt.subplots(rows, 2 * blocks, figsize=(width * 2 * blocks + 2.6, height * rows + 0.6), dpi=100,
                             squeeze=False, layout="constrained")
    same, present = {}, {}
    for index, classifier in enumerate(classifiers):
        pr_ax, roc_ax = axes[index // blocks, 2 * (index % blocks):2 * (index % blocks) + 2]
        mine = {strategy: curves[name] for name, (strategy, c) in cells.items() if c == classifier}
        points = {s: ([p["recall"] for p in d["pr"]], [p["precision"] for p in d["pr"]],
                      [p["fpr"] for p in d["roc"]], [p["tpr"] for p in d["roc"]]) for s, d in mine.items()}
        duplicates = same[classifier] = _duplicates(points)
        present[classifier] = set(points)
        for i, (strategy, (recall, precision, fpr, tpr)) in enumerate(points.items()):
            # Markers a tenth of the axes apart, each strategy's shifted: coinciding curves show every marker.
            style = {**_strategy_style(strategy, styles, strategy in duplicates), "label": _text(strategy),
                     "gid": f"{strategy}|{classifier}", "markevery": (0.1 * (i % 7) / 7, 0.1)}
            pr_ax.plot(recall, precision, drawstyle="steps-post", **style)  # as sklearn's PrecisionRecallDisplay
            roc_ax.plot(fpr, tpr, **style)
        roc_ax.plot([0, 1], [0, 1], color=REFERENCE_COLOUR, linewidth=0.8, linestyle=":", zorder=1)
        pr_ax.set(xlabel="recall", ylabel="precision", xlim=(-0.02, 1.02), ylim=(-0.02, 1.05))
        roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(-0.02, 1.02), ylim=(-0.02, 1.05))
        pr_ax.set_title(_panel_title(classifier, "precision-recall"), fontsize=10)
        roc_ax.set_title(_panel_title(classifier, "ROC"), fontsize=10)
    for ax in axes.flat[2 * len(classifiers):]:
        ax.set_visible(False)
    chance = Line2D([], [], color=REFERENCE_COLOUR, linewidth=0.8, linestyle=":", label="chance (ROC)")
    _strategy_legend(fig, strategies, styles, same, present, extra=[chance])
    fig.suptitle("Precision-recall and ROC curves per cell on the test split"
                 + (", one pair of panels per classifier" if len(classifiers) > 1 else ""), fontsize=11)
    return fig


def calibration_grid_figure(panels):
    """One reliability diagram per classifier, one curve per strategy, from stored curve points: ``panels`` is
    a list of (title, [(strategy, prob_pred, prob_true), ...]) (sklearn's CalibrationDisplay). Each strategy
    has its own colour and marker, one legend for all panels."""
    from matplotlib.lines import Line2D
    from sklearn.calibration import CalibrationDisplay

    strategies = list(dict.fromkeys(label for _, curves in panels for label, _, _ in curves))
    styles = strategy_styles(strategies)
    columns = len(panels) if len(panels) <= 3 else math.ceil(math.sqrt(len(panels)))
    rows = math.ceil(len(panels) / columns)
    width, height = _panel_size(columns, (5.2, 4.7), (3.6, 3.25), budget=11.0)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns + 2.6, height * rows + 0.6), dpi=100,
                             squeeze=False, layout="constrained")
    same, present = {}, {}
    for ax, (title, curves) in zip(axes.flat, panels, strict=False):  # the grid may have more axes
        points = {label: (prob_pred, prob_true) for label, prob_pred, prob_true in curves}
        duplicates = same[title] = _duplicates(points)
        present[title] = set(points)
        for label, (prob_pred, prob_true) in points.items():
            CalibrationDisplay(np.asarray(prob_true, dtype=float), np.asarray(prob_pred, dtype=float), None).plot(
                ax=ax, name=_text(label), ref_line=False, gid=f"{label}|{title}",
                **_strategy_style(label, styles, label in duplicates))
        ax.plot([0, 1], [0, 1], color=REFERENCE_COLOUR, linewidth=0.8, linestyle=":", zorder=1)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.set(xlabel="mean predicted probability", ylabel="observed share of positives", xlim=(-0.02, 1.02),
               ylim=(-0.02, 1.02))
        ax.set_title(_text(title), fontsize=10)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    diagonal = Line2D([], [], color=REFERENCE_COLOUR, linewidth=0.8, linestyle=":", label="perfectly calibrated")
    _strategy_legend(fig, strategies, styles, same, present, extra=[diagonal])
    fig.suptitle("Calibration per cell on the held-out test split\n(quantile bins; on the diagonal: right on average)",
                 fontsize=11)
    return fig


def sample_rows(n: int, max_rows: int, seed: int) -> np.ndarray:
    """Which of ``n`` rows to use: all, or ``max_rows`` picked with ``seed`` (in their order)."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))


def partial_dependence_figure(model, X, *, features, title: str, max_rows: int = 2000, seed: int = 0,
                              grid_resolution: int = 50):
    """Partial dependence of the predicted probability of class 1 on each named numeric feature (one
    panel each): the model's mean prediction over the rows when that feature is set to each grid value.

    sklearn's PartialDependenceDisplay with the brute method, so any fitted classifier with
    predict_proba works (pipelines included), on at most ``max_rows`` rows of X picked with ``seed``.
    """
    from sklearn.inspection import PartialDependenceDisplay

    features = list(features)
    rows = X.iloc[sample_rows(len(X), max_rows, seed)]
    # sklearn refuses integer columns (its grid values would be rounded): the model sees them as floats.
    rows = rows.astype({name: float for name in features if rows[name].dtype.kind in "iu"})
    fig, axes = plt.subplots(1, len(features), figsize=(4.2 * len(features) + 0.6, 4.4), dpi=100, squeeze=False,
                             layout="constrained")
    PartialDependenceDisplay.from_estimator(model, rows, features, response_method="predict_proba", method="brute",
                                            grid_resolution=grid_resolution, kind="average", ax=axes[0])
    for ax, feature in zip(axes[0], features, strict=True):
        # The display writes names as mathtext would read them, and "Partial dependence" on one panel only.
        ax.set(xlabel=_text(feature), ylabel="mean predicted probability of class 1")
    fig.suptitle(_text(f"{title} ({len(rows):,} rows; ticks: deciles of the feature)"), fontsize=10)
    return fig


def save_png(fig, path) -> None:
    fig.savefig(path, format="png", metadata=PNG_METADATA)
    plt.close(fig)
