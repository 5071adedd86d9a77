"""What every stage reads: one frame whose last column is the 0/1 target, and the kinds of its columns.

Every source (:mod:`imbalance_lab.data.sources`) ends as one frame: the feature columns (numbers as
float64, categorical columns as pandas ``category``), then the target as its last column, 1 for the
positive (rare) class and 0 otherwise. Stages after ``generate`` read the column kinds from that
frame, so it is the one description of the data they share. The checks that bring a user's table to
it are in :mod:`imbalance_lab.data.tidy`, the train/test split in :mod:`imbalance_lab.data.split`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from imbalance_lab.settings.params import ConfigError, PipelineError

FEATURES = ("age", "balance")
TARGET = "defaulted"


class DataError(PipelineError):
    """The data themselves cannot be used: names the file or data set, the column and the fix."""


@dataclass(frozen=True)
class Columns:
    """The kinds of feature columns a model must handle, and whether gaps are filled."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    impute: bool = False

    @property
    def needs_preparation(self) -> bool:
        return bool(self.categorical) or self.impute


def columns_of(X: pd.DataFrame, missing: str = "reject") -> Columns:
    return Columns(tuple(numeric_columns(X)), tuple(categorical_columns(X)), impute=missing == "impute")


def categorical_columns(X: pd.DataFrame) -> list[str]:
    return [name for name in X.columns if isinstance(X[name].dtype, pd.CategoricalDtype)]


def numeric_columns(X: pd.DataFrame) -> list[str]:
    return [name for name in X.columns if not isinstance(X[name].dtype, pd.CategoricalDtype)]


def typical_values(X: pd.DataFrame) -> dict:
    """Median of each numeric feature, most frequent label of each categorical one."""
    values: dict[str, str | float] = {}
    for name in X.columns:
        if isinstance(X[name].dtype, pd.CategoricalDtype):
            counts = X[name].value_counts(sort=False)
            values[name] = str(counts.index[int(np.argmax(counts.to_numpy()))])
        else:
            values[name] = float(X[name].median())
    return values


def describe(frame: pd.DataFrame, origin: dict, missing: str, plot_features) -> dict:
    """What the data set holds, for reports/data.json and the summary."""
    X, y = features_and_target(frame)
    return {
        **origin,
        "rows": len(frame),
        "classes": class_counts(y),
        "positive_share": float(y.mean()),
        "numeric": numeric_columns(X),
        "categorical": {name: [str(c) for c in X[name].cat.categories] for name in categorical_columns(X)},
        "missing_values": {name: int(count) for name, count in X.isna().sum().items() if count},
        "missing": missing,
        "plot_features": list(plot_features) if plot_features else None,
    }


def plot_features(frame: pd.DataFrame, requested, *, max_rows: int = 100_000) -> tuple[list[str], str]:
    """The two numeric features the decision-boundary pictures are drawn over, and why.

    The requested pair if given; both numeric features when there are exactly two; else
    the two whose standardised logistic-regression coefficients are largest in size (fitted
    on at most ``max_rows`` rows picked by a fixed seed, gaps filled with medians).
    """
    X, y = features_and_target(frame)
    numeric = numeric_columns(X)
    if requested:
        for name in requested:
            if name not in numeric:
                raise ConfigError(
                    f"params.yaml: 'data.plot_features' names {name!r}, which is not a numeric feature; "
                    f"choose two of: {', '.join(numeric)}"
                )
        return list(requested), "chosen in params.yaml"
    if len(numeric) < 2:
        return numeric, "fewer than two numeric features"
    if len(numeric) == 2:
        return numeric, "the only two numeric features"
    from sklearn.linear_model import LogisticRegression

    if len(y) > max_rows:
        rows = np.sort(np.random.default_rng(0).choice(len(y), max_rows, replace=False))
        X, y = X.iloc[rows], y[rows]
    values = X[numeric].fillna(X[numeric].median())
    spread = values.std(ddof=0).replace(0, 1.0)
    model = LogisticRegression(max_iter=1000).fit((values - values.mean()) / spread, y)
    order = np.argsort(-np.abs(model.coef_[0]), kind="stable")[:2]
    return [numeric[i] for i in order], "the two most influential (largest standardised coefficients)"


def target_name(frame: pd.DataFrame) -> str:
    return str(frame.columns[-1])


def features_and_target(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature columns and the 0/1 label (the last column)."""
    return frame.iloc[:, :-1], frame.iloc[:, -1].to_numpy()


def class_counts(y) -> dict[str, int]:
    """Rows per class, keyed by the label as a string (JSON keys)."""
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    return {str(label): int(count) for label, count in zip(labels, counts, strict=True)}
