"""What several stages share: the cost column's name, each row's cost, how the pictures name the classes and
what a two-feature picture leaves out, and one strategy's settings checked before any data is read."""

from __future__ import annotations

from collections.abc import Mapping

from imbalance_lab.settings.params import (
    ConfigError,
    CostSettings,
    classifier_settings,
    strategy_settings,
    tuning_settings,
)

COST = "cost_per_1000"  # expected cost per 1,000 rows (costs section): the leaderboard may rank by it


def check_strategy(params: Mapping, name: str, classifier: str | None = None) -> None:
    """One strategy's settings before any data is read: its sampler's, with a ``classifier`` the cell's."""
    strategy = strategy_settings(params, name)
    if classifier is not None:  # a class_weight the classifier has not: train says the cell is not fittable
        from imbalance_lab.models.estimators import build_pipeline, buildable

        settings = classifier_settings(params, classifier)
        build_pipeline(buildable(strategy, settings), settings, tuning_settings(params))
    elif strategy.sampler != "none" or strategy.options:
        from imbalance_lab.strategies.samplers import build_sampler

        build_sampler(strategy)


def cost_amounts(costs: CostSettings, X):
    """Per row, what a missed default costs in units of costs.missed_default (None: 1 each)."""
    import numpy as np

    column = costs.missed_default_column
    if column is None:
        return None
    if column not in X.columns or X[column].dtype.kind not in "iuf":
        numeric = [str(name) for name in X.columns if X[name].dtype.kind in "iuf"]
        raise ConfigError(f"params.yaml: 'costs.missed_default_column' is {column!r}, not a numeric feature; "
                            f"use one of {', '.join(numeric)} or null")
    values = X[column].to_numpy(dtype=float)
    if np.isnan(values).any() or (values < 0).any():
        raise ConfigError(f"params.yaml: 'costs.missed_default_column' {column!r} has missing or negative values; "
                            "a cost per row must be a number >= 0 on every row: name another column or null")
    return values


def class_names(info: Mapping) -> dict[int, str]:
    """How the pictures name the two classes."""
    if info["source"] in ("article", "synthetic"):
        return {0: "paid", 1: "defaulted"}
    negative = info.get("negative", f"not {info['positive']}")
    return {0: f"{info['target']} = {negative}", 1: f"{info['target']} = {info['positive']}"}


def picture_note(info: Mapping, columns) -> str:
    """What a two-feature picture leaves out, when the data have more features."""
    features = info["plot_features"] or []
    if len(columns) <= 2 or len(features) < 2:
        return ""
    return (f"\n{features[0]} and {features[1]}: {info['plot_features_reason']}; "
            "other features at their median / most frequent value")
