"""The ceiling stage: the best possible scores on the known generating process (reports/ceiling.json)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from imbalance_lab.pipeline.outputs import write_json
from imbalance_lab.settings.params import article_settings, ceiling_settings, load, source_settings, synthetic_settings
from imbalance_lab.settings.paths import CEILING_JSON, PARAMS

log = logging.getLogger("imbalance_lab")


def ceiling(params: Mapping) -> dict:
    """The best possible scores on the known generating process (article and synthetic data only)."""
    source, settings = source_settings(params).source, ceiling_settings(params)
    if source not in ("article", "synthetic"):
        return {"available": False, "reason": f"data.source {source} has no known generating process, so the "
                "best possible scores are unknown"}
    from imbalance_lab.evaluation.ceiling import ceilings

    process = article_settings(params) if source == "article" else synthetic_settings(params)
    log.info("measuring the ceilings on %s fresh rows", f"{settings.rows:,}")
    return {"available": True, **ceilings(process, rows=settings.rows, seed=settings.seed,
                                          directions=settings.directions)}


def cmd_ceiling(args) -> None:
    write_json(CEILING_JSON, ceiling(load(PARAMS)))
