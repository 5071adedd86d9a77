"""The whole shipped grid, and cells whose classifier cannot be fitted (issue 22, item 1).

Every classifier of params.yaml's `classifiers` with every strategy of its `strategies` (the project's own
file: what it ships, whatever the grid runs today) is trained in this process on the article data, with
small cross-validation settings and ensembles cut to one member (the number of members decides no fit's
success: RUSBoost fails at its first round, if at all). Each cell either fits, or is reported not fittable
with the estimator's own message (or, a class_weight strategy with a classifier that has none, with that
reason, nothing fitted); `check` refuses none of them. Then a classifier that fails on
purpose (a real setting: a RUSBoost sampling ratio no training fold can reach) goes through the command
line's train, evaluate, compare and leaderboard.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import ROOT
from imbalance_lab.data.dataset import features_and_target
from imbalance_lab.evaluation.metrics import compute_metrics
from imbalance_lab.persistence.modelfile import (
    NotFittable,
    UntrustedModelError,
    model_from_dict,
    model_identity,
    not_fittable_from_dict,
)
from imbalance_lab.pipeline import cli
from imbalance_lab.pipeline.evaluate import evaluate_cell
from imbalance_lab.pipeline.outputs import read_model, rounded
from imbalance_lab.pipeline.shared import check_strategy
from imbalance_lab.pipeline.train import train_cell
from imbalance_lab.settings.params import (
    ConfigError,
    PipelineError,
    cell_name,
    classifier_settings,
    cost_settings,
    evaluate_settings,
    load,
    strategy_settings,
)
from imbalance_lab.settings.paths import cell_file

FIXTURE_PARAMS = ROOT / "tests" / "fixtures" / "params.yaml"
SHIPPED = yaml.safe_load((ROOT / "params.yaml").read_text())
CLASSIFIERS, STRATEGIES = list(SHIPPED["classifiers"]), list(SHIPPED["strategies"])
RUSBOOST_MESSAGE = "BaseClassifier in AdaBoostClassifier ensemble is worse than random"


def small(params: dict) -> dict:
    """Two folds once, two inner folds, ensembles of one member: the least that still runs every fit path."""
    params = copy.deepcopy(params)
    params["cv"].update(folds=2, repeats=1)
    params["threshold_tuning"]["folds"] = 2
    for settings in params["classifiers"].values():
        if "n_estimators" in settings:
            settings["n_estimators"] = 1
    return params


@pytest.fixture(scope="module")
def grid(params_yaml, article_split):
    """cell -> ("fitted", model) | ("not fittable", NotFittable) | ("refused", check's message): none expected."""
    params = small({**params_yaml, "strategies": SHIPPED["strategies"], "classifiers": SHIPPED["classifiers"]})
    train, _ = article_split
    outcome = {}
    for strategy in STRATEGIES:
        for classifier in CLASSIFIERS:
            cell = cell_name(strategy, classifier)
            try:
                check_strategy(params, strategy, classifier)
            except ConfigError as err:
                outcome[cell] = ("refused", str(err))
                continue
            trained = train_cell(params, strategy, classifier, train)
            identity = model_identity(strategy_settings(params, strategy), classifier_settings(params, classifier))
            if trained.not_fittable is not None:
                outcome[cell] = ("not fittable", not_fittable_from_dict(trained.model, identity), trained)
            else:
                outcome[cell] = ("fitted", model_from_dict(trained.model, identity), trained)
    return params, outcome


# slow: all 56 shipped cells fitted in turn; the golden run fits the default grid's 12, and the not-fittable
# paths are the tests below (test_not_fittable_cell_is_listed_after_the_ranked_cells runs rusboost's)
@pytest.mark.slow
def test_every_shipped_cell_fits_or_says_why_not(grid, article_split):
    """Each of the 7 x 8 cells: finite probabilities and metrics in range on the test split, or not fittable with
    the reason in every train output (a class_weight strategy with an ensemble that has none: not fitted at all,
    where check refused the whole run before). Before the fix, tuned_threshold-rusboost raised AdaBoost's
    ValueError."""
    params, outcome = grid
    _, test = article_split
    X_test, y_test = features_and_target(test)
    assert len(outcome) == len(STRATEGIES) * len(CLASSIFIERS) == 56
    for cell, (kind, found, *trained) in outcome.items():
        if kind == "fitted":
            score = found.predict_proba(X_test)[:, 1]
            assert np.isfinite(score).all() and ((score >= 0) & (score <= 1)).all(), cell
            metrics = compute_metrics(y_test, score, 0.5)
            assert all(0 <= metrics[m] <= 1 for m in ("accuracy", "precision", "recall", "f1")), (cell, metrics)
            scores = trained[0].cv["scores"]
            assert all(math.isfinite(v) for v in scores["roc_auc"]), cell
        elif kind == "not fittable":
            assert found.cell == cell and found.reason and found.during
            for output in (trained[0].coefficients, trained[0].cv):
                assert output == {"not_fittable": {"reason": found.reason, "during": found.during}}
    refused = {cell: found for cell, (kind, found, *_) in outcome.items() if kind == "refused"}
    assert refused == {}
    weighted = {f"{s}-{c}": (s, c) for s in ("balanced", "scorecard")
                for c in ("easy_ensemble", "rusboost", "balanced_bagging")}
    for cell, (strategy, classifier) in weighted.items():
        kind, found, _ = outcome[cell]
        name = classifier_settings(params, classifier).classifier
        assert kind == "not fittable" and found.during == "building the classifier", (cell, kind, found)
        assert found.reason.startswith(f"{name} has no class_weight, ") and f"strategy {strategy} " in found.reason
    assert {cell for cell, (_, found, *_) in outcome.items()
            if getattr(found, "during", None) == "building the classifier"} == set(weighted)
    # The cell of the issue: RUSBoost's first stump, fitted on a balanced undersample, errs on more than half of
    # an imbalanced inner fold's weighted rows. It no longer stops the run; it says so.
    kind, found, _ = outcome["tuned_threshold-rusboost"]
    assert kind == "not fittable" and RUSBOOST_MESSAGE in found.reason
    assert found.reason.startswith("RUSBoostClassifier: ")
    fitted = [cell for cell, (kind, *_) in outcome.items() if kind == "fitted"]
    assert len(fitted) >= 45, sorted(set(outcome) - set(fitted))  # a handful at most are not fittable


# slow: test_not_fittable_cell_is_listed_after_the_ranked_cells evaluates a not-fittable cell through the CLI
@pytest.mark.slow
def test_a_not_fittable_cell_evaluates_to_records_that_say_so(grid):
    params, outcome = grid
    _, record, _ = outcome["tuned_threshold-rusboost"]
    strategy, classifier = strategy_settings(params, "tuned_threshold"), classifier_settings(params, "rusboost")
    evaluated = evaluate_cell(strategy, classifier, evaluate_settings(params), cost_settings(params),
                              record, cv={}, resampled_info={}, data_info={}, train=None, test=None)
    said = {"not_fittable": {"reason": record.reason, "during": record.during}}
    assert evaluated.metrics == evaluated.headline == evaluated.explain == said
    assert evaluated.curves == {"pr": said, "roc": said}
    texts = [text.get_text() for fig in (evaluated.boundary, evaluated.calibration, evaluated.dependence)
             for text in fig.texts]
    assert all("tuned_threshold-rusboost: not fittable" in text and RUSBOOST_MESSAGE[:40] in text for text in texts)


# --- a classifier that fails on purpose, through the command line ------------------------------------------


@pytest.fixture(scope="module")
def failing_project(tmp_path_factory):
    """The fixture params with the grid baseline x (logreg, hgb, rusboost), rusboost asked for a minority share of
    1% after its undersampling: the training rows hold 6.4%, so its sampler refuses inside RUSBoost's fit."""
    folder = tmp_path_factory.mktemp("unfit")
    params = small(yaml.safe_load(FIXTURE_PARAMS.read_text()))
    params["grid"].update(strategies=["baseline"], classifiers=["logreg", "hgb", "rusboost"])
    params["classifiers"]["rusboost"]["sampling_strategy"] = 0.01
    params["ceiling"].update(rows=5000, directions=12)
    params["evaluate"]["grid_resolution"] = 20
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder


def run_stage(capsys, *argv) -> str:
    assert cli.main(["-q", *argv]) == 0, capsys.readouterr().err
    return capsys.readouterr().err


def test_not_fittable_cell_is_listed_after_the_ranked_cells(failing_project, monkeypatch, capsys):
    monkeypatch.chdir(failing_project)
    for argv in (["check"], ["generate"], ["split"], ["resample", "baseline"], ["ceiling"]):
        run_stage(capsys, *argv)
    for classifier in ("logreg", "hgb"):
        run_stage(capsys, "train", "baseline", classifier)
    err = run_stage(capsys, "train", "baseline", "rusboost")
    # One line, the cell, the estimator's own words, what to change; no traceback; every output written.
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("imbalance-lab train baseline rusboost: baseline-rusboost: not fittable: "
                          "RUSBoostClassifier: ")
    assert "The specified ratio required to generate new sample in the majority class" in err
    assert "classifiers.rusboost" in err and "grid.classifiers" in err
    record = json.loads((failing_project / "data/models/baseline-rusboost.json").read_text())
    assert record["format"] == "imbalance-lab/not-fittable/v1"
    assert record["during"] == "the final fit on the training split"
    for classifier in ("logreg", "hgb", "rusboost"):
        run_stage(capsys, "evaluate", "baseline", classifier)
    for kind in ("coefficients", "cv", "metrics", "headline", "explain", "pr", "roc"):
        said = json.loads((failing_project / cell_file(kind, "baseline-rusboost")).read_text())
        assert set(said) == {"not_fittable"} and "ratio" in said["not_fittable"]["reason"], kind
    for kind in ("boundary_png", "calibration_png", "dependence_png"):
        assert (failing_project / cell_file(kind, "baseline-rusboost")).read_bytes()[:4] == b"\x89PNG"
    run_stage(capsys, "rank")  # no benchmark data set in the fixture params: the report says so
    run_stage(capsys, "compare")

    summary = json.loads((failing_project / "reports/summary.json").read_text())
    assert list(summary["cells"]) and "baseline-rusboost" not in summary["cells"]
    assert summary["not_fittable"]["baseline-rusboost"]["classifier"] == "rusboost"
    assert "ratio" in summary["not_fittable"]["baseline-rusboost"]["reason"]
    # The fitted cells rank exactly as they would without the failing classifier in the grid.
    from imbalance_lab.reporting.report import build_summary

    fitted = list(summary["cells"])
    assert sorted(fitted) == ["baseline-hgb", "baseline-logreg"]
    read = {kind: {n: json.loads((failing_project / cell_file(kind, n)).read_text()) for n in fitted}
            for kind in ("metrics", "cv")}
    alone = build_summary(read["metrics"], read["cv"], summary["goals"], primary=summary["primary"],
                          confidence=summary["confidence"], baselines={n: n for n in fitted},
                          cells={n: tuple(n.split("-")) for n in fitted}, ceilings=summary["ceilings"])
    assert json.loads(json.dumps(rounded(alone["cells"]))) == summary["cells"]

    markdown = (failing_project / "reports/summary.md").read_text()
    ranked, _, rest = markdown.partition("## Not fittable")
    assert "baseline-logreg" in ranked and rest and "`baseline-rusboost`" in rest and "ratio" in rest
    assert "baseline-rusboost" not in ranked.partition("## Leaderboard")[2]
    assert "Not fittable" in (failing_project / "reports/index.html").read_text()

    capsys.readouterr()
    assert cli.main(["leaderboard"]) == 0
    board_text = capsys.readouterr().out
    lines = board_text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("not fittable, not ranked (1):"))
    assert any("baseline-logreg" in line for line in lines[:at]) and "baseline-rusboost" in lines[at + 1]
    assert all(len(line) <= 100 for line in lines), board_text


def test_a_not_fittable_record_is_checked_as_strictly_as_a_model(failing_project, monkeypatch, capsys):
    """The record at a model's path is untrusted input: another cell's, other settings, extra keys, a reason with
    control characters or of any length, an unknown `during` are refused in one line, and a fitted model's
    loader (predict) refuses the record itself."""
    monkeypatch.chdir(failing_project)
    path = failing_project / "data/models/baseline-rusboost.json"
    if not path.exists():
        pytest.skip("needs the not-fittable cell of the previous test")
    good = json.loads(path.read_text())
    params = load(Path("params.yaml"))
    identity = model_identity(strategy_settings(params, "baseline"), classifier_settings(params, "rusboost"))
    assert isinstance(not_fittable_from_dict(good, identity), NotFittable)
    other = model_identity(strategy_settings(params, "baseline"), classifier_settings(params, "hgb"))
    for bad in (
        {**good, "extra": 1}, {k: v for k, v in good.items() if k != "during"}, {**good, "identity": None},
        {**good, "reason": "worse\x1b[2J than random"}, {**good, "reason": "x" * 1001}, {**good, "reason": ""},
        {**good, "reason": ["a list"]}, {**good, "during": "whenever"},
        {**good, "identity": {**good["identity"], "settings": "0" * 64}},
    ):
        with pytest.raises(UntrustedModelError):
            not_fittable_from_dict(bad, identity)
    with pytest.raises(UntrustedModelError, match="expected cell baseline-hgb"):
        not_fittable_from_dict(good, other)
    with pytest.raises(PipelineError, match="could not be fitted"):
        read_model(path, strategy_settings(params, "baseline"), classifier_settings(params, "rusboost"))
    original = path.read_text()
    try:
        path.write_text(json.dumps({**good, "during": "whenever"}))
        assert cli.main(["evaluate", "baseline", "rusboost"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "'during' must be one of" in err and "Traceback" not in err
    finally:
        path.write_text(original)


def test_only_the_classifiers_own_fit_failures_count(article_train_xy):
    """A ValueError raised inside the cell's classifier's fit is its reason; one raised anywhere else (the
    project's code, a sampler, another estimator) is not, and still stops the stage."""
    from imblearn.ensemble import RUSBoostClassifier
    from sklearn.linear_model import LogisticRegression

    from imbalance_lab.models.estimators import classifier_fit_failure

    X, y = article_train_xy
    with pytest.raises(ValueError) as caught:
        RUSBoostClassifier(sampling_strategy=0.01, n_estimators=1).fit(X, y)
    assert "specified ratio" in classifier_fit_failure(caught.value, RUSBoostClassifier)
    assert classifier_fit_failure(caught.value, LogisticRegression) is None
    with pytest.raises(ValueError) as caught:
        LogisticRegression(C=1.0).fit(X, np.zeros(len(y)))  # one class: LogisticRegression's own refusal
    assert classifier_fit_failure(caught.value, RUSBoostClassifier) is None
    assert classifier_fit_failure(ValueError("a bug"), RUSBoostClassifier) is None
    assert classifier_fit_failure(KeyError("a bug"), RUSBoostClassifier) is None


# --- item 1.3: git never sees a model or resampled file, whatever run left it --------------------------------


def ignored(*paths: str) -> set[str]:
    """Which of ``paths`` git ignores by the project's committed rules (tracked or not: --no-index)."""
    found = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(paths),
                           capture_output=True, text=True)
    return set(found.stdout.split())


def test_every_cached_output_under_data_is_ignored_by_a_committed_rule():
    """DVC adds an output's .gitignore line only once its stage completes: a run that fails or is interrupted
    after some train stages would leave their models untracked (`git add -A` commits them). Committed rules
    cover every cell's model and every strategy's resampled rows of the shipped grid; data/input stays in git."""
    models = [f"data/models/{s}-{c}.json" for s in STRATEGIES for c in CLASSIFIERS] + ["data/models/new-cell.json"]
    resampled = [f"data/resampled/{s}.{ext}" for s in [*STRATEGIES, "new"] for ext in ("parquet", "json")]
    assert ignored(*models, *resampled) == {*models, *resampled}
    kept = ["data/input/customers.csv", "data/input/.gitignore", "data/models/.gitignore",
            "data/resampled/.gitignore"]
    assert not ignored(*kept)
    assert shutil.which("git")


def test_a_class_weight_cell_without_one_is_not_fittable_and_the_grid_runs(tmp_path, monkeypatch, capsys):
    """balanced x (logreg, rusboost): check passes (it refused the whole run before: RUSBoost has no
    class_weight), train writes balanced-rusboost's not-fittable record at once, logreg's cell still fits."""
    params = small(yaml.safe_load(FIXTURE_PARAMS.read_text()))
    params["grid"].update(strategies=["balanced"], classifiers=["logreg", "rusboost"])
    params["leaderboard"]["baseline"] = None  # the fixture's baseline strategy is outside this grid
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    for argv in (["check"], ["generate"], ["split"]):
        run_stage(capsys, *argv)
    err = run_stage(capsys, "train", "balanced", "rusboost")
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("imbalance-lab train balanced rusboost: balanced-rusboost: not fittable: "
                          "RUSBoostClassifier has no class_weight, which strategy balanced weighs classes with "), err
    assert "(during building the classifier)" in err and "grid.classifiers" in err
    record = json.loads((tmp_path / "data/models/balanced-rusboost.json").read_text())
    identity = model_identity(strategy_settings(params, "balanced"), classifier_settings(params, "rusboost"))
    found = not_fittable_from_dict(record, identity)
    assert found.during == "building the classifier" and "strategies.balanced.class_weight" in found.reason
    for kind in ("coefficients", "cv"):
        assert json.loads((tmp_path / cell_file(kind, "balanced-rusboost")).read_text()) == found.report()
    # Outside train the combination is still refused: building it directly is a settings error.
    from imbalance_lab.models.estimators import build_classifier

    with pytest.raises(ConfigError, match="has no class_weight"):
        build_classifier(classifier_settings(params, "rusboost"), strategy_settings(params, "balanced"))
