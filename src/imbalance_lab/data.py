"""The article's data generator and the stratified train/test split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .params import ConfigError, DataSettings, SplitSettings

FEATURES = ("age", "balance")
TARGET = "defaulted"


def generate_article_data(settings: DataSettings) -> pd.DataFrame:
    """The article's credit-card data, drawn exactly in the article's order.

    One legacy ``RandomState(seed)``; per group the ages are drawn before the
    balances, and the pocket's integer ages are stretched by ``max(z, 1)`` with
    ``z`` standard normal draws taken right after them. Groups are stacked as
    pocket defaulters, scattered defaulters, payers.
    """
    rng = np.random.RandomState(settings.seed)
    groups = (
        (settings.pocket_defaulters, 1, True),
        (settings.scattered_defaulters, 1, False),
        (settings.payers, 0, False),
    )
    ages, balances, labels = [], [], []
    for group, label, stretch_age in groups:
        age = rng.randint(*group.age, size=group.rows).astype(float)
        if stretch_age:
            age = age * np.maximum(rng.randn(group.rows), 1.0)
        ages.append(age)
        balances.append(rng.randint(*group.balance, size=group.rows).astype(float))
        labels.append(np.full(group.rows, label, dtype=np.int64))
    return pd.DataFrame(
        {"age": np.concatenate(ages), "balance": np.concatenate(balances), TARGET: np.concatenate(labels)}
    )


def split(frame: pd.DataFrame, settings: SplitSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/test split; row order follows scikit-learn's shuffle."""
    from sklearn.model_selection import train_test_split

    try:
        train, test = train_test_split(
            frame, test_size=settings.test_size, random_state=settings.seed, stratify=frame[TARGET]
        )
        problem = "" if _same_classes(frame, train, test) else "one part would lack a class"
    except ValueError as err:  # too few rows of a class for the requested sizes
        problem = str(err)
    if problem:
        raise ConfigError(
            f"params.yaml: 'split.test_size' = {settings.test_size} cannot split {len(frame)} rows "
            f"with class counts {class_counts(frame[TARGET])} ({problem}); choose a test_size that "
            "leaves every class in both parts"
        )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _same_classes(frame: pd.DataFrame, *parts: pd.DataFrame) -> bool:
    classes = set(frame[TARGET].unique())
    return all(set(part[TARGET].unique()) == classes for part in parts)


def features_and_target(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    return frame[list(FEATURES)], frame[TARGET].to_numpy()


def class_counts(y) -> dict[str, int]:
    """Rows per class, keyed by the label as a string (JSON keys)."""
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    return {str(label): int(count) for label, count in zip(labels, counts)}
