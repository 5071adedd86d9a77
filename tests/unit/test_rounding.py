"""imbalance_lab.data.rounding: the one rounding of floats written to files (reports, model files, scores)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from imbalance_lab.data.rounding import decimals, rounded, significant


@pytest.mark.parametrize("number, digits, expected", [
    (0.123456789, 6, 0.123457), (123456789.0, 3, 1.23e8), (-0.0, 6, 0.0), (-1e-30, 6, -1e-30), (1.0, 8, 1.0),
])
def test_significant_keeps_so_many_significant_digits(number, digits, expected):
    assert significant(number, digits) == expected


def test_no_negative_zero_is_written():
    """-0.0 and a negative number rounded to zero decimals are written as 0.0, never "-0.0"."""
    assert json.dumps([significant(-0.0), decimals(-1e-9), decimals(-0.0)]) == "[0.0, 0.0, 0.0]"


def test_decimals_count_from_the_point_and_leave_infinities():
    assert decimals(1234.56789012, 2) == 1234.57
    assert decimals(math.inf) == math.inf and math.isnan(decimals(math.nan))


def test_rounded_reaches_every_float_and_leaves_the_rest():
    """Nested dicts, lists and tuples (as lists); numpy floats become plain floats; ints, text, None unchanged."""
    value = {"a": [1 / 3, (np.float64(2 / 3), 7)], "b": {"c": None, "d": "x", "e": True}}
    result = rounded(value, 3)
    assert result == {"a": [0.333, [0.667, 7]], "b": {"c": None, "d": "x", "e": True}}
    assert type(result["a"][1][0]) is float
