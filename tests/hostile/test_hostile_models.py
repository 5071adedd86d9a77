"""Hostile model files: what evaluate and compare refuse to load (see tests/hostile.py)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import pytest
from hostile import (
    FIXTURE_PARAMS,
    MODEL,
    REBUILD,
    article_split,
    cut_in_half,
    nothing_ran,
    refused,
    untouched,
)

from imbalance_lab import cli
from imbalance_lab.params import PipelineError

pytestmark = pytest.mark.integration


# --- D. model files --------------------------------------------------------------------------

@cache
def base_model_text() -> str:
    """A real model file: the baseline strategy fitted on the article's training split."""
    from imbalance_lab import params as P
    from imbalance_lab.data import features_and_target
    from imbalance_lab.model import build_pipeline, fit_model
    from imbalance_lab.modelfile import model_to_dict

    params = P.load(FIXTURE_PARAMS)
    estimator = build_pipeline(P.strategy_settings(params, "baseline"), P.classifier_settings(params, "logreg"), None)
    X, y = features_and_target(article_split()[0])
    converged = fit_model(estimator, X, y)
    return json.dumps(model_to_dict(estimator, X.columns, converged))


def base_model() -> dict:
    return json.loads(base_model_text())


def write_prediction_inputs(root: Path) -> None:
    """The files evaluate reads after the model: with them, a loaded model would predict."""
    from imbalance_lab.data import class_counts

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

        from imbalance_lab.modelfile import encode_state

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
    ("make_pipeline-function", replace_pipeline("sklearn.pipeline.make_pipeline"), ["'sklearn.pipeline.make_pipeline'"]),
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
    ("json-list", "[1, 2, 3]", ["not a saved model of format imbalance-lab/pipeline/v3", "'list'"]),
    ("wrong-format", set_top("format", "imbalance-lab/pipeline/v1"),
     ["not a saved model of format imbalance-lab/pipeline/v3", "'imbalance-lab/pipeline/v1'"]),
    ("deeply-nested-json", nested(100_000), []),
]


def model_text(change) -> str:
    if change == "TRUNCATE":
        return cut_in_half(base_model_text().encode()).decode()
    if isinstance(change, str):
        return change
    model = copy.deepcopy(base_model())
    change(model)
    return json.dumps(model)


def test_d_control_the_unchanged_model_file_loads_and_evaluate_predicts(committed, capsys):
    """The base file of the model cases is valid: with the prediction inputs, evaluate runs to the end."""
    (committed.root / MODEL).write_text(model_text(lambda model: None))
    write_prediction_inputs(committed.root)
    assert cli.main(["evaluate", "baseline", "logreg"]) == 0, capsys.readouterr().err
    assert (committed.root / "reports/metrics/baseline-logreg.json").read_bytes() != b""
    nothing_ran(committed.root)


@pytest.mark.parametrize(("change", "fragments", "predicts"),
                         [pytest.param(c[1], c[2], c[3] if len(c) > 3 else False, id=c[0]) for c in MODEL_CASES])
def test_d_hostile_model_file_is_refused(committed, capsys, change, fragments, predicts):
    (committed.root / MODEL).write_text(model_text(change))
    if predicts:  # everything evaluate reads, so that a model that loaded would go on to predict
        write_prediction_inputs(committed.root)
    try:
        refused(capsys, ["evaluate", "baseline", "logreg"], MODEL, *fragments, REBUILD)
    finally:
        nothing_ran(committed.root)
    untouched(committed)
    try:
        cli.read_model(Path(MODEL))
    except PipelineError as err:
        assert str(err).startswith(f"{MODEL}: "), err
    else:
        pytest.fail(f"read_model loaded the hostile file {MODEL}")


