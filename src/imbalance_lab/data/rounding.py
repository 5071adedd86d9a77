"""Floats as the project writes them to files: so many significant digits (or decimals), never "-0.0".

The JSON reports, the model files and the score files round here, so that their bytes (and the hashes
dvc.lock keeps of them) follow a result's value to the digits written, not the last bits of a BLAS kernel.
Here, the lowest sub-package every stage already depends on, so that the writers of every layer import it.
"""

from __future__ import annotations

import math

DIGITS = 6


def significant(number: float, digits: int = DIGITS) -> float:
    """``number`` to ``digits`` significant digits; -0.0 becomes 0.0, infinities and NaN stay."""
    return float(f"{number:.{digits}g}") + 0.0


def decimals(number: float, digits: int = DIGITS) -> float:
    """``number`` to ``digits`` decimals; -0.0 becomes 0.0, infinities and NaN stay."""
    return float(f"{number:.{digits}f}") + 0.0 if math.isfinite(number) else number


def rounded(value, digits: int = DIGITS):
    """Every float in ``value`` (dicts, lists, tuples: as lists) to ``digits`` significant digits."""
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    if isinstance(value, float):  # numpy float64 included
        return significant(value, digits)
    return value
