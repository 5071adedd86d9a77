"""The generate and split stages: the data set that data.source names, then its stratified train/test split."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from imbalance_lab.pipeline.outputs import read_frame, stage_outputs
from imbalance_lab.settings.params import (
    SplitSettings,
    article_settings,
    load,
    source_settings,
    split_settings,
    synthetic_settings,
)
from imbalance_lab.settings.paths import DATA_JSON, PARAMS, RAW, TEST, TRAIN

log = logging.getLogger("imbalance_lab")


def generate(params: Mapping):
    """(rows, what they are): the source's rows in the project's shape, and reports/data.json."""
    from imbalance_lab.data.dataset import describe, plot_features
    from imbalance_lab.data.sources import load_source

    settings = source_settings(params)
    article = article_settings(params) if settings.source == "article" else None
    synthetic = synthetic_settings(params) if settings.source == "synthetic" else None
    frame, origin = load_source(settings, article, synthetic)
    log.info("%s data: %s rows, %s columns", settings.source, f"{len(frame):,}", frame.shape[1])
    features, reason = plot_features(frame, settings.plot_features)
    return frame, {**describe(frame, origin, settings.missing, features), "plot_features_reason": reason}


def split_rows(settings: SplitSettings, raw):
    """(train, test): the stratified split of the rows."""
    from imbalance_lab.data.split import split

    train, test = split(raw, settings)
    log.info("%s training rows, %s test rows", f"{len(train):,}", f"{len(test):,}")
    return train, test


def cmd_generate(args) -> None:
    frame, info = generate(load(PARAMS))
    with stage_outputs() as outputs:
        outputs.frame(RAW, frame)
        outputs.json(DATA_JSON, info)


def cmd_split(args) -> None:
    train, test = split_rows(split_settings(load(PARAMS)), read_frame(RAW))
    with stage_outputs() as outputs:
        outputs.frame(TRAIN, train)
        outputs.frame(TEST, test)
