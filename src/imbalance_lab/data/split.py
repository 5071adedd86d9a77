"""The stratified train/test split."""

from __future__ import annotations

import pandas as pd

from imbalance_lab.data.dataset import class_counts
from imbalance_lab.settings.params import ConfigError, SplitSettings


def split(frame: pd.DataFrame, settings: SplitSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/test split; row order follows scikit-learn's shuffle."""
    from sklearn.model_selection import train_test_split

    try:
        train, test = train_test_split(
            frame, test_size=settings.test_size, random_state=settings.seed, stratify=frame.iloc[:, -1]
        )
        problem = "" if _same_classes(frame, train, test) else "one part would lack a class"
    except ValueError as err:  # too few rows of a class for the requested sizes
        problem = str(err)
    if problem:
        raise ConfigError(
            f"params.yaml: 'split.test_size' = {settings.test_size} cannot split {len(frame)} rows "
            f"with class counts {class_counts(frame.iloc[:, -1])} ({problem}); choose a test_size that "
            "leaves every class in both parts"
        )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _same_classes(frame: pd.DataFrame, *parts: pd.DataFrame) -> bool:
    classes = set(frame.iloc[:, -1].unique())
    return all(set(part.iloc[:, -1].unique()) == classes for part in parts)
