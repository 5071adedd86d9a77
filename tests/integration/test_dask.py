"""The Dask backend for cross-validation (compute.backend: dask) on a real dask.distributed cluster on this
machine: the same figures, files and counts as local processes.

Moved from tests/unit (test_compute, test_metrics): each cluster starts worker processes (seconds of wall time
and of CPU per start), so these belong with the tests that run real processes. One cluster serves the module.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from dask.distributed import LocalCluster

from helpers import ROOT
from imbalance_lab.evaluation.metrics import compute_backend, cross_validated_metrics
from imbalance_lab.models.estimators import build_pipeline
from imbalance_lab.pipeline import cli
from imbalance_lab.settings.params import (
    ConfigError,
    StrategySettings,
    classifier_settings,
    strategy_settings,
    tuning_settings,
)

FIXTURE_PARAMS = ROOT / "tests" / "fixtures" / "params.yaml"


@pytest.fixture(scope="module")
def cluster():
    """A real dask.distributed cluster on this machine: two single-threaded worker processes."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        yield local


def cv_scores(X, y, name, params, **backend):
    strategy = strategy_settings(params, name)
    estimator = build_pipeline(strategy, classifier_settings(params, "logreg"), tuning_settings(params))
    with compute_backend(**backend) as jobs:
        return cross_validated_metrics(estimator, X, y, folds=5, repeats=2, seed=42,
                                       n_jobs=1 if jobs is None else jobs, fixed_threshold=0.5)


# smote on a cluster: test_dask_without_an_address_starts_a_local_cluster below
@pytest.mark.parametrize("name", ["knn_smote", "tuned_threshold"])
def test_dask_cluster_gives_the_same_cv_figures_as_local_processes(article_train_xy, article_params, cluster, name):
    X, y = article_train_xy
    local = cv_scores(X, y, name, article_params)
    on_dask = cv_scores(X, y, name, article_params, backend="dask", scheduler=cluster.scheduler_address)
    assert on_dask == local
    assert len(local[0]["f1"]) == 10


def test_dask_without_an_address_starts_a_local_cluster(article_train_xy, article_params):
    X, y = article_train_xy
    assert cv_scores(X, y, "smote", article_params, backend="dask") == cv_scores(X, y, "smote", article_params)


def test_unreachable_scheduler_is_a_config_error_naming_the_key(article_train_xy, article_params):
    X, y = article_train_xy
    with pytest.raises(ConfigError, match=r"'compute\.scheduler' is 'tcp://127\.0\.0\.1:9'.*start the cluster"):
        cv_scores(X, y, "smote", article_params, backend="dask", scheduler="tcp://127.0.0.1:9")


def test_train_stage_on_dask_writes_the_same_files(tmp_path, monkeypatch, cluster):
    """The train command with compute.backend: dask and the cluster's address in params."""
    results = {}
    for backend in ("local", "dask"):
        folder = tmp_path / backend
        (folder / "data" / "input").mkdir(parents=True)
        shutil.copy(FIXTURE_PARAMS, folder / "params.yaml")
        params = yaml.safe_load((folder / "params.yaml").read_text())
        params["cv"]["repeats"] = 2
        params["compute"].update(backend=backend, scheduler=cluster.scheduler_address if backend == "dask" else None)
        (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        monkeypatch.chdir(folder)
        for argv in (["generate"], ["split"], ["train", "smote", "logreg"]):
            assert cli.main(argv) == 0
        results[backend] = {name: (folder / path).read_bytes() for name, path in
                            (("cv", "reports/cv/smote-logreg.json"), ("model", "data/models/smote-logreg.json"))}
    assert results["dask"] == results["local"]
    assert len(json.loads(results["local"]["cv"])["scores"]["f1"]) == 10


CV = {"folds": 3, "repeats": 2, "seed": 5}


def run_cv_counting(estimator, X, y, n_jobs=1, progress=None):
    """(per-fold scores, folds stopped early), as tests/unit/test_metrics.py counts them."""
    return cross_validated_metrics(estimator, X, y, n_jobs=n_jobs, fixed_threshold=0.5, progress=progress, **CV)


def test_cv_on_a_dask_cluster_gives_the_same_scores_and_count(article_train_xy, cluster):
    """joblib's generator on the Dask backend: same per-fold scores, early stops counted on the workers."""
    X, y = article_train_xy
    estimator = build_pipeline(StrategySettings(name="s", sampler="SMOTE", options={"random_state": 0}),
                               {"max_iter": 1}, None)
    calls = []
    with compute_backend("dask", cluster.scheduler_address) as jobs:
        on_dask = run_cv_counting(estimator, X, y, n_jobs=jobs, progress=lambda *args: calls.append(args))
    assert on_dask == run_cv_counting(estimator, X, y)
    assert on_dask[1] == CV["folds"] * CV["repeats"]
    assert [done for done, _ in calls] == list(range(1, on_dask[1] + 1))


def test_a_benchmark_set_on_dask_writes_the_same_bytes_as_local_processes(tmp_path, monkeypatch, cluster):
    """The benchmark@<set> command with compute.backend: dask: every cell x fold of the set is a task on the cluster,
    and the set's file is byte for byte the local run's (two processes), a cell that cannot be fitted included."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=240, n_features=3, n_informative=2, n_redundant=0, weights=[0.88],
                               random_state=4)
    results = {}
    for backend in ("local", "dask"):
        folder = tmp_path / backend
        (folder / "data" / "input" / "benchmark").mkdir(parents=True)
        rows = yaml.safe_load(FIXTURE_PARAMS.read_text())
        rows["benchmark"].update(n_jobs=2, cv={"folds": 3, "repeats": 2, "seed": 1},
                                 datasets={"rare": {"source": "file", "path": "data/input/benchmark/rare.csv",
                                                    "target": "y"}})
        rows["benchmark"]["strategies"]["smote"]["k_neighbors"] = 40  # more than a fold's rare rows: not fittable
        rows["compute"].update(backend=backend, scheduler=cluster.scheduler_address if backend == "dask" else None)
        (folder / "params.yaml").write_text(yaml.safe_dump(rows, sort_keys=False))
        import pandas as pd

        pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}).round(5).to_csv(
            folder / "data/input/benchmark/rare.csv", index=False)
        monkeypatch.chdir(folder)
        assert cli.main(["benchmark", "rare"]) == 0
        results[backend] = (folder / "reports/benchmark/sets/rare.json").read_bytes()
    assert results["dask"] == results["local"]
    cells = json.loads(results["local"])["cells"]
    assert set(cells["smote-logreg"]) == {"error"} and len(cells["tuned_threshold-logreg"]["f1"]) == 6
