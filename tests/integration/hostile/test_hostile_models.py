"""Hostile model files: what evaluate and compare refuse to load (see tests/integration/hostile/hostile.py)."""

from __future__ import annotations

import base64
import json
import time
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from hostile import (
    EDITED_PARAMS,
    REBUILD,
    ROOT,
    article_split,
    cut_in_half,
    nothing_ran,
    refused,
    untouched,
)
from imbalance_lab.pipeline import cli
from imbalance_lab.pipeline.outputs import read_model
from imbalance_lab.settings.params import PipelineError

pytestmark = pytest.mark.integration


# --- D. model files --------------------------------------------------------------------------

@cache
def cell_model_text(classifier: str = "logreg", strategy: str = "baseline") -> str:
    """A real model file as the train stage writes it, identity included: the cell fitted on the article's
    training split with the project's params.yaml (that of the committed copy)."""
    from imbalance_lab.data.dataset import features_and_target
    from imbalance_lab.models.estimators import build_pipeline, fit_model
    from imbalance_lab.persistence.modelfile import model_identity, model_to_dict
    from imbalance_lab.settings.params import classifier_settings, load, strategy_settings

    params = load(ROOT / "params.yaml")
    settings = strategy_settings(params, strategy), classifier_settings(params, classifier)
    estimator = build_pipeline(*settings, None)
    X, y = features_and_target(article_split()[0])
    converged = fit_model(estimator, X, y)
    return json.dumps(model_to_dict(estimator, X.columns, converged, model_identity(*settings)))


def write_prediction_inputs(root: Path) -> None:
    """The files evaluate reads after the model: with them, a loaded model would predict."""
    from imbalance_lab.data.dataset import class_counts

    train, test = article_split()
    (root / "data/split").mkdir(parents=True, exist_ok=True)
    (root / "data/resampled").mkdir(parents=True, exist_ok=True)
    train.to_parquet(root / "data/split/train.parquet", index=False)
    test.to_parquet(root / "data/split/test.parquet", index=False)
    train.to_parquet(root / "data/resampled/baseline.parquet", index=False)
    counts = class_counts(train.iloc[:, -1])
    (root / "data/resampled/baseline.json").write_text(
        json.dumps({"sampler": "none", "counts_before": counts, "counts": counts, "notes": []}))


def entries(obj: dict) -> list:
    """The [name, value] pairs of a saved object's state."""
    return obj["state"]["__map__"]


def entry(obj: dict, name: str) -> list:
    return next(pair for pair in entries(obj) if pair[0] == name)


def steps(model: dict) -> list:
    return entry(model["pipeline"], "steps")[1]


def logistic(model: dict) -> dict:
    return steps(model)[-1]["__tuple__"][1]


def replace_pipeline(name: str):
    def change(model):
        model["pipeline"]["__object__"] = name
    return change


def replace_model_step(name: str):
    def change(model):
        logistic(model)["__object__"] = name
    return change


def add_function_step(func):
    """A first step FunctionTransformer (a trusted class) whose func would run `touch PWNED` at predict time."""
    def change(model):
        from sklearn.preprocessing import FunctionTransformer

        from imbalance_lab.persistence.modelfile import encode_state

        saved = encode_state(FunctionTransformer(kw_args={"command": "touch PWNED"}))
        entry(saved, "func")[1] = func
        steps(model).insert(0, {"__tuple__": ["prepare", saved]})
    return change


def set_logistic(name: str, value):
    def change(model):
        entries(logistic(model)).append([name, value])
    return change


def set_array_dtype(dtype: str):
    def change(model):
        entry(logistic(model), "coef_")[1]["dtype"] = dtype
    return change


def set_state_key(name: str):
    def change(model):
        entries(model["pipeline"]).append([name, {"__type__": "numpy.float64"}])
    return change


def set_top(name: str, value):
    def change(model):
        model[name] = value
    return change


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


MODEL_CASES = [
    # (id, change to the valid file or its whole text, fragments the message must hold, predict-time payload)
    ("os.system", replace_pipeline("os.system"), ["'os.system'"]),
    ("builtins.eval", replace_pipeline("builtins.eval"), ["'builtins.eval'"]),
    ("subprocess.Popen", replace_model_step("subprocess.Popen"), ["'subprocess.Popen'"]),
    ("numpy.load-function", replace_model_step("numpy.load"), ["'numpy.load'"]),
    ("sklearn-function", replace_model_step("sklearn.utils._testing.ignore_warnings"),
     ["'sklearn.utils._testing.ignore_warnings'"]),
    ("make_pipeline-function", replace_pipeline("sklearn.pipeline.make_pipeline"),
     ["'sklearn.pipeline.make_pipeline'"]),
    ("lookalike-Pipeline2", replace_pipeline("sklearn.pipeline.Pipeline2"), ["'sklearn.pipeline.Pipeline2'"]),
    ("lookalike-sklearnx", replace_pipeline("sklearnx.pipeline.Pipeline"), ["'sklearnx.pipeline.Pipeline'"]),
    ("lookalike-__init__", replace_pipeline("sklearn.pipeline.Pipeline.__init__"),
     ["'sklearn.pipeline.Pipeline.__init__'"]),
    ("lookalike-leading-space", replace_pipeline(" sklearn.pipeline.Pipeline"), ["' sklearn.pipeline.Pipeline'"]),
    ("class-not-listed-DummyClassifier", replace_model_step("sklearn.dummy.DummyClassifier"),
     ["'sklearn.dummy.DummyClassifier'"]),
    ("class-not-listed-imblearn-Pipeline", replace_pipeline("imblearn.pipeline.Pipeline"),
     ["'imblearn.pipeline.Pipeline'"]),
    ("FunctionTransformer-type-numpy.exec", add_function_step({"__type__": "numpy.exec"}),
     ["'numpy.exec'"], True),
    ("FunctionTransformer-object-builtins.exec",
     add_function_step({"__object__": "builtins.exec", "state": {"__map__": []}}),
     ["'builtins.exec'"], True),
    ("FunctionTransformer-os.system", add_function_step({"__type__": "os.system"}), ["'os.system'"], True),
    ("solver-os.system", set_logistic("solver", {"__type__": "os.system"}), ["'os.system'"], True),
    ("dtype-V8", set_array_dtype("V8"), ["dtype V8"]),
    ("dtype-|O8", set_array_dtype("|O8"), ["dtype |O8"]),
    ("dtype-record", set_logistic("dtype", {"__dtype__": "[('f', '|O')]"}), ["dtype [('f', '|O')]"]),
    ("state-__class__", set_state_key("__class__"), ["__class__"]),
    ("state-shadows-predict_proba", set_logistic("predict_proba", {"__type__": "numpy.float64"}),
     ["predict_proba"], True),
    ("object-name-a-list", replace_pipeline(["os.system"]), ["os.system"]),
    ("type-name-a-mapping", set_logistic("solver", {"__type__": {"os": "system"}}), ["system"]),
    ("steps-not-pairs", lambda model: entry(model["pipeline"], "steps").__setitem__(1, "x"), ["steps"]),
    ("truncated-json", "TRUNCATE", ["not valid JSON"]),
    ("json-list", "[1, 2, 3]", ["not a saved model of format imbalance-lab/pipeline/v4", "'list'"]),
    ("wrong-format", set_top("format", "something/else/v1"),
     ["not a saved model of format imbalance-lab/pipeline/v4", "'something/else/v1'"]),
    ("deeply-nested-json", nested(100_000), []),
]


# --- D2. what a model file says it is, callables, content and bounds (issue 21) -----------------------------
#
# Each row: (id, the cell whose real model file is changed, the change, fragments of the one-line message,
# whether evaluate gets everything it reads after the model). Every file goes to the path of the cell evaluated
# (baseline-<classifier>), so that a model that loaded would be scored and reported as that cell.


def read_array(node: dict) -> np.ndarray:
    if "__base64__" in node:
        return np.frombuffer(base64.b64decode(node["__base64__"]), dtype=node["dtype"]).reshape(node["shape"]).copy()
    return np.asarray(node["__array__"], dtype=node["dtype"]).reshape(node["shape"])


def write_array(node: dict, values: np.ndarray) -> None:
    """Back in the node's own encoding; a non-finite float inline as the writer tags it."""
    node.pop("__array__", None), node.pop("__base64__", None)
    if (values.dtype.kind in "biuf" and values.size > 64) or "fields" in node:
        node["__base64__"] = base64.b64encode(values.astype(values.dtype.newbyteorder("<")).tobytes()).decode()
    else:
        node["__array__"] = [item if np.isfinite(item) else {"__float__": repr(item)}
                             for item in values.ravel().tolist()]
    node["dtype"], node["shape"] = values.dtype.str, list(values.shape)


def objects_named(node, suffix: str):
    """Every saved object whose class name ends with ``suffix``, in file order."""
    if isinstance(node, dict):
        if str(node.get("__object__", "")).endswith(suffix):
            yield node
        for item in node.values():
            yield from objects_named(item, suffix)
    elif isinstance(node, list):
        for item in node:
            yield from objects_named(item, suffix)


def fitted_object(model: dict, suffix: str) -> dict:
    """The first saved object of that class that is fitted (has a state with a fitted attribute)."""
    return next(obj for obj in objects_named(model["pipeline"], suffix)
                if any(pair[0].endswith("_") and not pair[0].startswith("_") for pair in entries(obj)))


def edit_array(suffix: str, attribute: str, edit):
    """``edit(values) -> values`` on an array attribute of the first fitted object of that class."""
    def change(model):
        node = entry(fitted_object(model, suffix), attribute)[1]
        write_array(node, edit(read_array(node)))
    return change


def set_item(value, at=0):
    def edit(values):
        values = values.astype(float) if isinstance(value, float) and values.dtype.kind != "f" else values
        values.ravel()[at] = value
        return values
    return edit


def set_attribute(suffix: str, attribute: str, value):
    def change(model):
        obj = fitted_object(model, suffix)
        pairs = [pair for pair in entries(obj) if pair[0] == attribute]
        if pairs:
            pairs[0][1] = value
        else:
            entries(obj).append([attribute, value])
    return change


def node_field(suffix: str, field: str, pick, value):
    """Set ``field`` of the first node ``pick(nodes)`` selects in the first tree of that kind."""
    def change(model):
        owner = next(objects_named(model["pipeline"], suffix))
        fields = entry(owner, "nodes")[1]["fields"]
        nodes = {name: read_array(node) for name, node in fields.items()}
        column = nodes[field].copy()
        column[pick(nodes)] = value
        write_array(fields[field], column)
    return change


def first_split(nodes) -> int:
    leaf = nodes["is_leaf"] == 1 if "is_leaf" in nodes else nodes["left_child"] == -1
    return int(np.flatnonzero(~leaf)[0])


def first_leaf(nodes) -> int:
    leaf = nodes["is_leaf"] == 1 if "is_leaf" in nodes else nodes["left_child"] == -1
    return int(np.flatnonzero(leaf)[0])


def tree_values(edit):
    def change(model):
        node = entry(next(objects_named(model["pipeline"], "._tree.Tree")), "values")[1]
        write_array(node, edit(read_array(node)))
    return change


def tree_of_three_classes(model):
    """The first tree predicts 3 classes: its class count and its values' columns agree with each other."""
    tree = next(objects_named(model["pipeline"], "._tree.Tree"))
    tree["args"]["__tuple__"][1]["__array__"] = [3]
    node = entry(tree, "values")[1]
    values = read_array(node)
    write_array(node, np.concatenate([values, values[:, :, :1]], axis=2))


def other_cell(classifier: str):
    """The whole file of another cell (its own identity), at this cell's path."""
    def change(model):
        model.clear()
        model.update(json.loads(cell_model_text(classifier)))
    return change


def pipeline_of(classifier: str):
    """This cell's identity over another classifier's fitted pipeline."""
    def change(model):
        model["pipeline"] = json.loads(cell_model_text(classifier))["pipeline"]
    return change


def set_identity(key: str, value):
    def change(model):
        if key is None:
            model["identity"] = value
        else:
            model["identity"][key] = value
    return change


def prior_shift(prior):
    """The logistic regression wrapped in a PriorShiftCorrected step with this prior."""
    def change(model):
        inner = logistic(model)
        pairs = [["classes_", entry(inner, "classes_")[1]], ["estimator", None], ["estimator_", inner],
                 ["fitted_rate_", 0.3], ["n_features_in_", 2], ["prior", prior]]
        steps(model)[-1]["__tuple__"][1] = {"__object__": "imbalance_lab.models.estimators.PriorShiftCorrected",
                                             "state": {"__map__": pairs}}
    return change


def function_step(**attributes):
    """A passthrough FunctionTransformer (as a fitted ColumnTransformer keeps one) first, with attributes set."""
    def change(model):
        from sklearn.preprocessing import FunctionTransformer

        from imbalance_lab.persistence.modelfile import encode_state

        saved = encode_state(FunctionTransformer(accept_sparse=True, check_inverse=False,
                                                 feature_names_out="one-to-one"))
        for name, value in attributes.items():
            entry(saved, name)[1] = value
        steps(model).insert(0, {"__tuple__": ["prepare", saved]})
    return change


def spline_object() -> dict:
    return {"__object__": "scipy.interpolate._bsplines.BSpline", "state": {"__map__": [
        ["axis", 0], ["c", {"__array__": [1.0, 1.0], "dtype": "<f8", "shape": [2]}], ["extrapolate", True],
        ["k", 1], ["t", {"__array__": [0.0, 0.0, 1.0, 1.0], "dtype": "<f8", "shape": [4]}]]}}


def params_changed(model):
    """params.yaml edited after training: the logistic regression's C (the file is the old training's)."""
    import re

    text = (Path.cwd() / "params.yaml").read_text()
    edited = re.sub(r"(?m)^(    C: )1\.0\b", r"\g<1>2.0", text, count=1)
    assert edited != text, "params.yaml has no logreg C: 1.0 to change"
    (Path.cwd() / "params.yaml").write_text(edited)


def base64_shape_huge(model):
    """A tree's values claim a huge shape for the few bytes they hold."""
    tree = next(objects_named(model["pipeline"], "._tree.Tree"))
    node = entry(tree, "values")[1]
    node["__base64__"] = base64.b64encode(np.zeros(4).tobytes()).decode()
    node.pop("__array__", None)
    node["dtype"], node["shape"] = "<f8", [10**6, 10**6, 2]


def bagging_features(model):
    bagging = fitted_object(model, "BalancedBaggingClassifier")
    features = entry(bagging, "estimators_features_")[1]
    features[0]["__array__"][0] = 5


def bin_edge_nan(model):
    """A bin edge of the scorecard's first feature is NaN (the edges are an object array of float arrays)."""
    edges = entry(fitted_object(model, "KBinsDiscretizer"), "bin_edges_")[1]["__array__"][0]
    edges["__array__"][1] = {"__float__": "nan"}


NAN, INF = float("nan"), float("inf")
LOGREG, HGB, FOREST = "sklearn.linear_model._logistic.LogisticRegression", \
    "gradient_boosting.HistGradientBoostingClassifier", "_forest.RandomForestClassifier"
WHAT = "this model file is cell"
CELL_CASES = [
    # a model file says what it is; every loader checks it against the cell it loads
    ("identity-forest-at-hgb-path", "hgb", other_cell("random_forest"),
     [f"{WHAT} baseline-random_forest (RandomForestClassifier", "expected cell baseline-hgb "
      "(HistGradientBoostingClassifier", "`dvc repro`"], True),
    ("identity-hgb-at-logreg-path", "logreg", other_cell("hgb"),
     [f"{WHAT} baseline-hgb (HistGradientBoostingClassifier", "expected cell baseline-logreg"]),
    ("identity-absent", "logreg", set_identity(None, None), ["does not say what it is", "baseline-logreg"]),
    ("identity-not-a-mapping", "logreg", set_identity(None, "baseline-logreg"), ["'identity' must say its cell"]),
    ("identity-cell-renamed", "logreg", set_identity("cell", "smote-logreg"),
     [f"{WHAT} smote-logreg", "expected cell baseline-logreg"]),
    ("identity-other-settings", "logreg", set_identity("settings", "0" * 64),
     ["trained with other settings than params.yaml now gives its cell"]),
    ("identity-params-changed-since", "logreg", params_changed, ["trained with other settings"]),
    ("identity-says-logreg-holds-hgb", "logreg", pipeline_of("hgb"),
     ["says it is cell baseline-logreg (LogisticRegression", "but holds a HistGradientBoostingClassifier"], True),
    ("format-v3-older", "logreg", set_top("format", "imbalance-lab/pipeline/v3"),
     ["older format 'imbalance-lab/pipeline/v3'", "rerun its train stage"]),
    ("top-level-unknown-key", "logreg", set_top("run", "touch PWNED"), ["unknown keys ['run']"]),
    # no callable of any kind from a file
    ("FunctionTransformer-func-numpy.int32", "logreg", function_step(func={"__type__": "numpy.int32"}),
     ["'numpy.int32'"], True),
    ("FunctionTransformer-func-numpy.bool", "logreg", function_step(func={"__type__": "numpy.bool"}),
     ["'numpy.bool'"], True),
    ("FunctionTransformer-func-numpy.float64", "logreg", function_step(func={"__type__": "numpy.float64"}),
     ["'func' holds the callable numpy.float64", "func and inverse_func must be null"], True),
    ("FunctionTransformer-inverse_func-type", "logreg", function_step(inverse_func={"__type__": "numpy.float32"}),
     ["'inverse_func' holds the callable numpy.float32"], True),
    ("FunctionTransformer-func-spline-object", "logreg", function_step(func=spline_object()),
     ["'func' holds the callable"], True),
    ("FunctionTransformer-kw_args", "logreg", function_step(kw_args={"__map__": [["command", "touch PWNED"]]}),
     ["its kw_args must be null"], True),
    ("FunctionTransformer-feature_names_out-type", "logreg",
     function_step(feature_names_out={"__type__": "numpy.float64"}), ["'feature_names_out' holds the callable"]),
    ("type-in-a-list", "logreg", set_logistic("n_iter_", [{"__type__": "numpy.float64"}]),
     ["'n_iter_' holds the callable numpy.float64"], True),
    ("loss-object-as-solver", "logreg",
     set_attribute(LOGREG, "solver", {"__object__": "sklearn._loss.loss.HalfBinomialLoss", "state": {"__map__": []}}),
     ["'solver' holds the callable"], True),
    # content: finite where the estimator needs it, shapes and classes of a binary model
    ("logreg-coef-nan", "logreg", edit_array(LOGREG, "coef_", set_item(NAN)), ["'coef_' is not finite"], True),
    ("logreg-intercept-inf", "logreg", edit_array(LOGREG, "intercept_", set_item(INF)),
     ["'intercept_' is not finite"], True),
    ("logreg-coef-wrong-shape", "logreg", edit_array(LOGREG, "coef_", lambda v: np.append(v, 0.5).reshape(1, 3)),
     ["coef_ must be a float array of shape [1, 2]"], True),
    ("logreg-n_features_in_-3", "logreg", set_attribute(LOGREG, "n_features_in_", 3),
     ["feature_names_in_ must be the names of its 3 features"], True),
    ("logreg-classes-reversed", "logreg", edit_array(LOGREG, "classes_", lambda v: v[::-1].copy()),
     ["classes_ must be [0, 1]", "[1, 0]"], True),
    ("logreg-classes-three", "logreg", edit_array(LOGREG, "classes_", lambda v: np.array([0, 1, 2])),
     ["classes_ must be [0, 1]"], True),
    ("file-names-three-features", "logreg", set_top("feature_names", ["age", "balance", "income"]),
     ["its first step is fitted on the columns ['age', 'balance'], not the ['age', 'balance', 'income']"], True),
    ("prior-above-one", "logreg", prior_shift(1.5), ["its prior must be a share between 0 and 1"], True),
    ("prior-nan", "logreg", prior_shift({"__float__": "nan"}), ["its prior must be a share between 0 and 1"], True),
    ("hgb-threshold-nan", "hgb", node_field("TreePredictor", "num_threshold", first_split, NAN),
     ["TreePredictor", "'nodes' is not finite", "num_threshold"], True),
    ("hgb-leaf-value-nan", "hgb", node_field("TreePredictor", "value", first_leaf, NAN),
     ["TreePredictor", "'s value"], True),
    ("hgb-baseline-nan", "hgb", edit_array(HGB, "_baseline_prediction", set_item(NAN)),
     ["'_baseline_prediction' is not finite"], True),
    ("hgb-classes-reversed", "hgb", edit_array(HGB, "classes_", lambda v: v[::-1].copy()),
     ["classes_ must be [0, 1]"], True),
    ("hgb-trees-per-iteration-1e9", "hgb", set_attribute(HGB, "n_trees_per_iteration_", 10**9),
     ["n_trees_per_iteration_ must be 1"], True),
    ("forest-threshold-nan", "random_forest", node_field("._tree.Tree", "threshold", first_split, NAN),
     ["'s threshold is not finite"], True),
    ("forest-leaf-value-inf", "random_forest", tree_values(set_item(INF)), ["'s value is not finite"], True),
    ("forest-n_classes_-1e9", "random_forest", set_attribute(FOREST, "n_classes_", 10**9),
     ["n_classes_ must be 2"], True),
    ("forest-tree-of-3-classes", "random_forest", tree_of_three_classes, ["one output of 2 classes"], True),
    ("forest-n_estimators-not-its-trees", "random_forest", set_attribute(FOREST, "n_estimators", 7),
     ["n_estimators must be the number of its estimators_"], True),
    ("bagging-features-out-of-range", "balanced_bagging", bagging_features,
     ["estimators_features_ must name columns of its 2 features"], True),
    ("bins-count-not-its-edges", "scorecard-logreg", edit_array("KBinsDiscretizer", "n_bins_", lambda v: v + 1),
     ["its n_bins_ must count the bins its bin_edges_ make"], True),
    ("bins-edge-nan", "scorecard-logreg", bin_edge_nan, ["'bin_edges_' is not finite"], True),
    # resource bounds: processes, unknown attributes, arrays out of proportion
    ("n_jobs-32-nested-step", "logreg", set_attribute(LOGREG, "n_jobs", 32), ["its n_jobs is 32"], True),
    ("n_jobs-minus-1-bagging", "balanced_bagging", set_attribute("BalancedBaggingClassifier", "n_jobs", -1),
     ["its n_jobs is -1"], True),
    ("n_jobs-true-forest", "random_forest", set_attribute(FOREST, "n_jobs", True), ["its n_jobs is True"], True),
    ("unknown-attribute", "logreg", set_logistic("threads_", 64),
     ["attribute 'threads_'", "not one of the attributes"]),
    ("unknown-private-attribute", "hgb", set_attribute(HGB, "_fitted_with_sw", True), ["'_fitted_with_sw'"]),
    ("unicode-dtype-huge", "logreg",
     set_logistic("feature_names_in_", {"__array__": ["a"] * 300, "dtype": "<U999999", "shape": [300]}),
     ["dtype <U999999 whose longest is 1 characters"], True),
    ("shape-product-huge", "logreg",
     set_logistic("coef_", {"__array__": [0.5], "dtype": "<f8", "shape": [100_000, 100_000, 100_000]}),
     ["shape [100000, 100000, 100000] from 1 items"], True),
    ("base64-shape-huge", "random_forest", base64_shape_huge, ["bytes cannot hold an array of shape"], True),
    ("one-hot-width-1e9", "scorecard-logreg", set_attribute("OneHotEncoder", "_n_features_outs", [10**9, 5]),
     ["one column per category (_n_features_outs"], True),
]


def model_text(change, cell: str = "logreg") -> str:
    """The changed model file of ``cell`` ("<classifier>" of the baseline strategy, or "<strategy>-<classifier>")."""
    if change == "TRUNCATE":
        return cut_in_half(cell_model_text(*cell_of(cell)[::-1]).encode()).decode()
    if isinstance(change, str):
        return change
    model = json.loads(cell_model_text(*cell_of(cell)[::-1]))
    change(model)
    return json.dumps(model)


def cell_of(cell: str) -> tuple[str, str]:
    strategy, _, classifier = cell.rpartition("-")
    return strategy or "baseline", classifier


def cell_settings(classifier: str, strategy: str = "baseline"):
    from imbalance_lab.settings.params import classifier_settings, load, strategy_settings

    params = load(Path("params.yaml"))
    return strategy_settings(params, strategy), classifier_settings(params, classifier)


@pytest.mark.parametrize("classifier", ["logreg", "hgb"])
def test_d_control_the_unchanged_model_file_loads_and_evaluate_predicts(committed, capsys, classifier):
    """The base files of the model cases are valid: with the prediction inputs, evaluate runs to the end."""
    (committed.root / f"data/models/baseline-{classifier}.json").write_text(model_text(lambda model: None, classifier))
    write_prediction_inputs(committed.root)
    assert cli.main(["evaluate", "baseline", classifier]) == 0, capsys.readouterr().err
    assert (committed.root / f"reports/metrics/baseline-{classifier}.json").read_bytes() != b""
    nothing_ran(committed.root)


def test_d_control_the_other_cells_files_load():
    """The forest's and the bagging's base files load as the cell they are (no evaluate: not in the grid)."""
    for classifier in ("random_forest", "balanced_bagging"):
        path = Path(f"data/models/baseline-{classifier}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(model_text(lambda model: None, classifier))
        assert read_model(path, *cell_settings(classifier)).predict_proba(
            article_split()[1].iloc[:, :-1]).shape[1] == 2


ALL_CASES = [(case[0], "logreg", case[1], case[2], case[3] if len(case) > 3 else False) for case in MODEL_CASES] \
    + [case if len(case) > 4 else (*case, False) for case in CELL_CASES]


@pytest.mark.parametrize(("classifier", "change", "fragments", "predicts"),
                         [pytest.param(*case[1:], id=case[0]) for case in ALL_CASES])
def test_d_hostile_model_file_is_refused(committed, capsys, classifier, change, fragments, predicts):
    strategy, classifier = cell_of(classifier)
    path = f"data/models/{strategy}-{classifier}.json"
    (committed.root / path).parent.mkdir(parents=True, exist_ok=True)
    (committed.root / path).write_text(model_text(change, f"{strategy}-{classifier}"))
    if predicts:  # everything evaluate reads, so that a model that loaded would go on to predict
        write_prediction_inputs(committed.root)
    started = time.monotonic()
    try:
        refused(capsys, ["evaluate", strategy, classifier], path, *fragments, REBUILD)
    finally:
        nothing_ran(committed.root)
    assert time.monotonic() - started < 10, "the refusal took long: something was built or allocated first"
    # data/models/.gitignore ignores every model file, the grid's or not: git sees at most an edited params.yaml
    untouched(committed, EDITED_PARAMS if change is params_changed else set())
    try:
        read_model(Path(path), *cell_settings(classifier, strategy))
    except PipelineError as err:
        assert str(err).startswith(f"{path}: ") and "\n" not in str(err), err
    else:
        pytest.fail(f"read_model loaded the hostile file {path}")


def test_d_there_are_enough_model_cases():
    assert len(ALL_CASES) >= 70 and len(CELL_CASES) >= 40
