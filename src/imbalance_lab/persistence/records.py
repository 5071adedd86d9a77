"""The record of a cell that cannot be fitted, written at the model's path instead of a model.

When the cell's classifier itself fails to fit (a ValueError raised inside its fit, e.g. RUSBoost's "worse
than random" on an imbalanced fold), the train stage writes this record: the cell, its classifier and settings
(the same identity as a model's, checked the same way), the estimator's message and when it failed. It is as
untrusted as a model file: exact keys, the identity, a reason of printable text within REASON_LENGTH
characters, and one of DURING; nothing else is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from imbalance_lab.persistence.identity import IDENTITY_KEYS, check_identity
from imbalance_lab.persistence.trust import UntrustedModelError

NOT_FITTABLE_FORMAT = "imbalance-lab/not-fittable/v1"
DURING = ("the final fit on the training split", "cross-validation", "the cost threshold's inner folds",
          "building the classifier")  # the last: a strategy's class_weight the classifier has not (nothing fitted)
REASON_LENGTH = 1000
NOT_FITTABLE_KEYS = ("format", "identity", "reason", "during")


@dataclass(frozen=True)
class NotFittable:
    """A cell whose classifier could not be fitted: why (the estimator's message) and during what."""

    cell: str
    reason: str
    during: str

    def report(self) -> dict:
        """What each of the cell's report files holds instead of its results."""
        return {"not_fittable": {"reason": self.reason, "during": self.during}}


def _printable_reason(reason: str) -> str:
    """The estimator's message on one line (runs of white space as one space), at most REASON_LENGTH characters;
    control characters and the like written as escapes (settings.text.printable)."""
    from imbalance_lab.settings.text import printable

    text = printable(" ".join(str(reason).split()))
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"


def not_fittable_to_dict(identity: Mapping, reason: str, during: str) -> dict:
    """The record the train stage writes at a cell's model path when its classifier cannot be fitted."""
    if during not in DURING:
        raise ValueError(f"during must be one of {DURING}, got {during!r}")
    return {"format": NOT_FITTABLE_FORMAT, "identity": {key: identity[key] for key in IDENTITY_KEYS},
            "reason": _printable_reason(reason), "during": during}


def is_not_fittable(data) -> bool:
    """The file says it is a not-fittable record (whether it is a sound one is not_fittable_from_dict's to say)."""
    return isinstance(data, Mapping) and data.get("format") == NOT_FITTABLE_FORMAT


def not_fittable_from_dict(data: Mapping, expected: Mapping | None = None) -> NotFittable:
    """The not-fittable record of the cell ``expected`` (model_identity()) names, checked as strictly as a model
    file: anything else is an UntrustedModelError."""
    from imbalance_lab.settings.text import UNPRINTABLE

    if not is_not_fittable(data):
        found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
        raise UntrustedModelError(f"not a not-fittable record of format {NOT_FITTABLE_FORMAT}: got {found!r}")
    if sorted(data) != sorted(NOT_FITTABLE_KEYS):
        raise UntrustedModelError(f"not a not-fittable record: its keys must be exactly {list(NOT_FITTABLE_KEYS)}, "
                                  f"got {sorted(map(str, data))}")
    if data["identity"] is None:
        raise UntrustedModelError("not a not-fittable record: it does not say what it is (cell, classifier, settings)")
    check_identity(data["identity"], expected)
    reason, during = data["reason"], data["during"]
    if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_LENGTH or UNPRINTABLE.search(reason):
        raise UntrustedModelError(f"not a not-fittable record: 'reason' must be printable text of 1 to {REASON_LENGTH} "
                                  "characters on one line")
    if during not in DURING:
        raise UntrustedModelError(f"not a not-fittable record: 'during' must be one of {list(DURING)}")
    return NotFittable(data["identity"]["cell"], reason, during)
