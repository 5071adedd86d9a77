"""Figures: the article's decision-boundary picture, resampled scatter, side-by-side grid.

Pictures are drawn over two numeric features. With more features the others are held
at a typical value (median, or most frequent category), and scatters show at most
``MAX_POINTS`` rows picked by a fixed seed, so a million-row data set draws quickly.

Made to be read at a glance: every legend sits outside the data; the classes differ by
marker as well as colour, dark on the pale regions (contrast ratio above 4.5); overlaid
curves differ by colour, line style and marker, so identical curves stay visible.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.inspection import DecisionBoundaryDisplay  # noqa: E402

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
    from .report import printable

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
                           others=None, class_names=CLASS_NAMES) -> None:
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
    _scatter_classes(ax, X, y, features, class_names=class_names)


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


def boundaries_grid_figure(panels, X, y, *, grid_resolution: int, features=None, others=None,
                           class_names=CLASS_NAMES, note: str = ""):
    """All decision boundaries side by side; ``panels`` is a list of (title, model, threshold)."""
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.8 * rows + 0.5), dpi=100, squeeze=False,
                             layout="constrained")
    for ax, (title, model, threshold) in zip(axes.flat, panels):
        draw_decision_boundary(ax, model, X, y, threshold, grid_resolution, features, others, class_names)
        ax.set_title(_text(title), fontsize=9)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    if axes.flat[0].get_legend_handles_labels()[0]:  # one legend for every panel, under them all
        _legend_below(fig, axes.flat[0], _region_handles(class_names), ncol=4, fontsize=10)
    fig.suptitle(_text(f"Decision boundaries over the training rows (red region: flagged as {class_names[1]}){note}"),
                 fontsize=11)
    return fig


def cv_scores_figure(rows, *, metric: str, references: dict[str, float], goal: float | None):
    """Horizontal bars of cross-validated mean ± sd per strategy (``rows``: (name, mean, sd), best first)."""
    names = [_text(name) for name, _, _ in rows][::-1]
    means = [mean for _, mean, _ in rows][::-1]
    sds = [sd for _, _, sd in rows][::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 2.2), dpi=100, layout="constrained")
    ax.barh(names, means, xerr=sds, color="#8fb3d9", ecolor="#333333", capsize=3)
    styles = iter(["--", ":", "-."])
    for label, value in references.items():
        ax.axvline(value, color="#d62728", linestyle=next(styles), linewidth=1, label=f"{_text(label)} ({value:.3f})")
    if goal is not None:
        ax.axvline(goal, color="#2ca02c", linewidth=1, label=f"goal ({goal:.2f})")
    ax.set_xlabel(f"cross-validated {_text(metric)} (mean ± sd over folds)")
    ax.set_xlim(left=0)
    ax.set_title(f"Cross-validated {_text(metric)} per strategy, best first (bar: mean, whisker: ± sd)", fontsize=10)
    if references or goal is not None:
        _legend_below(fig, ax, ncol=3)
    return fig


def curves_figure(curves: dict[str, dict[str, list[dict]]]):
    """PR and ROC curves of every strategy, overlaid (``curves``: name -> {"pr": rows, "roc": rows})."""
    fig, (pr_ax, roc_ax) = plt.subplots(1, 2, figsize=(11, 5.5), dpi=100, layout="constrained")
    for i, (name, data) in enumerate(curves.items()):
        # Markers a tenth of the axes apart, each strategy's shifted: coinciding curves show every marker.
        style = {"label": _text(name), "color": f"C{i % 10}", "linestyle": LINE_STYLES[i % len(LINE_STYLES)],
                 "marker": CURVE_MARKERS[i % len(CURVE_MARKERS)], "markersize": 5, "linewidth": 1.4,
                 "markevery": (0.1 * (i % len(CURVE_MARKERS)) / len(CURVE_MARKERS), 0.1)}
        pr_ax.plot([p["recall"] for p in data["pr"]], [p["precision"] for p in data["pr"]],
                   drawstyle="steps-post", **style)  # as sklearn's PrecisionRecallDisplay
        roc_ax.plot([p["fpr"] for p in data["roc"]], [p["tpr"] for p in data["roc"]], **style)
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (test split)")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test split)")
    roc_ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle=":", label="chance")
    for ax in (pr_ax, roc_ax):  # a legend under each panel
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=9, frameon=False)
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
    if ax.get_legend() is not None:  # sklearn's legend sits on the data: one below the axes instead
        ax.get_legend().remove()
    ax.set(xlabel="mean predicted probability", ylabel="observed share of positives", xlim=(-0.02, 1.02),
           ylim=(-0.02, 1.02))
    ax.set_title(_text(title), fontsize=9)
    _legend_below(fig, ax)
    return fig


def calibration_grid_figure(panels):
    """One reliability diagram per classifier, one curve per strategy (the same strategies, in the same
    order, in every panel), from stored curve points: ``panels`` is a list of
    (title, [(label, prob_pred, prob_true), ...]) (sklearn's CalibrationDisplay)."""
    from sklearn.calibration import CalibrationDisplay

    columns = min(2, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.0 * columns, 5.2 * rows + 0.4), dpi=100, squeeze=False,
                             layout="constrained")
    for ax, (title, curves) in zip(axes.flat, panels):
        for i, (label, prob_pred, prob_true) in enumerate(curves):
            CalibrationDisplay(np.asarray(prob_true, dtype=float), np.asarray(prob_pred, dtype=float), None).plot(
                ax=ax, name=_text(label), ref_line=i == 0, **_curve_style(i))
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.set(xlabel="mean predicted probability", ylabel="observed share of positives", xlim=(-0.02, 1.02),
               ylim=(-0.02, 1.02))
        ax.set_title(_text(title), fontsize=10)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    _legend_below(fig, axes.flat[0], ncol=4, fontsize=9)  # the same strategies in every panel: one legend
    fig.suptitle("Calibration on the held-out test split (quantile bins; on the diagonal: right on average)",
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
    for ax, feature in zip(axes[0], features):
        # The display writes names as mathtext would read them, and "Partial dependence" on one panel only.
        ax.set(xlabel=_text(feature), ylabel="mean predicted probability of class 1")
    fig.suptitle(_text(f"{title} ({len(rows):,} rows; ticks: deciles of the feature)"), fontsize=10)
    return fig

def save_png(fig, path) -> None:
    fig.savefig(path, format="png", metadata=PNG_METADATA)
    plt.close(fig)
