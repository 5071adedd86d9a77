"""Figures (imbalance_lab.plots): names from the data are drawn as written, never as mathtext."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.cbook import is_math_text
from sklearn.linear_model import LogisticRegression

from imbalance_lab.plots import (
    boundaries_grid_figure,
    curves_figure,
    cv_scores_figure,
    decision_boundary_figure,
    resampled_figure,
)

NAME = "$x^^$"  # invalid mathtext: matplotlib fails to draw it unless the dollars are escaped


def shows_literally(text: str, name: str = NAME) -> bool:
    """Matplotlib draws ``text`` as plain text, with ``name`` in it as written."""
    return not is_math_text(text) and name in text.replace(r"\$", "$")


def rendered(fig) -> plt.Figure:
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    return fig


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({NAME: rng.normal(size=60), "b": rng.normal(size=60)})
    y = (X[NAME] > 0.5).astype(int).to_numpy()
    return X, y, LogisticRegression().fit(X, y)


def test_names_with_dollars_render_as_written(data):
    X, y, model = data
    names = {0: f"{NAME} not yes", 1: f"{NAME} yes"}
    figures = [
        decision_boundary_figure(model, X, y, threshold=0.5, grid_resolution=20, title=NAME, class_names=names),
        resampled_figure(X, y, title=NAME, class_names=names),
        boundaries_grid_figure([(NAME, model, 0.5)], X, y, grid_resolution=20, class_names=names, note=NAME),
    ]
    for fig in map(rendered, figures):
        ax = fig.axes[0]
        texts = [ax.get_xlabel(), ax.get_title(), *(t.get_text() for t in ax.get_legend().get_texts())]
        assert all(shows_literally(text) for text in texts), texts
    assert shows_literally(figures[2].get_suptitle())

    bars = rendered(cv_scores_figure([(NAME, 0.5, 0.1), ("b", 0.4, 0.1)], metric=NAME, references={NAME: 0.6},
                                     goal=0.5)).axes[0]
    assert shows_literally(bars.get_yticklabels()[-1].get_text()) and shows_literally(bars.get_xlabel())
    assert shows_literally(bars.get_legend().get_texts()[0].get_text())

    points = {"pr": [{"recall": 0.0, "precision": 1.0}, {"recall": 1.0, "precision": 0.5}],
              "roc": [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 1.0, "tpr": 1.0}]}
    curves = rendered(curves_figure({NAME: points})).axes[1]
    assert shows_literally(curves.get_legend().get_texts()[0].get_text())
