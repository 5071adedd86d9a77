"""Where the work runs: DVC's YAML parser, neighbour searches for the samplers, and the Dask backend for CV."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml
from dask.distributed import LocalCluster
from imblearn.combine import SMOTEENN
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import EditedNearestNeighbours
from sklearn.neighbors import NearestNeighbors

from helpers import ROOT
from imbalance_lab.evaluation.metrics import compute_backend, cross_validated_metrics
from imbalance_lab.models.estimators import build_pipeline
from imbalance_lab.pipeline import cli
from imbalance_lab.settings import params as P
from imbalance_lab.strategies.knn_smote import KNNFilterSMOTE
from imbalance_lab.strategies.neighbours import neighbour_search, with_neighbour_search

FIXTURE_PARAMS = ROOT / "tests" / "fixtures" / "params.yaml"
SEARCHES = ("kd_tree", "ball_tree", "brute")


@pytest.fixture(scope="module")
def cluster():
    """A real dask.distributed cluster on this machine: two single-threaded worker processes."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        yield local


def continuous_data(rows=300, seed=0):
    """No tied distances, so every exact search finds the same neighbours in the same order."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 2))
    y = (X[:, 0] + rng.normal(0, 0.5, rows) > 1.6).astype(int)
    return X, y


# --- DVC's own start-up -----------------------------------------------------------


def test_dvc_reads_its_yaml_files_with_the_c_parser():
    """Without ruamel.yaml.clib a no-op `dvc repro` spends most of its time parsing YAML."""
    from dvc.utils.serialize import parse_yaml
    from ruamel.yaml import YAML, CParser

    assert CParser is not None, "install ruamel.yaml.clib (pyproject.toml dependencies)"
    assert YAML(typ="safe").Parser is CParser
    assert parse_yaml((ROOT / "dvc.lock").read_text(), "dvc.lock")["schema"] == "2.0"


# --- neighbour searches ------------------------------------------------------------


def test_auto_search_is_a_tree_for_few_features_and_brute_force_for_many():
    assert neighbour_search("auto", 2) == "kd_tree"
    assert neighbour_search("auto", 85) == "brute"
    for algorithm in SEARCHES:
        assert neighbour_search(algorithm, 85) == algorithm


def test_counts_become_neighbour_estimators_with_the_search():
    smote = with_neighbour_search(SMOTE(k_neighbors=5), "ball_tree")
    assert isinstance(smote.k_neighbors, NearestNeighbors)
    assert (smote.k_neighbors.n_neighbors, smote.k_neighbors.algorithm) == (6, "ball_tree")  # k + the row itself
    enn = with_neighbour_search(EditedNearestNeighbours(n_neighbors=3), "brute")
    assert (enn.n_neighbors.n_neighbors, enn.n_neighbors.algorithm) == (4, "brute")
    combined = with_neighbour_search(SMOTEENN(random_state=3), "kd_tree")
    assert combined.smote.k_neighbors.algorithm == "kd_tree" and combined.smote.random_state == 3
    assert combined.enn.n_neighbors.algorithm == "kd_tree" and combined.enn.sampling_strategy == "all"
    knn = with_neighbour_search(KNNFilterSMOTE(), "brute")
    assert (knn.k_neighbors.algorithm, knn.filter_neighbors.algorithm) == ("brute", "brute")


@pytest.mark.parametrize(
    "sampler",
    [SMOTE(random_state=0), EditedNearestNeighbours(), SMOTEENN(random_state=0),
     KNNFilterSMOTE(if_too_few="adapt", random_state=0)],
    ids=["smote", "enn", "smoteenn", "knn_smote"],
)
def test_every_search_gives_the_same_rows(sampler):
    """The searches are exact: each algorithm resamples to exactly the rows of the library default."""
    X, y = continuous_data()
    expected_X, expected_y = sampler.fit_resample(X, y)
    for algorithm in SEARCHES:
        X_res, y_res = with_neighbour_search(sampler, algorithm).fit_resample(X, y)
        np.testing.assert_array_equal(X_res, expected_X)
        np.testing.assert_array_equal(y_res, expected_y)


@pytest.mark.parametrize(("value", "key"), [("gpu", "compute.neighbors"), ("spark", "compute.backend"),
                                            (5, "compute.scheduler")])
def test_bad_compute_settings_name_the_key(article_params, value, key):
    article_params["compute"][key.split(".")[1]] = value
    with pytest.raises(P.ConfigError, match=key.replace(".", r"\.")):
        P.compute_settings(article_params)


# --- the Dask backend ------------------------------------------------------------------


def cv_scores(X, y, name, params, **backend):
    strategy = P.strategy_settings(params, name)
    estimator = build_pipeline(strategy, P.classifier_settings(params, "logreg"), P.tuning_settings(params))
    with compute_backend(**backend) as jobs:
        return cross_validated_metrics(estimator, X, y, folds=5, repeats=2, seed=42,
                                       n_jobs=1 if jobs is None else jobs, fixed_threshold=0.5)


@pytest.mark.parametrize("name", ["smote", "knn_smote", "tuned_threshold"])
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
    with pytest.raises(P.ConfigError, match=r"'compute\.scheduler' is 'tcp://127\.0\.0\.1:9'.*start the cluster"):
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
