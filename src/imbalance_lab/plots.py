"""Figures: the article's decision-boundary picture, resampled scatter, side-by-side grid."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from sklearn.inspection import DecisionBoundaryDisplay  # noqa: E402

CLASS_COLOURS = {0: "#1f77b4", 1: "#d62728"}
CLASS_NAMES = {0: "paid", 1: "defaulted"}
REGION_COLOURS = ListedColormap(["#dbe9f6", "#f8d5d5"])
# Fixed PNG metadata: no software version or date, so files are byte-stable.
PNG_METADATA = {"Software": None}


def _scatter_classes(ax, X, y, size: float = 12) -> None:
    x_name, y_name = X.columns[:2]
    for label in (0, 1):
        rows = np.asarray(y) == label
        ax.scatter(
            X.loc[rows, x_name], X.loc[rows, y_name], s=size, c=CLASS_COLOURS[label],
            label=f"{CLASS_NAMES[label]} ({int(rows.sum())})", edgecolors="white", linewidths=0.3,
        )
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)


def draw_decision_boundary(ax, model, X, y, threshold: float, grid_resolution: int) -> None:
    """Predicted region (default where probability >= threshold) under the points (X, y)."""
    DecisionBoundaryDisplay.from_estimator(
        model, X, response_method="predict_proba", plot_method="contourf",
        levels=[0.0, threshold, 1.0], cmap=REGION_COLOURS, grid_resolution=grid_resolution, eps=1.0, ax=ax,
    )
    _scatter_classes(ax, X, y)


def decision_boundary_figure(model, X, y, *, threshold: float, grid_resolution: int, title: str):
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    draw_decision_boundary(ax, model, X, y, threshold, grid_resolution)
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def resampled_figure(X, y, *, title: str):
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    _scatter_classes(ax, X, y, size=8)
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def boundaries_grid_figure(panels, X, y, *, grid_resolution: int):
    """All decision boundaries side by side; ``panels`` is a list of (title, model, threshold)."""
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.8 * rows), dpi=100, squeeze=False)
    for ax, (title, model, threshold) in zip(axes.flat, panels):
        draw_decision_boundary(ax, model, X, y, threshold, grid_resolution)
        ax.set_title(title, fontsize=9)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="upper right", fontsize=7)
    fig.suptitle("Decision boundaries over the training rows (red region: predicted default)", fontsize=11)
    fig.tight_layout()
    return fig


def cv_scores_figure(rows, *, metric: str, references: dict[str, float], goal: float | None):
    """Horizontal bars of cross-validated mean ± sd per strategy (``rows``: (name, mean, sd), best first)."""
    names = [name for name, _, _ in rows][::-1]
    means = [mean for _, mean, _ in rows][::-1]
    sds = [sd for _, _, sd in rows][::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.6), dpi=100)
    ax.barh(names, means, xerr=sds, color="#8fb3d9", ecolor="#333333", capsize=3)
    styles = iter(["--", ":", "-."])
    for label, value in references.items():
        ax.axvline(value, color="#d62728", linestyle=next(styles), linewidth=1, label=f"{label} ({value:.3f})")
    if goal is not None:
        ax.axvline(goal, color="#2ca02c", linewidth=1, label=f"goal ({goal:.2f})")
    ax.set_xlabel(f"cross-validated {metric} (mean ± sd over folds)")
    ax.set_xlim(left=0)
    if references or goal is not None:
        ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig


def curves_figure(curves: dict[str, dict[str, list[dict]]]):
    """PR and ROC curves of every strategy, overlaid (``curves``: name -> {"pr": rows, "roc": rows})."""
    fig, (pr_ax, roc_ax) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=100)
    for name, data in curves.items():
        pr_ax.plot([p["recall"] for p in data["pr"]], [p["precision"] for p in data["pr"]], label=name,
                   linewidth=1.2, drawstyle="steps-post")  # as sklearn's PrecisionRecallDisplay
        roc_ax.plot([p["fpr"] for p in data["roc"]], [p["tpr"] for p in data["roc"]], label=name, linewidth=1.2)
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (test split)")
    roc_ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle=":")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test split)")
    roc_ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig


def save_png(fig, path) -> None:
    fig.savefig(path, format="png", metadata=PNG_METADATA)
    plt.close(fig)
