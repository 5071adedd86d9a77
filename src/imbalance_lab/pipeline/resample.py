"""The resample@<strategy> stage: the training split resampled by one strategy, whatever the classifier."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from imbalance_lab.pipeline.outputs import read_frame, read_json, stage_outputs
from imbalance_lab.pipeline.shared import check_strategy, class_names
from imbalance_lab.settings.params import compute_settings, load, source_settings, strategy_settings
from imbalance_lab.settings.paths import DATA_JSON, PARAMS, TRAIN, strategy_file

log = logging.getLogger("imbalance_lab")


def resample_strategy(params: Mapping, name: str, train, data_info: Mapping):
    """(resampled training rows, what the sampler did, their picture) for one strategy, whatever the classifier."""
    import pandas as pd

    from imbalance_lab.data.dataset import class_counts, columns_of, features_and_target, target_name

    strategy = strategy_settings(params, name)
    key = f"strategies.{name}"
    missing, neighbors = source_settings(params).missing, compute_settings(params).neighbors
    X, y = features_and_target(train)
    sampler = None
    if strategy.sampler == "none" and not strategy.options:  # needs no imbalanced-learn
        X_res, y_res, notes = X, y, []
    else:
        from imbalance_lab.models.estimators import build_pipeline
        from imbalance_lab.strategies.neighbours import neighbour_search, with_neighbour_search
        from imbalance_lab.strategies.samplers import build_sampler, pipeline_samplers, resample, resample_prepared

        columns = columns_of(X, missing)
        if columns.needs_preparation:
            pipeline = build_pipeline(strategy, {}, None, columns, neighbors)
            samplers = pipeline_samplers(pipeline)
            sampler = samplers[0] if samplers else None
            X_res, y_res, notes = resample_prepared(pipeline, X, y, key) if samplers else (X, y, [])
        else:
            sampler = with_neighbour_search(build_sampler(strategy), neighbour_search(neighbors, X.shape[1]))
            X_res, y_res, notes = resample(X, y, sampler, key, scale=strategy.scale)
    log.info("%s: %s training rows %s -> %s", strategy.sampler, f"{len(y):,}", class_counts(y), class_counts(y_res))
    frame = pd.DataFrame(X_res, columns=list(X.columns)).reset_index(drop=True)
    frame[target_name(train)] = pd.Series(y_res).to_numpy()
    info: dict[str, Any] = {"sampler": strategy.sampler, "counts_before": class_counts(y),
                            "counts": class_counts(y_res), "notes": notes}
    kept = getattr(sampler, "kept_", None)
    if kept is not None:
        info["filter_kept"] = {str(label): count for label, count in kept.items()}
    from imbalance_lab.reporting.plots import resampled_figure

    shown_counts = " / ".join(f"{label}: {count}" for label, count in info["counts"].items())
    # The frame, not X_res: with scale, X_res comes back from StandardScaler.inverse_transform as a bare array.
    picture = resampled_figure(frame[list(X.columns)], y_res,
                               title=f"{name}: training rows after resampling ({shown_counts})",
                               features=data_info["plot_features"] or [], class_names=class_names(data_info))
    return frame, info, picture


def cmd_resample(args) -> None:
    params, name = load(PARAMS), args.strategy
    check_strategy(params, name)  # before any data is read
    frame, info, picture = resample_strategy(params, name, read_frame(TRAIN), read_json(DATA_JSON))
    with stage_outputs() as outputs:
        outputs.frame(strategy_file("resampled", name), frame)
        outputs.json(strategy_file("resampled_info", name), info)
        outputs.png(strategy_file("resampled_png", name), picture)
