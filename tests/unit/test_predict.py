"""`imbalance-lab predict` and the score stage (issue 22, item 11): scoring new rows with a trained cell.

Two small projects are built once, in this process, by the real stages: the article's data (a logistic
regression cell, and a calibrated, threshold-tuned one, both evaluated) and a user's file with a text
column (one cell, trained only). The scores of the test split must be exactly the evaluate stage's.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import f1_score

from helpers import ROOT
from imbalance_lab.evaluation.metrics import compute_metrics
from imbalance_lab.pipeline import cli
from imbalance_lab.pipeline.outputs import rounded
from imbalance_lab.settings.params import ConfigError, grid_settings, load, score_settings

FIXTURE_PARAMS = ROOT / "tests" / "fixtures" / "params.yaml"
CALIBRATED = {"sampler": "none", "calibrate": "sigmoid"}  # predict must give the calibration's probabilities


def small_params(folder: Path, change=None) -> None:
    params = yaml.safe_load(FIXTURE_PARAMS.read_text())
    params["cv"].update(folds=3, repeats=1)
    params["threshold_tuning"]["folds"] = 3
    params["evaluate"]["grid_resolution"] = 10
    params["strategies"]["calibrated"] = CALIBRATED
    if change:
        change(params)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def stages(folder: Path, *commands: str) -> None:
    with contextlib.chdir(folder):  # cli.main moves to the project root (here: the folder itself)
        for command in commands:
            assert cli.main(["-q", *command.split()]) == 0, command


@pytest.fixture(scope="module")
def article(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("predict") / "article"
    (folder / "data" / "input").mkdir(parents=True)
    small_params(folder)
    stages(folder, "generate", "split", "resample baseline", "resample calibrated", "train baseline logreg",
           "train calibrated logreg", "train tuned_threshold logreg", "evaluate baseline logreg",
           "evaluate calibrated logreg")  # (evaluate takes seconds a cell: the tuned cell is checked without)
    return folder


def customers(rows: int = 200) -> pd.DataFrame:
    """A user's table: a number, a text column that matters (north, south, east), a yes/no label."""
    rng = np.random.default_rng(5)
    region = rng.choice(["north", "south", "east"], rows)
    balance = rng.normal(5000, 2000, rows).round(2)
    score = (balance - 5000) / 2000 + (region == "east") * 1.5 + rng.normal(0, 0.8, rows)
    return pd.DataFrame({"balance": balance, "region": region, "defaulted": np.where(score > 1.4, "yes", "no")})


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("predict") / "mixed"
    (folder / "data" / "input").mkdir(parents=True)
    customers().to_csv(folder / "data" / "input" / "customers.csv", index=False)
    small_params(folder, lambda p: p["data"].update(
        source="file", path="data/input/customers.csv", target="defaulted", positive="yes", categorical=["region"]))
    stages(folder, "generate", "split", "train baseline logreg")
    return folder


def predict(folder: Path, *argv: str) -> int:
    with contextlib.chdir(folder):
        return cli.main(["predict", *argv])


# --- the evaluate stage's figures --------------------------------------------------------------------


@pytest.mark.parametrize("cell, kind", [("baseline-logreg", "csv"), ("calibrated-logreg", "parquet")])
def test_scoring_the_test_split_gives_the_evaluate_stages_figures(article, tmp_path, cell, kind):
    """The test split as a user's file (CSV: through the text reader) gives the evaluate stage's threshold,
    confusion counts and F1 exactly, and its probabilities (the calibrated ones for the calibrated cell):
    every ranking and probability metric of reports/metrics agrees."""
    test = pd.read_parquet(article / "data" / "split" / "test.parquet")
    rows = tmp_path / f"test.{kind}"
    test.to_csv(rows, index=False) if kind == "csv" else shutil.copy(article / "data/split/test.parquet", rows)
    out = tmp_path / "scores.csv"
    assert predict(article, cell, str(rows), "--out", str(out)) == 0
    scores = pd.read_csv(out)
    metrics = json.loads((article / "reports" / "metrics" / f"{cell}.json").read_text())
    y, decision = test["defaulted"].to_numpy(), scores["decision"].to_numpy()
    assert list(scores.columns) == ["row", "probability", "decision", "predicted_defaulted", "threshold"]
    assert list(scores["row"]) == list(range(1, len(test) + 1))
    assert set(scores["threshold"]) == {metrics["threshold"]}
    counts = {"tp": (y == 1) & (decision == 1), "fp": (y == 0) & (decision == 1),
              "tn": (y == 0) & (decision == 0), "fn": (y == 1) & (decision == 0)}
    assert {name: int(mask.sum()) for name, mask in counts.items()} == {name: metrics["test"][name] for name in counts}
    assert rounded(f1_score(y, decision)) == metrics["test"]["f1"]
    assert list(scores["predicted_defaulted"]) == list(decision)  # the article's labels are 1 and 0
    figures = compute_metrics(y, scores["probability"].to_numpy(), metrics["threshold"])
    for name in ("roc_auc", "average_precision", "brier", "log_loss"):
        assert figures[name] == pytest.approx(metrics["test"][name], rel=2e-5), name


def test_a_tuned_cell_decides_at_its_tuned_threshold_unless_told_otherwise(article, capsys):
    """score.threshold: cell takes the threshold the strategy tuned (stored in the model file), as evaluate does;
    --threshold fixed takes evaluate.threshold."""
    tuned = json.loads((article / "data/models/tuned_threshold-logreg.json").read_text())["threshold"]
    assert tuned is not None and abs(tuned - 0.5) > 0.01
    for argv, expected in (([], tuned), (["--threshold", "fixed"], 0.5)):
        assert predict(article, "tuned_threshold-logreg", "data/split/test.parquet", *argv) == 0
        scores = pd.read_csv(io.StringIO(capsys.readouterr().out))
        assert set(scores["threshold"]) == {rounded(expected)}
        assert (scores["decision"] == (scores["probability"] >= expected)).all()


def test_the_cost_threshold_gives_the_evaluate_stages_cost_figures(article, tmp_path):
    out = tmp_path / "scores.csv"
    assert predict(article, "baseline-logreg", "data/split/test.parquet", "--threshold", "cost", "--out",
                   str(out)) == 0
    scores, test = pd.read_csv(out), pd.read_parquet(article / "data" / "split" / "test.parquet")
    cost_tuned = json.loads((article / "reports/metrics/baseline-logreg.json").read_text())["cost_tuned"]
    assert set(scores["threshold"]) == {cost_tuned["threshold"]} and cost_tuned["threshold"] != 0.5
    assert rounded(f1_score(test["defaulted"], scores["decision"])) == cost_tuned["test_f1"]


def test_one_row_out_per_row_in_in_input_order_with_its_id_byte_stable(article, tmp_path, capsys):
    """Shuffled rows with an id column first and a column the model does not read: the id is kept, rows stay in
    the input's order with the same scores, extra columns are named on stderr, and two runs write equal bytes."""
    test = pd.read_parquet(article / "data" / "split" / "test.parquet")
    plain = tmp_path / "plain.csv"
    assert predict(article, "calibrated-logreg", "data/split/test.parquet", "--out", str(plain)) == 0
    order = np.random.default_rng(0).permutation(len(test))
    shuffled = test.iloc[order].assign(customer=[f"c{i}" for i in order], note="vip")
    shuffled = shuffled[["customer", "note", "age", "balance", "defaulted"]]
    shuffled.to_csv(tmp_path / "shuffled.csv", index=False)
    capsys.readouterr()
    outputs = []
    for run in range(2):
        out = tmp_path / f"scores{run}.csv"
        assert predict(article, "calibrated-logreg", str(tmp_path / "shuffled.csv"), "--out", str(out)) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    err = capsys.readouterr().err
    assert "ignoring 1 column the model does not read: note" in err and "customer" not in err.split("read:")[1]
    scores = pd.read_csv(tmp_path / "scores0.csv")
    assert list(scores["customer"]) == [f"c{i}" for i in order]
    expected = pd.read_csv(plain).iloc[order].reset_index(drop=True)
    assert scores.drop(columns="customer").equals(expected.drop(columns="row"))


def test_without_out_the_scores_go_to_standard_output(article, capsys):
    assert predict(article, "baseline-logreg", "data/split/test.parquet", "--threshold", "0.2", "--id", "row") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "row,probability,decision,predicted_defaulted,threshold" and len(lines) == 162
    assert all(line.endswith(",0.2") for line in lines[1:])


def test_an_unseen_category_ignored_is_scored_with_its_one_hot_columns_zero(mixed, tmp_path):
    """What --unseen ignore does, said in the refusal: none of the column's known categories' effects apply, so a
    row in a new region scores as a linear model without any region term (its log-odds less the region's)."""
    from imbalance_lab.settings.paths import cell_file

    rows = pd.DataFrame({"balance": [6000.0, 6000.0], "region": ["east", "west"]})
    rows.to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "scores.csv"
    assert predict(mixed, "baseline-logreg", str(tmp_path / "rows.csv"), "--unseen", "ignore", "--out",
                   str(out)) == 0
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["row", "probability", "decision", "predicted_defaulted", "threshold"]
    assert set(scores["predicted_defaulted"]) <= {"yes", "no"}
    coefficients = json.loads((mixed / cell_file("coefficients", "baseline-logreg")).read_text())["features"]
    east = next(value["coefficient"] for name, value in coefficients.items() if "east" in name)
    logit = np.log(scores["probability"] / (1 - scores["probability"]))
    assert logit[0] - logit[1] == pytest.approx(east, rel=1e-4)


# --- refusals: one line, exit 2, nothing written -------------------------------------------------------


def rows_file(folder: Path, frame: pd.DataFrame, name: str = "rows.csv") -> str:
    frame.to_csv(folder / name, index=False)
    return name


def article_rows(folder: Path, **changes) -> pd.DataFrame:
    frame = pd.read_parquet(folder / "data" / "split" / "test.parquet").head(5)
    return frame.assign(**changes)


def tamper(folder: Path) -> None:
    path = folder / "data" / "models" / "baseline-logreg.json"
    path.write_text(path.read_text().replace("sklearn.pipeline.Pipeline", "subprocess.Popen"))


def other_settings(folder: Path) -> None:
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["classifiers"]["logreg"]["C"] = 2.0
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


# (project, setup(folder) -> argv after "predict", fragments of the one line)
REFUSALS = {
    "unknown cell": ("article", lambda f: ["nope-logreg", rows_file(f, article_rows(f))],
                     ["cell 'nope-logreg': not a cell of params.yaml", "baseline-logreg"]),
    "model not trained": ("article", lambda f: ["smote-logreg", rows_file(f, article_rows(f))],
                          ["data/models/smote-logreg.json: missing", "dvc repro"]),
    "tampered model": ("article", lambda f: tamper(f) or ["baseline-logreg", rows_file(f, article_rows(f))],
                       ["data/models/baseline-logreg.json", "subprocess.Popen",
                        "never load model files you do not trust"]),
    "another cell's model": ("article", lambda f: shutil.copy(f / "data/models/baseline-logreg.json",
                                                              f / "data/models/enn-logreg.json")
                             and ["enn-logreg", rows_file(f, article_rows(f))],
                             ["this model file is cell baseline-logreg", "expected cell enn-logreg"]),
    "settings changed since training": ("article", lambda f: other_settings(f) or
                                        ["baseline-logreg", rows_file(f, article_rows(f))],
                                        ["trained with other settings than params.yaml now gives"]),
    "missing feature column": ("article", lambda f: ["baseline-logreg", rows_file(
        f, article_rows(f).drop(columns="balance"))], ["rows.csv: no column 'balance'", "it reads age, balance"]),
    "text in a numeric column": ("article", lambda f: ["baseline-logreg", rows_file(
        f, article_rows(f).astype({"age": object}).assign(age=["41", "abc", "3", "5", "7"]))],
        ["rows.csv: column 'age' is not numeric (e.g. 'abc')", "reads it as a number"]),
    "gap (data.missing: reject)": ("article", lambda f: ["baseline-logreg", rows_file(
        f, article_rows(f).assign(age=[np.nan, 1.0, 2.0, 3.0, 4.0]))],
        ["rows.csv: missing values in 'age' (1 rows)", "data.missing: reject"]),
    "unseen category": ("mixed", lambda f: ["baseline-logreg", rows_file(
        f, pd.DataFrame({"balance": [1.0, 2.0, 3.0], "region": ["east", "west", "west"]}))],
        ["column 'region' holds the category 'west' (2 rows)", "never saw", "east, north, south",
         "all of 'region''s one-hot columns 0"]),
    "unreadable file": ("article", lambda f: (f / "rows.parquet").write_bytes(b"not parquet")
                        and ["baseline-logreg", "rows.parquet"], ["rows.parquet: cannot be read as Parquet"]),
    "no such file": ("article", lambda f: ["baseline-logreg", "nothing.csv"], ["nothing.csv: no such file"]),
    "not csv or parquet": ("article", lambda f: (f / "rows.txt").write_text("age,balance\n1,2\n")
                           and ["baseline-logreg", "rows.txt"], ["rows.txt: not a CSV or Parquet file"]),
    "id column absent": ("article", lambda f: ["baseline-logreg", rows_file(f, article_rows(f)), "--id", "customer"],
                         ["no column 'customer' to identify the rows by"]),
    "scores file type": ("article", lambda f: ["baseline-logreg", rows_file(f, article_rows(f)), "--out",
                                               "scores.json"], ["--out scores.json: scores are written as .csv"]),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_bad_input_is_refused_in_one_line_and_nothing_is_written(article, mixed, tmp_path, capsys, case):
    project, setup, fragments = REFUSALS[case]
    folder = shutil.copytree(article if project == "article" else mixed, tmp_path / "project")
    argv = setup(folder)
    capsys.readouterr()
    assert predict(folder, *argv, *([] if "--out" in argv else ["--out", "scores.csv"])) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("imbalance-lab predict: error: "), captured.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert captured.out == ""
    assert not list(folder.glob("scores*")) and not list(folder.glob(".scores*"))


def test_a_column_named_like_the_label_is_no_extra_column(article, tmp_path, capsys):
    assert predict(article, "baseline-logreg", "data/split/test.parquet", "--out", str(tmp_path / "s.csv")) == 0
    assert "ignoring" not in capsys.readouterr().err


# --- the score section and stage -----------------------------------------------------------------------


@pytest.mark.parametrize("score, fragment", [
    ({"inputs": ["../customers.csv"]}, "'score.inputs' names '../customers.csv'"),
    ({"inputs": ["a b.csv"]}, "'score.inputs' names 'a b.csv'"),
    ({"inputs": ["x.csv;rm"]}, "ending in .csv or .parquet"),
    ({"inputs": ["x.csv", "x.csv"]}, "names a file twice"),
    ({"inputs": ["x.csv"], "cell": "balanced-logreg"}, "'score.cell' is 'balanced-logreg', not a cell of the grid"),
    ({"cell": "smote"}, "'score.cell' must be a cell's name"),
    ({"threshold": "f1"}, "'score.threshold' must be one of cell, fixed, cost"),
    ({"unseen": "drop"}, "'score.unseen' must be one of refuse, ignore"),
    ({"inputs": [], "colour": 1}, "unknown key 'score.colour'"),
])
def test_check_refuses_a_bad_score_section(params_yaml, score, fragment):
    from imbalance_lab.pipeline.check import check

    with pytest.raises(ConfigError, match=None) as caught:
        check({**params_yaml, "score": score})
    assert fragment in str(caught.value)


def test_the_shipped_score_section_adds_no_stage_and_each_input_adds_one(tmp_path):
    """DVC takes an empty foreach: the default run has no score stage (the golden test's dvc.lock is unchanged);
    each file of score.inputs is a score@<file> stage on the chosen cell's model file, the file and the code."""
    from dvc.repo import Repo

    shipped = load(ROOT / "params.yaml")
    assert score_settings(shipped).inputs == ()
    assert score_settings(shipped).cell in grid_settings(shipped).cells()
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    for inputs, expected in (([], []), (["customers.csv", "may.parquet"], ["customers.csv", "may.parquet"])):
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["score"]["inputs"] = inputs
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        with Repo.init(tmp_path, no_scm=True, force=True) as repo:
            scored = {stage.name: stage for stage in repo.index.stages if stage.name.startswith("score@")}
        assert sorted(scored) == [f"score@{name}" for name in expected]
        for name, stage in scored.items():
            file = name.split("@")[1]
            assert {dep.def_path for dep in stage.deps} >= {f"data/to_score/{file}", "src/imbalance_lab/models",
                                                             f"data/models/{params['score']['cell']}.json"}
            assert [out.def_path for out in stage.outs] == [f"data/scores/{file}"]
            assert all(out.use_cache for out in stage.outs)  # per-customer data: DVC's cache, not git
            assert stage.cmd == f"python -m imbalance_lab score {file}"



def test_the_score_command_scores_a_file_of_score_inputs_as_predict_does(article, tmp_path):
    """What a score@<file> stage runs: data/to_score/<file> scored by score.cell with the section's settings, to
    data/scores/<file>, the same bytes as `predict` (a real `dvc repro` of it takes over a minute here: the stage
    list is checked above); a file outside score.inputs is refused."""
    folder = shutil.copytree(article, tmp_path / "project")
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["grid"].update(strategies=["baseline", "calibrated"], classifiers=["logreg"])
    params["score"] = {"inputs": ["may.parquet"], "cell": "calibrated-logreg", "threshold": "fixed", "id": "age"}
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (folder / "data" / "to_score").mkdir()
    shutil.copy(folder / "data/split/test.parquet", folder / "data/to_score/may.parquet")
    with contextlib.chdir(folder):
        assert cli.main(["score", "may.parquet"]) == 0
        assert cli.main(["predict", "calibrated-logreg", "data/to_score/may.parquet", "--threshold", "fixed",
                         "--out", str(tmp_path / "direct.parquet")]) == 0
        assert cli.main(["score", "june.csv"]) == 2
    scored = pd.read_parquet(folder / "data" / "scores" / "may.parquet")
    assert scored.equals(pd.read_parquet(tmp_path / "direct.parquet"))
    assert scored.columns[0] == "age" and set(scored["threshold"]) == {0.5}
