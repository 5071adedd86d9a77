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


def boundaries_grid_figure(panels, X, y, *, threshold: float, grid_resolution: int):
    """All decision boundaries side by side; ``panels`` is a list of (title, model)."""
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.8 * rows), dpi=100, squeeze=False)
    for ax, (title, model) in zip(axes.flat, panels):
        draw_decision_boundary(ax, model, X, y, threshold, grid_resolution)
        ax.set_title(title, fontsize=9)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="upper right", fontsize=7)
    fig.suptitle("Decision boundaries over the training rows (red region: predicted default)", fontsize=11)
    fig.tight_layout()
    return fig


def save_png(fig, path) -> None:
    fig.savefig(path, format="png", metadata=PNG_METADATA)
    plt.close(fig)
