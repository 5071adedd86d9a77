"""Integration: real DVC in a real git repository in a temporary folder.

The project's tracked sources are copied without data/, reports/ and the dvc.lock files,
the pipeline runs from scratch, and its outputs must equal the committed ones
byte for byte (so the committed results are current and reproducible).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from helpers import LOCKS, OTHER_CPUS, ROOT, copy_built, copy_project, dvc, dvc_status, run, stage_address, stages_run

GRID = yaml.safe_load((ROOT / "params.yaml").read_text())["grid"]
STRATEGIES, CLASSIFIERS = tuple(GRID["strategies"]), tuple(GRID["classifiers"])
CELLS = tuple(f"{s}-{c}" for s in STRATEGIES for c in CLASSIFIERS)
ARTICLE_STRATEGIES = ("baseline", "smote", "enn", "smoteenn", "knn_smote")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A fresh copy of the project after one full `dvc repro` on an emulated other CPU (an old OpenBLAS kernel,
    numpy's baseline code paths), committed to its git repo."""
    path = copy_project(tmp_path_factory.mktemp("pipeline") / "project")
    dvc("repro", cwd=path, env=OTHER_CPUS["openblas-prescott-numpy-baseline"])
    run(["git", "add", "-A"], cwd=path)
    run(["git", "commit", "-qm", "results"], cwd=path)
    return path


def tracked_outputs(root: Path) -> list[Path]:
    files = [*(root / lock for lock in LOCKS), *sorted(p for p in (root / "reports").rglob("*") if p.is_file())]
    return [p.relative_to(root) for p in files]


def test_fresh_run_reproduces_the_committed_results_byte_for_byte(project):
    """reports/ byte for byte; the dvc.lock files entry for entry (their stage order follows run history). The run was
    warm (stages forked from the warm server, but the first) on an emulated other CPU, the committed results
    cold and warm on this one's own."""
    status = run([sys.executable, "-m", "imbalance_lab", "server", "status"], cwd=project,
                 env=OTHER_CPUS["openblas-prescott-numpy-baseline"]).stdout
    assert int(status.split(" stages served")[0].rsplit(" ", 1)[1]) >= 20, status
    expected = tracked_outputs(ROOT)
    assert tracked_outputs(project) == expected
    reports = [p for p in expected if p.name != "dvc.lock"]
    different = [str(p) for p in reports if (project / p).read_bytes() != (ROOT / p).read_bytes()]
    assert different == []
    for lock in LOCKS:
        assert yaml.safe_load((project / lock).read_text()) == yaml.safe_load((ROOT / lock).read_text()), lock


# slow: the fixture's whole run is already on an emulated other CPU (warm); this one repeats two stages cold
@pytest.mark.slow
def test_another_cpu_writes_the_same_bytes_cold(project):
    """The README's check, `OPENBLAS_CORETYPE=Sandybridge dvc repro --force`, on the fitting stages whose last
    digits move most with the kernel (a tuned threshold; a sampler and bins), cold: every file and dvc.lock as
    committed (the whole pipeline on another emulated CPU, warm, is the fixture's run)."""
    stages = ["train@tuned_threshold-logreg", "train@smote-hgb"]
    result = dvc("repro", "--force", "--single-item", *map(stage_address, stages), cwd=project,
                 env={**OTHER_CPUS["openblas-sandybridge"], "IMBALANCE_LAB_WARM": "0"})
    assert stages_run(result.stdout) == sorted(stages)
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""
    assert dvc_status(project) == {}


def test_second_repro_does_nothing_and_leaves_git_clean(project):
    result = dvc("repro", cwd=project)
    assert "Running stage" not in result.stdout
    assert "up to date" in result.stdout
    assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""


def test_every_cell_has_its_stages_metrics_and_plots(project):
    for name in STRATEGIES:
        for path in (f"reports/plots/resampled/{name}.png", f"data/resampled/{name}.parquet"):
            assert (project / path).is_file(), path
    for name in CELLS:
        metrics = json.loads((project / f"reports/metrics/{name}.json").read_text())
        assert {"test", "train", "resampled", "cv", "calibration", "cost_tuned"} <= set(metrics)
        assert 0 <= metrics["cv"]["f1"]["mean"] <= 1 and metrics["cv"]["f1"]["sd"] > 0
        folds = json.loads((project / f"reports/cv/{name}.json").read_text())
        assert len(folds["scores"]["f1"]) == folds["folds"] * folds["repeats"] == 50
        for protocol in ("test", "train"):
            assert metrics[protocol]["tp"] + metrics[protocol]["fn"] == {"test": 11, "train": 24}[protocol]
        for path in (f"reports/plots/boundary/{name}.png", f"reports/plots/calibration/{name}.png",
                     f"reports/plots/dependence/{name}.png", f"reports/explain/{name}.json",
                     f"reports/curves/pr/{name}.json", f"reports/curves/roc/{name}.json", f"data/models/{name}.json"):
            assert (project / path).is_file(), path
    shown = json.loads(dvc("metrics", "show", "--json", cwd=project).stdout)
    files = next(iter(shown.values()))["data"]
    assert set(files) == ({f"reports/{kind}/{name}.json" for name in CELLS for kind in ("metrics", "headline")}
                          | {"reports/summary.json", "reports/benchmark/metrics.json"})


def readme_commands(heading: str) -> list[list[str]]:
    """The commands of the first bash block under a README heading, as argument lists (comments dropped)."""
    import shlex

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(f"\n## {heading}\n"):]
    block = section[section.index("```bash\n") + 8:]
    return [shlex.split(line, comments=True) for line in block[:block.index("```")].splitlines() if line.strip()]


def test_readme_commands_for_looking_at_results_run_and_fit_100_columns(project):
    """Every command of the README's "Looking at results" block, as written, on the committed results."""
    run(["git", "branch", "-M", "main"], cwd=project)  # the README compares with main
    commands = readme_commands("Looking at results")
    assert [args[:2] for args in commands] == [["imbalance-lab", "leaderboard"], ["dvc", "metrics"], ["dvc", "metrics"],
                                              ["dvc", "exp"]]
    for args in commands:
        program = {"dvc": "dvc", "imbalance-lab": "imbalance_lab"}[args[0]]
        shown = run([sys.executable, "-m", program, *args[1:]], cwd=project, env={"COLUMNS": "100"}).stdout
        assert max(map(len, shown.splitlines()), default=0) <= 100, (args, shown)
        if args[1] != "metrics" or args[2] == "show":  # a diff with main prints nothing here: nothing moved
            assert len(shown.splitlines()) >= 3, (args, shown)
        if args[1] == "exp":  # the kept columns are drawn, not cut off with "…"
            assert "reports/headline/smote-logreg.json:cv.f1" in shown and "strategies.smote.k_neighbors" in shown


def test_article_protocol_figures_match_the_article(project):
    """The train-section figures the article published, and its resampled class counts."""
    metrics = {name: json.loads((project / f"reports/metrics/{name}-logreg.json").read_text())
               for name in ARTICLE_STRATEGIES}
    assert metrics["baseline"]["train"]["tp"] + metrics["baseline"]["train"]["fp"] == 0  # predicts no default
    assert metrics["baseline"]["train"]["accuracy"] == pytest.approx(350 / 374, abs=1e-6)
    assert metrics["smote"]["resampled"]["counts"] == {"0": 350, "1": 350}
    assert metrics["smote"]["train"]["accuracy"] == pytest.approx(0.76, abs=0.03)
    assert metrics["smote"]["train"]["f1"] == pytest.approx(0.30, abs=0.03)
    assert metrics["enn"]["resampled"]["counts"] == {"0": 287, "1": 24}
    assert metrics["knn_smote"]["resampled"]["filter_kept"] == {"1": 10}
    assert metrics["knn_smote"]["resampled"]["counts"] == {"0": 350, "1": 350}
    assert metrics["knn_smote"]["train"]["accuracy"] > 0.90
    assert metrics["knn_smote"]["train"]["f1"] == pytest.approx(0.50, abs=0.05)
    # SMOTEENN: fewer rows, lower accuracy and F1 than SMOTE alone.
    assert metrics["smoteenn"]["resampled"]["rows"] < 700
    assert metrics["smoteenn"]["train"]["accuracy"] < metrics["smote"]["train"]["accuracy"]
    assert metrics["smoteenn"]["train"]["f1"] < metrics["smote"]["train"]["f1"]


def cells_of(strategy: str, stages=("evaluate", "train")) -> list[str]:
    return [f"{stage}@{strategy}-{c}" for stage in stages for c in CLASSIFIERS]


@pytest.fixture
def small_project(tmp_path, small_built):
    """A copy of the project on small settings (baseline and smote, 3 folds once) after one full `dvc repro`,
    committed: what reruns after a change does not depend on the settings' size."""
    return copy_built(small_built, tmp_path / "project")


# slow: a grid addition running only its own stages is test_workspace.py's added classifier; a changed
# strategy, test_team.py's branch
@pytest.mark.slow
def test_a_new_strategy_runs_only_its_own_stages_and_compare(small_project):
    """A new strategy adasyn: {sampler: ADASYN} (its params.yaml entry and its name in grid.strategies, no
    dvc.yaml edit) runs only its own stages (with every classifier), check and compare; it gets its metrics
    files, leaderboard rows and curves in the DVC plots. Taking it out again restores what the run-cache holds
    (check) and reruns compare, whose outputs are in git, to the committed bytes. (A changed strategy reruns
    only its own stages: test_team.py's branch change.)"""
    project = small_project
    original = (project / "params.yaml").read_text()
    params = yaml.safe_load(original)
    params["strategies"]["adasyn"] = {"sampler": "ADASYN"}
    params["grid"]["strategies"].append("adasyn")
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert stages_run(dvc("repro", cwd=project).stdout) == sorted(
        ["check", "compare", "resample@adasyn", *cells_of("adasyn")])
    changed = json.loads(dvc("metrics", "diff", "--json", cwd=project).stdout)
    assert set(changed) == {f"reports/{kind}/adasyn-{c}.json" for kind in ("metrics", "headline")
                            for c in CLASSIFIERS} | {"reports/summary.json"}
    metrics = json.loads((project / "reports/metrics/adasyn-logreg.json").read_text())
    assert metrics["resampled"]["counts"]["1"] > 24 and len(metrics["cv"]) > 0
    summary = json.loads((project / "reports/summary.json").read_text())
    assert "adasyn-hgb" in summary["cells"] and "vs_baseline" in summary["cells"]["adasyn-hgb"]
    assert summary["cells"]["adasyn-hgb"]["strategy"] == "adasyn"
    assert "| `adasyn-logreg` |" in (project / "reports/summary.md").read_text()
    assert all({"adasyn-logreg", "adasyn-hgb"} <= names for names in overlaid_strategies(project).values())
    # adasyn sets no random_state: the global `seed` seeds it, so a forced rerun gives the same bytes
    produced = ["data/resampled/adasyn.parquet", "data/models/adasyn-hgb.json", "reports/cv/adasyn-hgb.json",
                "reports/metrics/adasyn-hgb.json"]
    first = {name: (project / name).read_bytes() for name in produced}
    dvc("repro", "--force", "--single-item", *map(stage_address, ["resample@adasyn", "train@adasyn-hgb",
                                                                 "evaluate@adasyn-hgb"]), cwd=project)
    assert {name: (project / name).read_bytes() for name in produced} == first

    (project / "params.yaml").write_text(original)
    back = dvc("repro", cwd=project).stdout
    assert "Stage 'check' is cached - skipping run" in back
    assert stages_run(back) == ["compare"]
    # reports/ as committed (DVC keeps adasyn's entries in the dvc.lock files and .gitignore: its own bookkeeping)
    assert run(["git", "status", "--porcelain", "--untracked-files=no", "--", "reports"], cwd=project).stdout == ""
    assert dvc_status(project) == {}


def test_bad_params_stop_at_the_check_stage_and_lose_nothing(project):
    """A value no cross-validation fold can satisfy stops `dvc repro` at `check`, before DVC
    deletes any output of the stages that would use it."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["strategies"]["smote"]["k_neighbors"] = 30
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        result = dvc("repro", "resample@smote", cwd=project, check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "strategies.smote.k_neighbors" in output
        assert "at most 18" in output  # 24 training defaulters, 19 in the smallest of 5 training folds
        assert "Traceback" not in output
        assert stages_run(result.stdout) == ["check"]
        assert (project / "data/resampled/smote.parquet").is_file()
        assert run(["git", "status", "--porcelain"], cwd=project).stdout == " M params.yaml\n"
    finally:
        run(["git", "checkout", "--", "params.yaml"], cwd=project)
        dvc("checkout", cwd=project)


def overlaid_strategies(project: Path) -> dict[str, set[str]]:
    """The strategies `dvc plots show` draws in each overlay (PR and ROC) of the compare stage."""
    shown = json.loads(dvc("plots", "show", "--json", cwd=project).stdout)
    assert not shown.get("errors"), shown
    return {path: {row["strategy"] for plot in shown["data"][path] for row in plot["content"]["data"]["values"]}
            for path in ("reports/precision_recall.json", "reports/roc.json")}


def test_plots_overlay_every_cell(project):
    """`dvc plots show` overlays the PR and ROC curves of every cell of the grid, one colour each."""
    assert overlaid_strategies(project) == {path: set(CELLS) for path in
                                            ("reports/precision_recall.json", "reports/roc.json")}


EXECUTION_SETTINGS = {"compute.backend": "dask", "compute.scheduler": "tcp://10.0.0.1:8786",
                      "compute.neighbors": "brute", "cv.n_jobs": "2"}


def test_the_execution_settings_rerun_nothing(project):
    """Where and how fast the work runs changes no result, so DVC sees nothing to do. All of them changed at once:
    a stage that depended on any one of them would be out of date (its name and the key in `dvc status`)."""
    from dvc.utils.serialize import modify_yaml

    with modify_yaml(str(project / "params.yaml")) as params:  # YAML 1.2 as DVC's -S: `positive: Yes` stays text
        for dotted, value in EXECUTION_SETTINGS.items():
            section, key = dotted.split(".")
            assert key in params[section], dotted  # a setting params.yaml still has
            params[section][key] = yaml.safe_load(value)
    try:
        assert dvc_status(project) == {}
    finally:
        run(["git", "checkout", "--", "params.yaml"], cwd=project)
