"""Where the work runs: DVC's YAML parser and neighbour searches for the samplers (the Dask backend for CV, which
starts a real cluster: tests/integration/test_dask.py)."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.combine import SMOTEENN
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import EditedNearestNeighbours
from sklearn.neighbors import NearestNeighbors

from helpers import ROOT
from imbalance_lab.settings.params import ConfigError, compute_settings
from imbalance_lab.strategies.knn_smote import KNNFilterSMOTE
from imbalance_lab.strategies.neighbours import neighbour_search, with_neighbour_search

SEARCHES = ("kd_tree", "ball_tree", "brute")


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
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        compute_settings(article_params)
