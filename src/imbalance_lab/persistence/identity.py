"""What a model file (or not-fittable record) is: its cell, its classifier class and a digest of its settings.

The digest is sha256 of the canonical JSON of the strategy's and classifier's parsed settings and the seed, as
the train stage fits the cell with them. Each stage that loads a model computes the same from params.yaml and
refuses a file that says something else (check_identity): another cell's model copied to this cell's path, or
one trained before params.yaml changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from imbalance_lab.persistence.trust import UntrustedModelError
from imbalance_lab.settings.classifiers import FULL_NAMES

IDENTITY_KEYS = ("cell", "classifier", "settings")


def _canonical(value):
    """JSON-ready data of fixed form: mappings with string keys (sorted when dumped), tuples as lists."""
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    return value


def settings_digest(strategy, classifier) -> str:
    """sha256 of the canonical JSON of a cell's settings (params.StrategySettings, params.ClassifierSettings)
    and the seed."""
    settings = {"strategy": strategy.model_dump(), "classifier": classifier.model_dump(), "seed": strategy.seed}
    text = json.dumps(_canonical(settings), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=repr)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def model_identity(strategy, classifier) -> dict:
    """What the model file of a cell says it is: ``{"cell", "classifier", "settings"}``."""
    from imbalance_lab.settings.params import cell_name

    return {"cell": cell_name(strategy.name, classifier.name),
            "classifier": FULL_NAMES[classifier.classifier],
            "settings": settings_digest(strategy, classifier)}


def short(identity: Mapping) -> str:
    """An identity as a message names it: cell, classifier and the digest's first 12 characters."""
    return f"cell {identity['cell']} ({str(identity['classifier']).rpartition('.')[2]}, settings " \
           f"{str(identity['settings'])[:12]})"


def check_identity(found, expected: Mapping | None) -> None:
    """Refuses (UntrustedModelError) an identity that is malformed or other than ``expected`` (if given)."""
    if found is None and expected is None:
        return
    if not isinstance(found, Mapping) or sorted(found) != sorted(IDENTITY_KEYS) or \
            not all(isinstance(found[key], str) for key in IDENTITY_KEYS):
        raise UntrustedModelError("not a saved model: 'identity' must say its cell, classifier and settings digest")
    if expected is None or dict(found) == dict(expected):
        return
    if (found["cell"], found["classifier"]) == (expected["cell"], expected["classifier"]):
        raise UntrustedModelError(
            f"this model of {short(found)} was trained with other settings than params.yaml now gives its cell "
            f"(settings {expected['settings'][:12]}): the strategy's or classifier's settings or the seed changed "
            "since")
    raise UntrustedModelError(f"this model file is {short(found)}, expected {short(expected)}")
