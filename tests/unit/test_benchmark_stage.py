"""The benchmark@<set> and rank stages' steps (pipeline/benchmark.py, pipeline/rank.py) in a folder of their own:
real files under data/input/benchmark/, real samplers and classifiers, small settings. A set with a leak or gaps is
one line naming the set's key and the fix and the rest is ranked; a cell that cannot be fitted on a set likewise;
the summary's Friedman test is scipy's on the sets' mean scores; a tampered set file is refused."""

from __future__ import annotations

import copy
import json
import math
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import make_classification

from imbalance_lab.pipeline import benchmark as stage
from imbalance_lab.pipeline import rank as ranking
from imbalance_lab.pipeline.outputs import write_json
from imbalance_lab.reporting.report import benchmark_leaderboard, benchmark_section
from imbalance_lab.settings.params import PipelineError
from imbalance_lab.settings.paths import benchmark_set_file

CELLS = ["baseline-logreg", "smote-logreg", "tuned_threshold-logreg"]


def rows(seed: int, n: int = 300, rare: float = 0.12) -> pd.DataFrame:
    X, y = make_classification(n_samples=n, n_features=4, n_informative=2, n_redundant=0, flip_y=0.05,
                               weights=[1 - rare], class_sep=0.6, random_state=seed)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).round(4)
    frame["region"] = np.where(X[:, 0] > 0, "north", "south")
    frame["label"] = np.where(y == 1, "bad", "good")
    return frame


def benchmark_params(params) -> dict:
    params["benchmark"]["cv"].update(folds=2, repeats=2)
    params["benchmark"]["datasets"] = {f"set{seed}": {"source": "file", "path": f"data/input/benchmark/set{seed}.csv",
                                                      "target": "label", "positive": "bad"} for seed in range(4)}
    return params


def run_sets(params, names) -> None:
    for name in names:
        write_json(benchmark_set_file(name), stage.benchmark_set(params, name))


def rank(params) -> dict:
    import matplotlib.pyplot as plt

    summary, metrics, figures = ranking.rank(params)
    plt.close("all")
    return {"summary": json.loads(json.dumps(summary)), "metrics": metrics, "figures": figures}


@pytest.fixture(scope="module")
def scored(tmp_path_factory, params_yaml):
    """A folder with four data sets as files under data/input/benchmark/, each scored by its stage (2 folds x 2
    repeats, 3 cells), and the params that name them."""
    folder = tmp_path_factory.mktemp("benchmark")
    inputs = folder / "data" / "input" / "benchmark"
    inputs.mkdir(parents=True)
    for seed in range(4):
        rows(seed).to_csv(inputs / f"set{seed}.csv", index=False)
    params = benchmark_params(copy.deepcopy(params_yaml))
    before = os.getcwd()
    os.chdir(folder)
    try:
        run_sets(params, params["benchmark"]["datasets"])
    finally:
        os.chdir(before)
    return folder, params


@pytest.fixture
def project(scored, tmp_path, monkeypatch):
    """A copy of the scored folder to work in (the current folder), and a copy of its params."""
    folder, params = scored
    shutil.copytree(folder, tmp_path / "project")
    monkeypatch.chdir(tmp_path / "project")
    return copy.deepcopy(params)


def test_every_set_is_scored_and_ranked_with_scipys_friedman_on_the_mean_scores(project):
    record = json.loads(benchmark_set_file("set0").read_text())
    assert (record["rows"], record["categorical"], record["positive"]) == (300, ["region"], "bad")
    assert set(record["cells"]) == set(CELLS) and all(len(record["cells"][c]["f1"]) == 4 for c in CELLS)
    ranked = rank(project)
    summary = ranked["summary"]
    assert summary["datasets"] == ["set0", "set1", "set2", "set3"] and summary["metric"] == "f1"
    assert set(summary["mean_rank"]) == set(CELLS)
    means = pd.DataFrame({name: {cell: np.mean(json.loads(benchmark_set_file(name).read_text())["cells"][cell]["f1"])
                                 for cell in CELLS} for name in summary["datasets"]}).T
    statistic, p_value = stats.friedmanchisquare(*(means[cell] for cell in CELLS))
    assert summary["friedman"]["statistic"] == pytest.approx(statistic, rel=1e-5)
    assert summary["friedman"]["p_value"] == pytest.approx(p_value, rel=1e-5)
    assert summary["scores"]["set1"]["smote-logreg"]["f1"] == pytest.approx(means.loc["set1", "smote-logreg"], rel=1e-5)
    # average precision ignores the threshold: the tuned cell is its baseline there, ranked once
    assert summary["rankings"]["average_precision"]["same_as"] == {"tuned_threshold-logreg": "baseline-logreg"}
    assert ranked["metrics"]["friedman_p"] == summary["friedman"]["p_value"]
    assert set(ranked["figures"]) == {"f1", "average_precision", "brier", "cost_per_1000"}


def test_a_set_with_a_leak_or_gaps_is_left_out_in_one_line_and_the_rest_is_ranked(project, caplog):
    leaky = rows(0)
    leaky["outcome_code"] = np.where(leaky["label"] == "bad", 1.0, 0.0) + 0.01 * np.arange(len(leaky)) / len(leaky)
    leaky.to_csv("data/input/benchmark/set1.csv", index=False)
    gaps = rows(2)
    gaps.loc[::25, "b"] = np.nan
    gaps.to_csv("data/input/benchmark/set2.csv", index=False)
    run_sets(project, ["set1", "set2"])
    ranked = rank(project)["summary"]
    left_out = ranked["not_ranked_datasets"]
    assert set(left_out) == {"set1", "set2"} and ranked["datasets"] == ["set0", "set3"]
    assert "'outcome_code'" in left_out["set1"] and "benchmark.datasets.set1.drop" in left_out["set1"]
    assert "benchmark.datasets.set2.missing: impute" in left_out["set2"] and "\n" not in left_out["set2"]
    # the stage's label names the set (imbalance-lab benchmark set1: ...): the line does not name it again
    assert any(record.getMessage().startswith("not ranked: ") and "'outcome_code'" in record.getMessage()
               for record in caplog.records)
    # the fixes the lines name work
    project["benchmark"]["datasets"]["set1"]["drop"] = ["outcome_code"]
    project["benchmark"]["datasets"]["set2"]["missing"] = "impute"
    run_sets(project, ["set1", "set2"])
    assert rank(project)["summary"]["datasets"] == ["set0", "set1", "set2", "set3"]


def test_a_cell_that_cannot_be_fitted_on_a_set_is_named_and_the_others_are_ranked(project):
    frame = rows(1)
    small = pd.concat([frame[frame["label"] == "good"], frame[frame["label"] == "bad"].head(10)])
    small.to_csv("data/input/benchmark/set1.csv", index=False)  # a 2-fold training fold: 5 rare rows, SMOTE needs 6
    run_sets(project, ["set1"])
    summary = rank(project)["summary"]
    assert set(summary["not_ranked"]) == {"smote-logreg"}
    reason = summary["not_ranked"]["smote-logreg"]
    assert reason.startswith("set1: ") and "'benchmark.strategies.smote.k_neighbors'" in reason, reason
    assert set(summary["mean_rank"]) == {"baseline-logreg", "tuned_threshold-logreg"}
    assert summary["datasets"] == ["set0", "set1", "set2", "set3"]


def test_a_tampered_or_stale_set_file_is_refused_naming_it(project):
    path = benchmark_set_file("set0")
    record = json.loads(path.read_text())
    record["cells"]["smote-logreg"]["f1"][0] = "NaN"
    path.write_text(json.dumps(record))
    with pytest.raises(PipelineError, match=r"sets/set0.json: not the scores .*:benchmark@set0"):
        ranking.rank(project)
    path.write_text(json.dumps({**record, "cells": json.loads(benchmark_set_file("set1").read_text())["cells"]}))
    ranking.rank(project)  # another set's scores of the same cells pass: the file says which set it is
    path.write_text(json.dumps({**record, "dataset": "set1"}))
    with pytest.raises(PipelineError, match=r"set0\.json"):
        ranking.rank(project)
    path.unlink()
    run_sets(project, ["set0"])
    project["benchmark"]["cv"]["repeats"] = 1  # the files were made with 2 repeats
    with pytest.raises(PipelineError, match=r"set0\.json"):
        ranking.rank(project)


def test_the_report_and_the_terminal_show_the_ranking(project):
    summary = rank(project)["summary"]
    section = benchmark_section(summary)
    assert section.title == "What works across data sets" and section.images[0][0] == "benchmark/plots/cd_f1.png"
    assert [row[0] for row in section.table[1]] == [f"`{cell}`" for cell in summary["mean_rank"]]
    text = benchmark_leaderboard(summary)
    assert max(map(len, text.splitlines())) <= 100
    assert "Friedman p" in text and all(cell in text for cell in CELLS)
    assert math.isfinite(summary["friedman"]["p_value"])


def test_fewer_than_two_sets_give_no_ranking_but_a_reason(project):
    project["benchmark"]["datasets"] = {"set0": project["benchmark"]["datasets"]["set0"]}
    summary = rank(project)["summary"]
    assert summary["friedman"] is None
    assert "No ranking" in benchmark_section(summary).paragraphs[0]
    assert "no ranking across data sets" in benchmark_leaderboard(summary)


DRAW = """
import json, sys
from imbalance_lab.benchmark.figures import critical_difference_figure
from imbalance_lab.reporting.plots import save_png
summary = json.load(open(sys.argv[1]))
save_png(critical_difference_figure(summary["rankings"]["f1"], "f1"), sys.argv[2])
"""


def test_a_critical_difference_diagram_has_the_same_bytes_in_every_process(tmp_path):
    """scikit-posthocs groups the cells in sets, whose order follows Python's salted string hashes: the same
    ranking drawn here and by a process with another hash seed must give the same PNG (the committed one's 16
    sets)."""
    import subprocess
    import sys

    from helpers import ROOT
    from imbalance_lab.benchmark.figures import critical_difference_figure
    from imbalance_lab.reporting.plots import save_png

    summary_path = ROOT / "reports/benchmark/summary.json"
    here = tmp_path / "cd-here.png"
    save_png(critical_difference_figure(json.loads(summary_path.read_text())["rankings"]["f1"], "f1"), here)
    other_seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"  # never this process's own
    there = tmp_path / "cd-there.png"
    subprocess.run([sys.executable, "-c", DRAW, str(summary_path), str(there)],
                   env={**os.environ, "PYTHONHASHSEED": other_seed}, check=True)
    assert here.read_bytes() == there.read_bytes()
    assert here.read_bytes() == (ROOT / "reports/benchmark/plots/cd_f1.png").read_bytes()


def test_the_benchmarks_own_entries_are_checked_named_and_apart_from_the_grids(article_params):
    """benchmark.strategies and .classifiers are entries of their own: a bad value is named under benchmark, and
    tuning the grid's strategy changes nothing the benchmark reads."""
    from imbalance_lab.pipeline.check import check
    from imbalance_lab.settings.params import ConfigError, benchmark_view, strategy_settings

    params = article_params
    params["benchmark"]["strategies"]["smote"]["k_neighbors"] = 0
    with pytest.raises(ConfigError, match=r"'benchmark\.strategies\.smote\.k_neighbors'"):
        check(params)
    params["benchmark"]["strategies"]["smote"]["k_neighbors"] = 5
    params["strategies"]["smote"]["k_neighbors"] = 3
    check(params)
    assert strategy_settings(benchmark_view(params), "smote").options["k_neighbors"] == 5
    assert strategy_settings(benchmark_view(params), "smote").scale  # benchmark.scale, not model.scale


@pytest.mark.parametrize("raised, shown", [
    ("'strategies.smote.k_neighbors' = 5 needs 6 rows", "'benchmark.strategies.smote.k_neighbors' = 5 needs 6 rows"),
    ("a fold (strategies.tuned_threshold tunes its threshold); lower threshold_tuning.folds or cv.folds",
     "a fold (benchmark.strategies.tuned_threshold tunes its threshold); lower threshold_tuning.folds or "
     "benchmark.cv.folds"),  # threshold_tuning is the grid's own, also in the benchmark
    ("'cv.folds' is 5, but the training split has only 3 rows", "'benchmark.cv.folds' is 5, but the training split "
     "has only 3 rows"),
    ("inner-CV cost 0.97. Done", "inner-CV cost 0.97. Done"),
    ("unknown key 'classifiers' here", "unknown key 'benchmark.classifiers' here"),
    ("every one of the strategies. Fine", "every one of the strategies. Fine"),  # a word, not a key
    ("the grid's classifiers' names", "the grid's classifiers' names"),
    ("'benchmark.strategies.smote'", "'benchmark.strategies.smote'"),  # named once
])
def test_a_message_raised_in_the_benchmark_names_its_own_keys(raised, shown):
    from imbalance_lab.settings.params import ConfigError, in_benchmark

    with pytest.raises(ConfigError) as raised_error, in_benchmark():
        raise ConfigError(raised)
    assert str(raised_error.value) == shown
