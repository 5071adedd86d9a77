"""The model-file format (imbalance_lab.persistence.modelfile) for every classifier the project fits.

Real estimators fitted on a fixed synthetic sample; each saved model goes through the JSON text
the train stage writes and back. Expected probabilities are the fitted estimator's own, or, for the
classes whose CPU-dependent floats the format rounds, the fitted estimator's with those floats rounded
by this file's own code: never the code under test run a second time.
"""

from __future__ import annotations

import ast
import base64
import copy
import graphlib
import json
import re
from functools import cache

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.ensemble import AdaBoostClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV
from sklearn.pipeline import Pipeline as PredictionPipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import Tree

from helpers import ROOT
from imbalance_lab.models.estimators import PriorShiftCorrected, build_pipeline, fit_model
from imbalance_lab.persistence.modelfile import (
    CLASSIFIERS as CLASSIFIER_NAMES,
)
from imbalance_lab.persistence.modelfile import (
    CONSTRUCTOR_ARGUMENTS,
    FITTED_STATE,
    FORMAT,
    UntrustedModelError,
    encode_state,
    known_attributes,
    model_from_dict,
    model_identity,
    model_to_dict,
    settings_digest,
    untrusted_names,
)
from imbalance_lab.persistence.trust import TRUSTED_NAMES, trusted_class
from imbalance_lab.settings.classifiers import classifier_classes
from imbalance_lab.settings.params import ClassifierSettings, StrategySettings, classifier_settings, strategy_settings

FEATURES = ["age", "balance"]
CLASSIFIERS = list(classifier_classes())
# Settings as params.yaml would give them: the defaults, and typical ones.
TYPICAL = {
    "LogisticRegression": {"solver": "newton-cholesky"},
    "HistGradientBoostingClassifier": {"max_iter": 50, "class_weight": "balanced"},
    "RandomForestClassifier": {"n_estimators": 50, "min_samples_leaf": 5},
    "BalancedRandomForestClassifier": {"n_estimators": 50, "min_samples_leaf": 5, "sampling_strategy": "auto",
                                       "replacement": True, "bootstrap": False},
    "EasyEnsembleClassifier": {"n_estimators": 3},  # 10 by default: 500 stumps, 3.5 s a fit here
    "RUSBoostClassifier": {"n_estimators": 10},
    "BalancedBaggingClassifier": {"n_estimators": 10},
}
# Classifiers none of whose floats the format rounds: the loaded model predicts exactly as the fitted one.
EXACT = {"HistGradientBoostingClassifier", "RandomForestClassifier", "BalancedRandomForestClassifier",
         "BalancedBaggingClassifier"}
TREE = "sklearn.tree._tree.Tree"
SAMPLER_NAMES = ("SMOTE", "RandomUnderSampler", "imblearn.pipeline", "imblearn.over_sampling",
                 "imblearn.under_sampling", "imblearn.combine")


# --- data and fits ---------------------------------------------------------------------


def sample(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two features on different scales, 6.5 % positives (no BLAS call: the same rows on every CPU)."""
    rng = np.random.default_rng(seed)
    age, balance = rng.normal(45, 12, rows), rng.normal(20_000, 8_000, rows)
    score = -0.04 * age + 0.0001 * balance + rng.normal(0, 0.6, rows)
    return pd.DataFrame({"age": age, "balance": balance}), (score > np.quantile(score, 0.935)).astype(int)


X, Y = sample(400, 0)
# Fresh rows, and the training rows themselves (their values sit exactly on trees' split points' sides).
ROWS = pd.concat([sample(300, 1)[0], X, pd.DataFrame({"age": [-50.0, 200.0], "balance": [-1e6, 1e7]})],
                 ignore_index=True)


def classifier(name: str, settings: str = "typical"):
    cls = classifier_classes()[name]
    options = dict(TYPICAL[name]) if settings == "typical" else {}
    if "random_state" in cls().get_params():
        options["random_state"] = 0
    return cls(**options)


def strategy(name: str, settings: str = "typical", wrap: str | None = None):
    """The train stage's estimator shape: scale, SMOTE, the classifier (or PriorShiftCorrected of it),
    optionally in CalibratedClassifierCV and TunedThresholdClassifierCV."""
    model = classifier(name, settings)
    if wrap == "prior":
        model = PriorShiftCorrected(model, prior=float(Y.mean()))
    estimator = Pipeline([("scale", StandardScaler()), ("sampler", SMOTE(random_state=0)), ("model", model)])
    if wrap in ("sigmoid", "isotonic", "tuned"):
        estimator = CalibratedClassifierCV(estimator, method="isotonic" if wrap == "isotonic" else "sigmoid",
                                           cv=StratifiedKFold(3, shuffle=True, random_state=0))
    if wrap == "tuned":
        estimator = TunedThresholdClassifierCV(estimator, scoring="f1",
                                               cv=StratifiedKFold(3, shuffle=True, random_state=0))
    return estimator.fit(X, Y)


fitted = cache(strategy)  # shared by the tests; strategy() itself fits anew


def text_of(estimator) -> str:
    """The model file as the train stage writes it."""
    return json.dumps(model_to_dict(estimator, FEATURES, True), sort_keys=True, indent=2, allow_nan=False)


def loaded(text: str):
    return model_from_dict(json.loads(text))


def resaved(model, text: str) -> str:
    del model.tuned_threshold  # model_from_dict's own attribute
    return json.dumps({**json.loads(text), "pipeline": encode_state(model)}, sort_keys=True, indent=2,
                      allow_nan=False)


def prediction_path(estimator):
    return estimator.estimator_ if isinstance(estimator, TunedThresholdClassifierCV) else estimator


# --- what the format rounds, done independently ----------------------------------------


def rounded(values):
    return np.array([float(f"{v:.8g}") + 0.0 for v in np.ravel(values)]).reshape(np.shape(values))


def objects(root):
    """Every object reachable from ``root`` through attributes, lists, tuples and dicts."""
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, (str, bytes, int, float, np.ndarray, type)) or node is None:
            continue
        seen.add(id(node))
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif hasattr(node, "__dict__"):
            yield node
            stack.extend(vars(node).values())


def as_stored(estimator):
    """A copy of a fitted estimator with the floats the format documents as CPU-dependent rounded to 8
    significant digits: the logistic regression's coefficients, the sigmoid and isotonic calibrations'
    parameters, the AdaBoost (and RUSBoost) weights and their trees' leaf values. Nothing else."""
    stored = copy.deepcopy(prediction_path(estimator))
    for obj in objects(stored):
        if isinstance(obj, LogisticRegression) and hasattr(obj, "coef_"):
            obj.coef_, obj.intercept_ = rounded(obj.coef_), rounded(obj.intercept_)
        elif isinstance(obj, _SigmoidCalibration):
            obj.a_, obj.b_ = rounded(obj.a_)[()], rounded(obj.b_)[()]
        elif isinstance(obj, IsotonicRegression):
            for key in ("X_thresholds_", "y_thresholds_", "X_min_", "X_max_"):
                setattr(obj, key, rounded(getattr(obj, key)))
            obj._build_f(obj.X_thresholds_, obj.y_thresholds_)
        elif isinstance(obj, AdaBoostClassifier) and hasattr(obj, "estimator_weights_"):  # RUSBoost too
            obj.estimator_weights_ = rounded(obj.estimator_weights_)
            for tree in obj.estimators_:
                tree.tree_.value[...] = rounded(tree.tree_.value)
    return stored


# --- walking a saved file -----------------------------------------------------------------


def object_names(node):
    if isinstance(node, dict):
        if "__object__" in node:
            yield node["__object__"]
        for item in node.values():
            yield from object_names(item)
    elif isinstance(node, list):
        for item in node:
            yield from object_names(item)


def saved_objects(node, name):
    """The saved entries of every object of class ``name``, in file order."""
    if isinstance(node, dict):
        if node.get("__object__") == name:
            yield node
        for item in node.values():
            yield from saved_objects(item, name)
    elif isinstance(node, list):
        for item in node:
            yield from saved_objects(item, name)


def pair(entry: dict, key: str) -> list:
    """The [name, value] pair of an attribute in a saved object's state."""
    return next(p for p in entry["state"]["__map__"] if p[0] == key)


def read_field(records: dict, field: str) -> np.ndarray:
    data = records["fields"][field]
    return np.frombuffer(base64.b64decode(data["__base64__"]), dtype=data["dtype"]).copy()


def write_field(records: dict, field: str, values: np.ndarray) -> None:
    records["fields"][field] = {"__base64__": base64.b64encode(values.tobytes()).decode("ascii"),
                                "dtype": values.dtype.str, "shape": list(values.shape)}


def assert_no_sampler(text: str) -> None:
    data = json.loads(text)
    assert set(object_names(data)) <= TRUSTED_NAMES
    for name in SAMPLER_NAMES:
        assert name not in text, name


def assert_round_trip(estimator, name: str):
    """JSON text -> model -> predict_proba identical to the fitted estimator's as stored; no sampler
    in the file; saving what was loaded gives the same bytes. Returns a freshly loaded model."""
    text = text_of(estimator)
    model = loaded(text)
    expected = as_stored(estimator).predict_proba(ROWS)
    assert np.array_equal(model.predict_proba(ROWS), expected)
    if name in EXACT and not isinstance(prediction_path(estimator), CalibratedClassifierCV):
        assert np.array_equal(expected, prediction_path(estimator).predict_proba(ROWS))
    assert_no_sampler(text)
    assert resaved(model, text) == text
    return loaded(text)


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("settings", ["default", "typical"])
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_every_classifier_round_trips_to_identical_probabilities(name, settings):
    estimator = fitted(name, settings)
    model = assert_round_trip(estimator, name)
    assert isinstance(model, PredictionPipeline) and [step for step, _ in model.steps] == ["scale", "model"]
    assert type(model.named_steps["model"]) is classifier_classes()[name]
    assert list(model.feature_names_in_) == FEATURES


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_prior_shift_corrected_classifiers_round_trip(name):
    estimator = fitted(name, "typical", "prior")
    model = assert_round_trip(estimator, name).named_steps["model"]
    assert type(model) is PriorShiftCorrected and type(model.estimator_) is classifier_classes()[name]
    assert (model.prior, model.fitted_rate_) == (estimator.named_steps["model"].prior,
                                                 estimator.named_steps["model"].fitted_rate_)


# EasyEnsemble's 500 stumps take 7 s per calibrated fit: its parts (AdaBoost, rounding) are covered above. Every
# classifier inside the isotonic calibrator; the sigmoid one (a calibrator of another kind, the same classifier
# paths) around a linear model and a boosted one.
CALIBRATED = [(name, "isotonic") for name in CLASSIFIERS if name != "EasyEnsembleClassifier"] + [
    ("LogisticRegression", "sigmoid"), ("HistGradientBoostingClassifier", "sigmoid")]


@pytest.mark.parametrize("name, method", CALIBRATED)
def test_calibrated_classifiers_round_trip(name, method):
    estimator = fitted(name, "typical", method)
    model = assert_round_trip(estimator, name)
    assert type(model) is CalibratedClassifierCV and model.method == method
    assert len(model.calibrated_classifiers_) == 3 and list(model.feature_names_in_) == FEATURES
    for member in model.calibrated_classifiers_:
        assert [step for step, _ in member.estimator.steps] == ["scale", "model"]
        assert type(member.calibrators[0]) is (_SigmoidCalibration if method == "sigmoid" else IsotonicRegression)


@pytest.mark.parametrize("name", ["LogisticRegression", "HistGradientBoostingClassifier"])
def test_a_tuned_threshold_around_a_calibrated_pipeline_round_trips(name):
    estimator = fitted(name, "typical", "tuned")
    model = assert_round_trip(estimator, name)
    assert type(model) is CalibratedClassifierCV
    assert model.tuned_threshold == float(f"{estimator.best_threshold_:.8g}")


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_fitting_twice_gives_the_same_bytes(name):
    assert text_of(strategy(name)) == text_of(fitted(name))


def test_a_calibrated_model_fitted_twice_gives_the_same_bytes():
    assert text_of(strategy("BalancedBaggingClassifier", "typical", "isotonic")) == \
        text_of(fitted("BalancedBaggingClassifier", "typical", "isotonic"))


def test_the_boosting_file_does_not_depend_on_the_thread_count():
    """HistGradientBoosting's bin mapper records the machine's OpenMP thread count: left out of the file."""
    from threadpoolctl import threadpool_limits

    texts = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="openmp"):
            estimator = strategy("HistGradientBoostingClassifier")
        assert estimator.named_steps["model"]._bin_mapper.n_threads == threads
        texts.append(text_of(estimator))
    assert texts[0] == texts[1]


def test_boosting_weights_are_rounded_but_split_thresholds_are_not():
    """The CPU-dependent floats keep 8 significant digits; a tree's thresholds keep every bit."""
    estimator = fitted("RUSBoostClassifier")
    model = loaded(text_of(estimator)).named_steps["model"]
    original = estimator.named_steps["model"]
    assert np.array_equal(model.estimator_weights_, rounded(original.estimator_weights_))
    assert not np.array_equal(model.estimator_weights_, original.estimator_weights_)
    thresholds = np.concatenate([tree.tree_.threshold for tree in original.estimators_])
    assert np.array_equal(np.concatenate([tree.tree_.threshold for tree in model.estimators_]), thresholds)
    assert not np.array_equal(rounded(thresholds), thresholds)


def test_ensemble_members_are_stored_without_their_samplers():
    """EasyEnsemble's and BalancedBagging's members are (sampler, classifier) pipelines: stored as the classifier;
    the samplers the forests and RUSBoost keep are not stored at all."""
    for name, member in (("EasyEnsembleClassifier", AdaBoostClassifier),
                         ("BalancedBaggingClassifier", DecisionTreeClassifier)):
        model = loaded(text_of(fitted(name))).named_steps["model"]
        assert all(type(m) is member for m in model.estimators_)
        assert type(model.estimator_) is member
    for name in ("BalancedRandomForestClassifier", "RUSBoostClassifier"):
        model = loaded(text_of(fitted(name))).named_steps["model"]
        assert not {"samplers_", "pipelines_", "base_sampler_"} & set(vars(model))


def test_tree_nodes_are_stored_field_by_field_as_binary():
    """Tree nodes go field by field as base64 of their bytes (a forest's file would be several times larger as
    lists), every bit kept."""
    estimator = fitted("RandomForestClassifier")
    trees = [tree.tree_ for tree in estimator.named_steps["model"].estimators_]
    saved = list(saved_objects(json.loads(text_of(estimator)), TREE))
    assert len(saved) == len(trees)
    for entry, tree in zip(saved, trees, strict=True):
        nodes = pair(entry, "nodes")[1]
        assert all("__base64__" in field for field in nodes["fields"].values())
        for field, attribute in (("left_child", "children_left"), ("right_child", "children_right"),
                                 ("feature", "feature"), ("threshold", "threshold")):
            assert np.array_equal(read_field(nodes, field), getattr(tree, attribute))


def test_the_format_knows_every_classifier_the_project_fits():
    assert set(CLASSIFIER_NAMES) == {f"{cls.__module__}.{cls.__qualname__}" for cls in classifier_classes().values()}
    assert set(CLASSIFIER_NAMES) <= TRUSTED_NAMES


def test_every_class_that_restores_itself_has_been_reviewed():
    """The loader restores objects through their class's __setstate__: only the ones read for what they do
    with a file's state (BaseEstimator's: a dict update and a version check; IsotonicRegression's: rebuilds its
    interpolation from its thresholds; TreePredictor's: casts its nodes, checked before; Tree's: copies the
    checked arrays). A new one (a library upgrade) must be read before it is trusted."""
    reviewed = {BaseEstimator.__setstate__, IsotonicRegression.__setstate__, TreePredictor.__setstate__,
                Tree.__setstate__}
    for name in sorted(TRUSTED_NAMES):
        if name not in CONSTRUCTOR_ARGUMENTS:
            setstate = getattr(trusted_class(name), "__setstate__", None)
            assert setstate is None or setstate in reviewed, name



def test_the_persistence_modules_import_in_layers():
    """The model-file modules import one another without a cycle, and none imports the face (modelfile.py):
    each part can be read (and imported) without the ones above it."""
    folder = ROOT / "src" / "imbalance_lab" / "persistence"
    graph = {}
    for path in folder.glob("*.py"):
        imported = {node.module.rpartition(".")[2] for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("imbalance_lab.persistence.")}
        graph[path.stem] = imported
    assert {"trust", "encode", "decode", "trees", "checks", "identity", "records"} <= set(graph)
    assert not [name for name, imported in graph.items() if "modelfile" in imported]
    graphlib.TopologicalSorter(graph).prepare()  # CycleError on a cycle

# --- hostile files ----------------------------------------------------------------------


@cache
def forest_text() -> str:
    """A small real model file: 3 trees of depth 3."""
    estimator = Pipeline([("scale", StandardScaler()), ("sampler", SMOTE(random_state=0)), ("model", classifier(
        "RandomForestClassifier", "default").set_params(n_estimators=3, max_depth=3))]).fit(X, Y)
    return text_of(estimator)


@cache
def boosting_text() -> str:
    estimator = Pipeline([("scale", StandardScaler()), ("model", classifier(
        "HistGradientBoostingClassifier", "default").set_params(max_iter=3))]).fit(X, Y)
    return text_of(estimator)


def forest() -> dict:
    return json.loads(forest_text())


def refused(data, *fragments):
    with pytest.raises(UntrustedModelError) as caught:
        model_from_dict(data)
    for fragment in fragments:
        assert re.search(fragment, str(caught.value)), str(caught.value)
    return str(caught.value)


def test_the_unchanged_small_files_load():
    assert loaded(forest_text()).predict_proba(ROWS).shape == (len(ROWS), 2)
    assert loaded(boosting_text()).predict_proba(ROWS).shape == (len(ROWS), 2)


@pytest.mark.parametrize("name", [
    "os.system", "builtins.eval", "imblearn.over_sampling._smote.base.SMOTE",
    "imblearn.under_sampling._prototype_selection._random_under_sampler.RandomUnderSampler",
    "imblearn.pipeline.Pipeline", "sklearn.ensemble._forest.RandomForest", "sklearn.tree._tree",
    "sklearn.tree._tree.Tree.__setstate__", "sklearn.calibration._Sigmoid", "sklearn.ensemble",
])
def test_a_class_outside_the_list_is_refused_before_anything_is_built(name):
    """The name sits in the last tree; the first tree is broken so that building it would fail with another
    message: the name is refused first, nothing built."""
    data = forest()
    trees = list(saved_objects(data, TREE))
    nodes = pair(trees[0], "nodes")[1]
    write_field(nodes, "left_child", np.full_like(read_field(nodes, "left_child"), 10_000))
    trees[-1]["__object__"] = name
    assert untrusted_names(data) == [name]
    message = refused(data, f"refusing to load '{re.escape(name)}'", "not one of the classes")
    assert "child" not in message


def test_a_sampler_cannot_be_saved_nor_loaded_as_a_step():
    with pytest.raises(TypeError, match="SMOTE"):
        encode_state(SMOTE(random_state=0))
    data = forest()
    smote = {"__object__": "imblearn.over_sampling._smote.base.SMOTE", "state": {"__map__": []}}
    pair(data["pipeline"], "steps")[1].insert(1, {"__tuple__": ["sampler", smote]})
    refused(data, "refusing to load 'imblearn.over_sampling._smote.base.SMOTE'")


def test_a_pipeline_not_ending_in_a_classifier_is_refused():
    data = forest()
    steps = pair(data["pipeline"], "steps")[1]
    steps[-1] = steps[0]  # the scaler as the last step: a trusted class, not a classifier
    refused(data, "not a pipeline of named steps ending in one of LogisticRegression", "StandardScaler")


def first_tree(data) -> dict:
    return next(saved_objects(data, TREE))


def nodes_of(data) -> dict:
    return pair(first_tree(data), "nodes")[1]


def set_child(side: str, value):
    def change(data):
        nodes = nodes_of(data)
        children = read_field(nodes, side)
        children[0] = value(len(children)) if callable(value) else value
        write_field(nodes, side, children)
    return change


def set_second_split_child(data):
    """The first split below the root points back at the root: a cycle."""
    nodes = nodes_of(data)
    left = read_field(nodes, "left_child")
    inner = int(np.flatnonzero(left[1:] != -1)[0]) + 1
    left[inner] = 0
    write_field(nodes, "left_child", left)


def set_feature(value: int):
    def change(data):
        nodes = nodes_of(data)
        feature = read_field(nodes, "feature")
        feature[0] = value
        write_field(nodes, "feature", feature)
    return change


def set_tree_width(data):
    """Tree and DecisionTreeClassifier claim 5 features and split on the 5th; the forest checks rows for 2."""
    tree_entry = first_tree(data)
    tree_entry["args"]["__tuple__"][0] = 5
    set_feature(4)(data)
    [owner] = [entry for entry in saved_objects(data, "sklearn.tree._classes.DecisionTreeClassifier")
               if any(p[0] == "tree_" and p[1] is tree_entry for p in entry["state"]["__map__"])]
    pair(owner, "n_features_in_")[1] = 5


def set_decision_tree_width(data):
    """The tree claims 5 features and splits on the 5th, its DecisionTreeClassifier checks rows for 2."""
    first_tree(data)["args"]["__tuple__"][0] = 5
    set_feature(4)(data)


def set_node_count(data):
    pair(first_tree(data), "node_count")[1] += 1


def drop_field(data):
    del nodes_of(data)["fields"]["missing_go_to_left"]


def add_field(data):
    nodes_of(data)["fields"]["extra"] = nodes_of(data)["fields"]["feature"]


def narrow_field(data):
    nodes = nodes_of(data)
    write_field(nodes, "left_child", read_field(nodes, "left_child").astype("<i4"))


def rename_layout(name: str):
    def change(data):
        nodes_of(data)["__records__"] = name
    return change


def inline_records(dtype: str):
    """The nodes as one plain array of a record dtype (the v2 way), not field by field."""
    def change(data):
        pair(first_tree(data), "nodes")[1] = {"__array__": [], "dtype": dtype, "shape": [0]}
    return change


def short_bytes(data):
    nodes = nodes_of(data)
    nodes["fields"]["threshold"]["__base64__"] = nodes["fields"]["threshold"]["__base64__"][:-12]


TREE_CASES = [
    ("left-child-out-of-range", set_child("left_child", lambda count: count + 5), r"node 0's left child is \d+"),
    ("right-child-out-of-range", set_child("right_child", 1_000_000), r"node 0's right child is 1000000"),
    ("child-pointing-back", set_second_split_child, r"left child is 0: a split's children must come after it"),
    ("child-to-itself", set_child("right_child", 0), r"node 0's right child is 0"),
    ("one-child", set_child("right_child", -1), r"node 0 has one child only"),
    ("feature-beyond-n_features", set_feature(2), r"node 0 splits on feature 2, outside the tree's 2 features"),
    ("negative-feature", set_feature(-2), r"node 0 splits on feature -2"),
    ("tree-wider-than-its-estimator", set_decision_tree_width, r"DecisionTreeClassifier: its tree_ must be a tree "
                                                               r"over its n_features_in_"),
    ("tree-wider-than-the-forest", set_tree_width, r"RandomForestClassifier: estimators_ must be decision trees "
                                                   r"over the forest's n_features_in_"),
    ("node-count", set_node_count, r"node_count must be the number of nodes"),
    ("field-missing", drop_field, r"the fields must be exactly"),
    ("field-extra", add_field, r"the fields must be exactly"),
    ("field-dtype", narrow_field, r"field 'left_child' must be a 1-dimensional array of <i8, got int32"),
    ("layout-unknown", rename_layout("sklearn.tree._tree.NODE_DTYPE2"),
     r"refusing to load 'record layout sklearn.tree._tree.NODE_DTYPE2'"),
    ("layout-numpy", rename_layout("numpy.dtype"), r"'record layout numpy.dtype'"),
    ("records-as-array", inline_records("[('left_child', '<i8')]"), r"dtype \[\('left_child', '<i8'\)\]"),
    ("records-as-void", inline_records("|V64"), r"dtype \|V64"),
    ("bytes-short", short_bytes, r"bytes cannot hold an array of shape"),
]


@pytest.mark.parametrize("change, message", [pytest.param(c, m, id=i) for i, c, m in TREE_CASES])
def test_a_tree_that_would_read_outside_its_arrays_is_refused(change, message):
    data = forest()
    change(data)
    refused(data, message)


def predictor_nodes(data) -> dict:
    predictor = next(saved_objects(data, "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"))
    return pair(predictor, "nodes")[1]


def set_predictor_field(field: str, value):
    def change(data):
        nodes = predictor_nodes(data)
        values = read_field(nodes, field)
        values[0] = value(len(values)) if callable(value) else value
        write_field(nodes, field, values)
    return change


PREDICTOR_CASES = [
    ("left-out-of-range", set_predictor_field("left", lambda count: count), r"node 0's left child is \d+"),
    ("right-to-itself", set_predictor_field("right", 0), r"node 0's right child is 0"),
    ("feature-beyond-n_features", set_predictor_field("feature_idx", 2),
     r"HistGradientBoostingClassifier: a tree splits on a feature outside its 2 features"),
    ("categorical-split", set_predictor_field("is_categorical", 1), r"categorical splits are not supported"),
    ("predictor-layout", lambda data: predictor_nodes(data).__setitem__("__records__", "sklearn.tree._tree.NODE_DTYPE"),
     r"the fields must be exactly"),
]


@pytest.mark.parametrize("change, message", [pytest.param(c, m, id=i) for i, c, m in PREDICTOR_CASES])
def test_a_boosting_tree_that_would_read_outside_its_arrays_is_refused(change, message):
    data = json.loads(boosting_text())
    change(data)
    refused(data, message)


def test_the_format_is_v4_and_an_older_file_says_to_rerun_train():
    assert FORMAT == "imbalance-lab/pipeline/v4"
    data = forest()
    assert data["format"] == FORMAT
    data["format"] = "imbalance-lab/pipeline/v3"
    refused(data, r"older format 'imbalance-lab/pipeline/v3'", r"rerun its train stage \(`dvc repro`\)")


@pytest.mark.parametrize("name, key", [
    ("sklearn.isotonic.IsotonicRegression", "f_"),
    ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier", "_in_fit"),
])
def test_attributes_the_class_rebuilds_or_only_fit_sets_are_refused(name, key):
    data = json.loads(text_of(fitted("HistGradientBoostingClassifier", "typical", "isotonic")))
    next(saved_objects(data, name))["state"]["__map__"].append([key, True])
    refused(data, f"refusing to load {re.escape(name)} with the attribute '{key}'")


# --- what a file says it is -------------------------------------------------------------------------


def cell_settings(**changes):
    """The baseline strategy and hgb classifier as params.yaml parses them (with dotted keys changed)."""
    params = yaml_params()
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = params
        for part in parents:
            node = node[part]
        node[last] = value
    return strategy_settings(params, "baseline"), classifier_settings(params, "hgb")


def test_the_identity_names_the_cell_the_classifier_class_and_a_digest_of_its_settings():
    identity = model_identity(*cell_settings())
    assert identity["cell"] == "baseline-hgb"
    assert identity["classifier"] == \
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier"
    assert re.fullmatch(r"[0-9a-f]{64}", identity["settings"])
    assert model_identity(*cell_settings()) == identity  # the same settings, the same digest


@pytest.mark.parametrize("dotted, value", [("classifiers.hgb.max_iter", 31), ("classifiers.hgb.learning_rate", 0.2),
                                           ("seed", 7), ("strategies.baseline.class_weight", "balanced"),
                                           ("model.scale", True), ("strategies.baseline.correct_prior", True)])
def test_every_setting_of_the_cell_changes_the_digest(dotted, value):
    assert settings_digest(*cell_settings(**{dotted: value})) != settings_digest(*cell_settings())


def test_settings_of_other_cells_do_not_change_the_digest():
    assert settings_digest(*cell_settings(**{"classifiers.logreg.C": 3.0, "strategies.smote.k_neighbors": 3})) == \
        settings_digest(*cell_settings())


@cache
def cell_text() -> str:
    strategy, classifier = cell_settings()
    estimator = build_pipeline(strategy, ClassifierSettings("hgb", "HistGradientBoostingClassifier",
                                                              {"max_iter": 3}), None)
    fit_model(estimator, X, Y)
    return json.dumps(model_to_dict(estimator, FEATURES, True, model_identity(strategy, classifier)))


def test_a_loader_gets_the_model_it_expects_and_refuses_any_other():
    identity = model_identity(*cell_settings())
    assert json.loads(cell_text())["identity"] == identity
    assert model_from_dict(json.loads(cell_text()), identity).predict_proba(ROWS).shape == (len(ROWS), 2)
    other = model_identity(*cell_settings(**{"classifiers.hgb.max_iter": 31}))
    refused_as(json.loads(cell_text()), other, r"trained with other settings than params.yaml now gives its cell")
    params = yaml_params()
    logreg = model_identity(strategy_settings(params, "smote"), classifier_settings(params, "logreg"))
    refused_as(json.loads(cell_text()), logreg, r"this model file is cell baseline-hgb "
               r"\(HistGradientBoostingClassifier, settings [0-9a-f]{12}\), expected cell smote-logreg "
               r"\(LogisticRegression")
    no_identity = {**json.loads(cell_text()), "identity": None}
    refused_as(no_identity, identity, "it does not say what it is")
    assert model_from_dict(no_identity) is not None  # a unit-level load that expects nothing


def test_a_file_claiming_another_classifier_than_it_holds_is_refused():
    data = json.loads(cell_text())
    params = yaml_params()
    data["identity"] = model_identity(strategy_settings(params, "baseline"), classifier_settings(params, "logreg"))
    refused(data, r"says it is cell baseline-logreg \(LogisticRegression.*but holds a HistGradientBoostingClassifier")
    with pytest.raises(TypeError, match="cannot save a"):
        model_to_dict(fitted("HistGradientBoostingClassifier"), FEATURES, True, data["identity"])


def yaml_params():

    import yaml

    return yaml.safe_load((ROOT / "params.yaml").read_text())


def refused_as(data, expected, *fragments):
    with pytest.raises(UntrustedModelError) as caught:
        model_from_dict(data, expected)
    for fragment in fragments:
        assert re.search(fragment, str(caught.value)), str(caught.value)


# --- callables, content and bounds ------------------------------------------------------------------


def test_a_saved_n_jobs_is_null_and_a_file_cannot_set_another():
    """The train stage's own n_jobs (this machine's) is not saved; a file asking for processes is refused."""
    estimator = Pipeline([("model", classifier("RandomForestClassifier", "default").set_params(
        n_estimators=3, n_jobs=2))]).fit(X, Y)
    data = json.loads(text_of(estimator))
    [forest_entry] = saved_objects(data, "sklearn.ensemble._forest.RandomForestClassifier")
    assert pair(forest_entry, "n_jobs")[1] is None
    assert model_from_dict(copy.deepcopy(data)).named_steps["model"].n_jobs is None
    for value in (4, -1, True, "2"):
        pair(forest_entry, "n_jobs")[1] = value
        refused(data, rf"its n_jobs is {re.escape(repr(value))}: a model file's n_jobs must be null")
    pair(forest_entry, "n_jobs")[1] = 1
    assert model_from_dict(data) is not None


def test_the_known_attributes_are_those_real_fits_set():
    """Every attribute the table adds to a class's parameters and documented attributes is set by a real fit of the
    project's prediction paths (the table is generated from them, not written by hand)."""
    seen: dict[str, set] = {}
    texts = [text_of(fitted(name, settings)) for name in CLASSIFIERS for settings in ("default", "typical")]
    texts += [text_of(fitted("LogisticRegression", "typical", wrap)) for wrap in ("prior", "sigmoid", "isotonic")]
    texts += mixed_texts()
    for text in texts:
        for name, attributes in state_keys(json.loads(text)):
            seen.setdefault(name, set()).update(attributes)
            assert attributes <= known_attributes(name), (name, attributes - known_attributes(name))
    for name, attributes in FITTED_STATE.items():
        assert set(attributes) <= seen.get(name, set()), (name, set(attributes) - seen.get(name, set()))


def state_keys(node):
    if isinstance(node, dict):
        if "__object__" in node and node["__object__"] != TREE and "__map__" in node["state"]:
            yield node["__object__"], {key for key, _ in node["state"]["__map__"]}
        for item in node.values():
            yield from state_keys(item)
    elif isinstance(node, list):
        for item in node:
            yield from state_keys(item)


@cache
def mixed_texts() -> list[str]:
    """The longer prediction paths (impute, one-hot, bins, splines in column transformers) on data with a category
    and gaps."""
    from imbalance_lab.data.dataset import columns_of

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"balance": rng.normal(0, 1, 300), "age": rng.normal(40, 10, 300),
                          "region": pd.Categorical(rng.choice(["north", "south", "east"], 300))})
    frame.loc[[0, 10], "age"] = np.nan
    y = ((frame["balance"] + (frame["region"] == "east") * 1.5 + rng.normal(0, .7, 300)) > 2).astype(int).to_numpy()
    texts = []
    for basis in (None, {"kind": "bins", "n_bins": 4}, {"kind": "splines"}):
        for name, options in (("LogisticRegression", {"max_iter": 1000}), ("HistGradientBoostingClassifier",
                                                                           {"max_iter": 3})):
            strategy = StrategySettings(name="s", sampler="none", options={}, scale=True, basis=basis, seed=0)
            estimator = build_pipeline(strategy, ClassifierSettings("c", name, options), None,
                                       columns_of(frame, "impute"))
            fit_model(estimator, frame, y)
            text = json.dumps(model_to_dict(estimator, list(frame.columns), True))
            assert np.allclose(model_from_dict(json.loads(text)).predict_proba(frame), estimator.predict_proba(frame),
                               rtol=1e-6, atol=1e-7)
            texts.append(text)
    return texts


def inline(values) -> dict:
    return {"__array__": list(values), "dtype": "<U3", "shape": [len(values)]}


def test_an_array_out_of_proportion_to_the_file_is_refused_before_it_is_allocated():
    import tracemalloc

    data = forest()
    model = next(saved_objects(data, "sklearn.preprocessing._data.StandardScaler"))
    pair(model, "feature_names_in_")[1] = {"__array__": ["age", "balance"], "dtype": "<U900000", "shape": [2]}
    tracemalloc.start()
    refused(data, r"strings of dtype <U900000 whose longest is 7 characters")
    assert tracemalloc.get_traced_memory()[1] < 50_000_000
    tracemalloc.stop()
    pair(model, "feature_names_in_")[1] = {"__array__": ["age"], "dtype": "|O", "shape": [10**6, 10**6]}
    refused(data, r"shape \[1000000, 1000000\] from 1 items")
    pair(model, "feature_names_in_")[1] = {"__array__": ["age", "balance"], "dtype": "<U7", "shape": [2]}
    assert model_from_dict(data) is not None  # a width that fits its strings loads


@pytest.mark.parametrize("name, key, value", [
    ("sklearn.ensemble._forest.RandomForestClassifier", "n_threads", 64),
    ("sklearn.tree._classes.DecisionTreeClassifier", "_fitted_with_sw", True),
    ("sklearn.pipeline.Pipeline", "_cache", "/tmp"),
])
def test_an_attribute_the_class_neither_takes_nor_fits_is_refused(name, key, value):
    data = forest()
    next(saved_objects(data, name))["state"]["__map__"].append([key, value])
    refused(data, rf"{re.escape(name)} with the attribute '{key}': not one of the attributes that class is built or "
                  "fitted with")


FUNCTION = "sklearn.preprocessing._function_transformer.FunctionTransformer"


@pytest.mark.parametrize("key, value, message", [
    ("func", {"__type__": "numpy.float64"}, r"'func' holds the callable numpy.float64.*func and inverse_func must be"),
    ("func", {"__type__": "numpy.int32"}, r"refusing to load 'numpy.int32'"),
    ("inverse_func", {"__object__": "scipy.interpolate._bsplines.BSpline", "state": {"__map__": [
        ["axis", 0], ["c", {"__array__": [1.0, 1.0], "dtype": "<f8", "shape": [2]}], ["extrapolate", True], ["k", 1],
        ["t", {"__array__": [0.0, 0.0, 1.0, 1.0], "dtype": "<f8", "shape": [4]}]]}},
     r"'inverse_func' holds the callable a scipy.interpolate._bsplines.BSpline object"),
    ("validate", {"__type__": "numpy.float32"}, r"'validate' holds the callable numpy.float32"),
])
def test_no_callable_comes_from_a_file(key, value, message):
    """The passthrough FunctionTransformer a fitted ColumnTransformer keeps loads only with no function."""
    data = json.loads(mixed_texts()[0])
    function = next(obj for obj in saved_objects(data, FUNCTION) if any(p[0] == "n_features_in_"
                                                                         for p in obj["state"]["__map__"]))
    pair(function, key)[1] = value
    refused(data, message)


def test_a_type_is_only_ever_a_dtype():
    data = json.loads(mixed_texts()[0])
    encoder = next(saved_objects(data, "sklearn.preprocessing._encoders.OneHotEncoder"))
    assert pair(encoder, "dtype")[1] == {"__type__": "numpy.float64"}  # what the project writes, and loads
    pair(encoder, "handle_unknown")[1] = {"__type__": "numpy.float64"}
    refused(data, r"'handle_unknown' holds the callable numpy.float64")


def calibrated_text(method: str) -> str:
    return text_of(fitted("LogisticRegression", "typical", method))


@pytest.mark.parametrize("method, name, key, value, message", [
    ("sigmoid", "sklearn.calibration._SigmoidCalibration", "a_", {"__float__": "nan"}, r"'a_' is not finite"),
    ("sigmoid", "sklearn.calibration._SigmoidCalibration", "b_", {"__float__": "-inf"}, r"'b_' is not finite"),
    ("sigmoid", "sklearn.calibration._CalibratedClassifier", "method", "temperature",
     r"its method must be sigmoid or isotonic"),
    ("sigmoid", "sklearn.calibration._CalibratedClassifier", "classes",
     {"__array__": [1, 0], "dtype": "<i8", "shape": [2]}, r"its classes must be \[0, 1\]"),
    ("isotonic", "sklearn.isotonic.IsotonicRegression", "out_of_bounds", "nan", r"out_of_bounds must be 'clip'"),
    ("isotonic", "sklearn.isotonic.IsotonicRegression", "y_thresholds_", "SCALE", r"y_thresholds_ probabilities"),
    ("isotonic", "sklearn.isotonic.IsotonicRegression", "X_thresholds_", "REVERSE", r"X_thresholds_ must be incr"),
])
def test_a_calibration_must_be_a_binary_calibration_of_finite_numbers(method, name, key, value, message):
    data = json.loads(calibrated_text(method))
    obj = next(saved_objects(data, name))
    if value in ("SCALE", "REVERSE"):
        array = pair(obj, key)[1]
        items = list(array["__array__"])
        array["__array__"] = [item * 2 + 0.5 for item in items] if value == "SCALE" else items[::-1]
    else:
        pair(obj, key)[1] = value
    refused(data, message)


@pytest.mark.parametrize("name, owner", [
    ("RUSBoostClassifier", "imblearn.ensemble._weight_boosting.RUSBoostClassifier"),
    ("EasyEnsembleClassifier", "sklearn.ensemble._weight_boosting.AdaBoostClassifier"),  # its members
])
def test_boosting_weights_must_add_up(name, owner):
    """AdaBoost divides by the sum of its weights: all zero would make every probability NaN."""
    data = json.loads(text_of(fitted(name)))
    boosting = next(obj for obj in saved_objects(data, owner) if any(p[0] == "estimator_weights_"
                                                                     for p in obj["state"]["__map__"]))
    shape = pair(boosting, "estimator_weights_")[1]["shape"]
    pair(boosting, "estimator_weights_")[1] = {"__array__": [0.0] * shape[0], "dtype": "<f8", "shape": shape}
    refused(data, r"estimator_weights_ must be non-negative weights of its \d+ estimators with a positive sum")


def test_a_column_transformer_may_not_weigh_its_outputs():
    data = json.loads(mixed_texts()[0])
    columns = next(obj for obj in saved_objects(data, "sklearn.compose._column_transformer.ColumnTransformer")
                   if any(p[0] == "transformers_" for p in obj["state"]["__map__"]))
    pair(columns, "transformer_weights")[1] = {"__map__": [["numeric", 1e6]]}
    refused(data, r"its transformer_weights null")
