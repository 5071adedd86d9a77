"""The command line: clear errors, non-zero exits, nothing half-written."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import ROOT, pipeline_stages
from imbalance_lab.pipeline import cli
from imbalance_lab.pipeline.outputs import stage_outputs, write_json
from imbalance_lab.settings import paths
from imbalance_lab.settings.params import cell_name
from imbalance_lab.settings.values import BENCHMARK_METRICS

FIXTURE_PARAMS = ROOT / "tests" / "fixtures" / "params.yaml"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty project folder holding only a copy of the fixture params."""
    shutil.copy(FIXTURE_PARAMS, tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit_params(folder: Path, change) -> None:
    params = yaml.safe_load((folder / "params.yaml").read_text())
    change(params)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def fails_with(capsys, argv, *fragments) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_bad_params_exit_non_zero_without_traceback_or_output(workdir):
    edit_params(workdir, lambda p: p["data"]["article"]["payers"].update(rows=-5))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "imbalance_lab", "generate"], cwd=workdir, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "data.article.payers.rows" in result.stderr and "at least 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (workdir / "data").exists()


def test_missing_key_is_named(workdir, capsys):
    edit_params(workdir, lambda p: p["split"].pop("seed"))
    fails_with(capsys, ["split"], "missing key 'split.seed'")


def test_wrong_type_is_named(workdir, capsys):
    edit_params(workdir, lambda p: p["classifiers"]["logreg"].update(C="big"))
    fails_with(capsys, ["train", "smote", "logreg"], "'classifiers.logreg.C'", "LogisticRegression")


def test_unknown_classifier_lists_the_known_ones(workdir, capsys):
    fails_with(capsys, ["train", "smote", "svm"], "no classifier 'svm'", "logreg", "hgb")


def test_unknown_sampler_lists_the_choices(workdir, capsys):
    edit_params(workdir, lambda p: p["strategies"]["smote"].update(sampler="SMOT"))
    fails_with(capsys, ["resample", "smote"], "'strategies.smote.sampler'", "SMOTE", "EditedNearestNeighbours")


def test_unknown_strategy_lists_the_known_ones(workdir, capsys):
    fails_with(capsys, ["resample", "nope"], "no strategy 'nope'", "knn_smote")


def test_missing_params_file_says_where_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    fails_with(capsys, ["generate"], "params.yaml: file not found")


def test_missing_input_says_to_run_the_earlier_stages(workdir, capsys):
    fails_with(capsys, ["split"], "data/raw.parquet: missing", "dvc repro")


def test_sampler_too_large_for_the_class_leaves_no_output(workdir, capsys):
    assert cli.main(["generate"]) == 0
    assert cli.main(["split"]) == 0
    edit_params(workdir, lambda p: p["strategies"]["smote"].update(k_neighbors=30))
    fails_with(capsys, ["resample", "smote"], "'strategies.smote.k_neighbors' = 30", "at most 23")
    assert not (workdir / "data/resampled").exists() or not any((workdir / "data/resampled").iterdir())


def test_knn_filter_too_strict_fails_with_the_fix(workdir, capsys):
    assert cli.main(["generate"]) == 0
    assert cli.main(["split"]) == 0
    edit_params(workdir, lambda p: p["strategies"]["knn_smote"].update(k_neighbors=15, if_too_few="raise"))
    fails_with(capsys, ["resample", "knn_smote"], "strategies.knn_smote", "if_too_few='adapt'")
    edit_params(workdir, lambda p: p["strategies"]["knn_smote"].update(if_too_few="adapt"))
    assert cli.main(["resample", "knn_smote"]) == 0
    info = json.loads((workdir / "data/resampled/knn_smote.json").read_text())
    assert info["filter_kept"] == {"1": 16} and info["notes"]
    assert info["counts"] == {"0": 350, "1": 350}


def test_stages_log_what_they_do_on_how_many_rows_and_how_long(workdir, capsys):
    """Progress on stderr, prefixed with the stage; cross-validation reports its folds."""
    edit_params(workdir, lambda p: p["cv"].update(repeats=1))
    assert cli.main(["generate"]) == 0
    assert cli.main(["split"]) == 0
    assert cli.main(["train", "baseline", "hgb"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert "imbalance-lab generate: article data: 535 rows, 3 columns" in lines
    assert "imbalance-lab split: 374 training rows, 161 test rows" in lines
    assert "imbalance-lab train baseline hgb: fitting on 374 rows; cross-validating 5 folds x 1 repeats" in lines
    assert any(line.startswith("imbalance-lab train baseline hgb: cross-validation fold 5/5 (") for line in lines)
    assert "imbalance-lab train baseline hgb: tuning a threshold to the costs on 5 inner folds" in lines
    assert sum(line.startswith(("imbalance-lab generate: done in ", "imbalance-lab split: done in ",
                                "imbalance-lab train baseline hgb: done in ")) for line in lines) == 3


def test_quiet_keeps_only_warnings_and_errors(workdir, capsys, monkeypatch):
    assert cli.main(["-q", "generate"]) == 0
    monkeypatch.setenv("IMBALANCE_LAB_QUIET", "1")
    assert cli.main(["split"]) == 0
    assert capsys.readouterr().err == ""
    edit_params(workdir, lambda p: p["classifiers"]["logreg"].update(max_iter=1))
    assert cli.main(["train", "baseline", "logreg"]) == 0  # the solver stops early: a warning, shown when quiet
    note = capsys.readouterr().err
    assert "imbalance-lab train baseline logreg: note: classifier logreg stopped at its iteration limit" in note
    assert "model.scale: true for every strategy, or scale: true in strategies.baseline" in note  # the fix
    assert "or raise classifiers.logreg.max_iter" in note


def test_debug_shows_the_traceback_before_the_one_line_error(workdir, capsys, monkeypatch):
    edit_params(workdir, lambda p: p["split"].pop("seed"))
    monkeypatch.setenv("IMBALANCE_LAB_DEBUG", "1")
    assert cli.main(["split"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ConfigError" in err
    assert err.splitlines()[-1] == ("imbalance-lab split: error: params.yaml: missing key 'split.seed'; "
                                    "add it (see docs/params.md)")


def test_a_stage_started_in_a_subfolder_works_at_the_project_root(workdir, monkeypatch):
    (workdir / "dvc.yaml").write_text("stages: {}\n")
    (workdir / "notebooks").mkdir()
    monkeypatch.chdir(workdir / "notebooks")
    assert cli.main(["generate"]) == 0
    assert (workdir / "data/raw.parquet").is_file() and not (workdir / "notebooks/data").exists()


def test_a_failing_stage_leaves_all_its_previous_outputs(tmp_path):
    """Outputs are moved into place together at the end: a failure after the first is written
    leaves every old output as it was and no temporary file."""
    first, second = tmp_path / "a.json", tmp_path / "out" / "b.txt"
    first.write_text("old a")
    with pytest.raises(RuntimeError), stage_outputs() as outputs:
        outputs.json(first, {"new": 1})
        outputs.text(second, "new b")
        raise RuntimeError("disk full")
    assert first.read_text() == "old a"
    assert not second.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.json", "out"]


def test_stage_outputs_replace_every_target_on_success(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("old")
    with stage_outputs() as outputs:
        outputs.text(first, "new a")
        outputs.text(second, "new b")
        assert first.read_text() == "old"  # nothing moves before the stage's end
    assert (first.read_text(), second.read_text()) == ("new a", "new b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_json_output_is_rounded_to_6_significant_digits_sorted_and_has_no_negative_zero(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"b": [1 / 3, -0.0, 4.0421347e-05], "a": {"z": 2, "y": 123456.78}})
    assert path.read_text() == (
        '{\n  "a": {\n    "y": 123457.0,\n    "z": 2\n  },\n'
        '  "b": [\n    0.333333,\n    0.0,\n    4.04213e-05\n  ]\n}\n'
    )


@pytest.mark.parametrize(
    ("strategy", "setting", "value", "allowed"),
    [
        ("smote", "k_neighbors", "five", "must be an int in the range [1, inf)"),
        ("enn", "kind_sel", "bogus", "must be a str among {"),
        ("knn_smote", "threshold", 1.5, "must be a float in the range [0.0, 1.0)"),
    ],
)
def test_a_setting_the_sampler_rejects_names_strategy_setting_and_allowed_values(
    workdir, capsys, strategy, setting, value, allowed
):
    edit_params(workdir, lambda p: p["strategies"][strategy].update({setting: value}))
    fails_with(capsys, ["resample", strategy], f"'strategies.{strategy}.{setting}'", allowed)


def declared_outputs() -> tuple[set[str], set[str], set[str]]:
    """(every output of the dvc.yaml files' single stages, every per-strategy output template with {} for the strategy,
    every per-cell template with {} for the cell)."""
    single, per_strategy, per_cell = set(), set(), set()
    for stage in pipeline_stages(ROOT).values():
        body = stage.get("do", stage)
        for kind in ("outs", "metrics", "plots"):
            for entry in body.get(kind, []):
                path = entry if isinstance(entry, str) else next(iter(entry))
                if stage.get("foreach") == "${score.inputs}":  # per input file (test_predict.py)
                    assert path == f"{paths.SCORES.as_posix()}/${{item}}"
                elif stage.get("foreach") == "${benchmark.datasets}":  # per benchmark data set
                    assert path == paths.benchmark_set_file("${key}").as_posix()
                elif "foreach" in stage:
                    per_strategy.add(path.replace("${item}", "{}"))
                elif "matrix" in stage:
                    per_cell.add(path.replace("${item.strategy}-${item.classifier}", "{}"))
                else:
                    single.add(path)
    return single, per_strategy, per_cell


def test_dvc_yaml_declares_exactly_the_files_of_the_paths_module():
    """The files the stages write (imbalance_lab.settings.paths) and the outputs dvc.yaml tracks are the same sets."""
    single, per_strategy, per_cell = declared_outputs()
    assert per_strategy == set(paths.STRATEGY_FILES.values())
    assert per_cell == set(paths.CELL_FILES.values())
    assert cell_name("{}", "{}") == "{}-{}"  # dvc.yaml's ${item.strategy}-${item.classifier}
    written = {paths.CHECKED, paths.RAW, paths.TRAIN, paths.TEST, paths.DATA_JSON, paths.CEILING_JSON,
               paths.SUMMARY_JSON, paths.SUMMARY_MD, paths.INDEX_HTML, paths.CV_SCORES_JSON,
               *paths.COMPARE_PNGS.values(), *paths.OVERLAYS.values(), paths.BENCHMARK_SUMMARY, paths.BENCHMARK_METRICS,
               *(paths.benchmark_plot(metric) for metric in BENCHMARK_METRICS)}
    assert single == {path.as_posix() for path in written}


# A stage in a fresh process: it exits 2 (no data/raw.parquet yet) and prints the pipeline modules it imported.
ONE_STAGE = """
import json, sys
from imbalance_lab.pipeline import cli
code = cli.main(["-q", "split"])
print(json.dumps([code, sorted(name for name in sys.modules if name.startswith("imbalance_lab.pipeline."))]))
"""


def test_each_stage_of_the_one_list_runs_from_its_own_module_imported_alone(workdir):
    """The parser's stages are stage_names.STAGES, each run by a function of its own module, and a stage imports
    that module and the plumbing only: dvc.yaml lists just those, so another stage's edit does not rerun it."""
    from imbalance_lab.pipeline.stage_names import STAGES

    commands = cli.build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert [name for name in commands if name in STAGES] == list(STAGES)
    for name in STAGES:
        module, function = cli.STAGE_COMMANDS[name][0].split(":")
        assert callable(getattr(importlib.import_module(f"imbalance_lab.pipeline.{module}"), function)), name
    (workdir / "dvc.yaml").write_text("stages: {}\n")
    done = subprocess.run([sys.executable, "-c", ONE_STAGE], cwd=workdir, capture_output=True, text=True, check=True)
    code, modules = json.loads(done.stdout)
    assert code == 2 and "data/raw.parquet: missing" in done.stderr
    assert modules == [f"imbalance_lab.pipeline.{name}"
                             for name in ("cli", "dvclock", "outputs", "prepare", "stage_names")]


def test_stages_find_the_project_root_from_a_subfolder(tmp_path):
    """The paths are the project root's: a stage started in a subfolder reads and writes there."""
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "src" / "deep").mkdir(parents=True)
    assert paths.project_root(tmp_path / "src" / "deep") == tmp_path.resolve()
    assert paths.project_root(tmp_path) == tmp_path.resolve()


@pytest.fixture
def git_repo(tmp_path, monkeypatch):
    """A git repository with one commit, as the working directory; returns the commit's hash."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "params.yaml").write_text("{}\n")
    git("add", "params.yaml")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "start")
    monkeypatch.chdir(tmp_path)
    return git("rev-parse", "HEAD")


def test_compare_with_refuses_an_option_as_revision(git_repo, capsys):
    before = sorted(Path().rglob("*"))
    fails_with(capsys, ["compare-with", "--", "--output=out.txt"],
               "unknown git revision '--output=out.txt'; name a branch, tag or commit")
    assert sorted(Path().rglob("*")) == before  # no file written
