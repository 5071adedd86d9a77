"""Throwing an experiment away (issue 22, item 7): the README's discard line, through real git and DVC.

`dvc exp run` leaves its results in the workspace; a classifier it added leaves files no stage of the
committed dvc.yaml writes, in the folders `compare` depends on. The README's one line restores the
workspace after an experiment and after a failed run; `git checkout .` alone costs one rerun of
`compare`, which deletes the files of cells outside the grid, and leaves git clean.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from helpers import ROOT, copy_built, dvc, dvc_status, run, stages_run
from imbalance_lab.settings.paths import CELL_FILES, STRATEGY_FILES, outside_grid

README = (ROOT / "README.md").read_text()


def readme_block(marker: str) -> str:
    """The fenced block right after the README's ``<!-- marker: ... -->`` comment."""
    return re.search(rf"<!-- {marker}:[^>]*-->\n```\w*\n(.*?)```", README, re.S)[1]


DISCARD = readme_block("discard").strip()


def test_the_discard_line_names_only_the_pipelines_files():
    """One line, and nothing in it reaches the user's inputs, code or other edits."""
    assert "\n" not in DISCARD and DISCARD.endswith("&& dvc checkout")
    assert "data/input" not in DISCARD and " . " not in f"{DISCARD} " and "-x" not in DISCARD.split()


def test_outside_grid_lists_only_the_files_of_other_cells_and_strategies(tmp_path):
    """Every kind of cell and strategy file; the grid's own, hidden temporary outputs and names the pipeline
    never writes are kept."""
    grid_cells, grid_strategies = ["baseline-logreg"], ["baseline"]
    written = []
    for templates, names in ((CELL_FILES, ["baseline-logreg", "baseline-hgb", "smote-logreg"]),
                             (STRATEGY_FILES, ["baseline", "smote"])):
        for template in templates.values():
            for name in names:
                path = tmp_path / template.format(name)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("x")
                written.append(path)
    kept = [tmp_path / "reports/metrics/.baseline-hgb.json.123-ab.tmp", tmp_path / "reports/metrics/Notes.json",
            tmp_path / "reports/metrics/notes.md", tmp_path / "data/models/.gitignore"]
    for path in kept:
        path.write_text("x")
    expected = sorted(p for p in written if not p.name.startswith(("baseline-logreg.", "baseline.")))
    assert sorted(outside_grid(grid_strategies, grid_cells, tmp_path)) == expected
    assert len(expected) == 2 * len(CELL_FILES) + len(STRATEGY_FILES)


def status(project: Path) -> str:
    return run(["git", "status", "--porcelain"], cwd=project).stdout


def clean(project: Path) -> None:
    assert status(project) == ""
    assert dvc_status(project) == {}  # `dvc status`: "Data and pipelines are up to date."


def discard(project: Path) -> None:
    """The README's line, as a user pastes it into a shell."""
    run(["bash", "-c", DISCARD], cwd=project)


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_built):
    """A copy of the small project with its results (conftest.small_built: baseline and smote with logreg and hgb;
    the README's misspelt key is a key of smote, a strategy of the grid, which check reads)."""
    return copy_built(small_built, tmp_path_factory.mktemp("workspace") / "project")


@pytest.mark.integration
def test_an_added_classifier_is_discarded_by_the_readme_line_or_by_git_checkout_and_repro(project):
    """An experiment adds a classifier. `git checkout .` leaves its files, in folders `compare` depends on: the
    next `dvc repro` reruns only `compare`, which deletes them, and dvc.lock comes out as committed (before the
    fix, DVC counted them and dvc.lock changed). The same experiment applied again, the README's line restores
    everything at once. (A forest of 5 trees: 100 trees only make its four stages slower.)"""
    ran = dvc("exp", "run", "-n", "with-forest", "-S", "grid.classifiers=[logreg,hgb,random_forest]",
              "-S", "classifiers.random_forest.n_estimators=5", cwd=project).stdout
    # only the added cells' own stages, check and compare (no dvc.yaml edit: the grid expands them)
    added_stages = [f"{stage}@{strategy}-random_forest" for stage in ("train", "evaluate")
                    for strategy in ("baseline", "smote")]
    assert stages_run(ran) == sorted(["check", "compare", *added_stages]), ran
    added = {line for line in status(project).splitlines() if line.startswith("??")}
    assert "?? reports/metrics/smote-random_forest.json" in added, added

    run(["git", "checkout", "."], cwd=project)
    left = status(project)  # the added cells' reports (their model files: data/models/.gitignore ignores them)
    assert "?? reports/metrics/smote-random_forest.json" in left and "data/models" not in left, left
    assert (project / "data/models/smote-random_forest.json").is_file()
    assert stages_run(dvc("repro", cwd=project).stdout) == ["compare"]
    assert status(project) == ""  # and DVC's status is what this repro made it: up to date
    assert not (project / "data/models/smote-random_forest.json").exists()  # compare removed it

    dvc("exp", "apply", "with-forest", cwd=project)
    assert "?? reports/metrics/smote-random_forest.json" in status(project)
    discard(project)
    clean(project)


@pytest.mark.integration
def test_a_misspelt_key_changes_nothing_and_its_plus_form_is_refused_then_discarded(project):
    """The README quotes both messages: DVC's for a key params.yaml lacks (nothing written), and check's for the
    same key added with Hydra's `+` (params.yaml changed, restored by the README's line)."""
    quoted = readme_block("misspelt").splitlines()
    command, message = quoted[0].removeprefix("$ ").split(), quoted[1:]
    assert command[:3] == ["dvc", "exp", "run"]
    result = dvc(*command[1:], cwd=project, check=False)
    assert result.returncode != 0
    assert [line for line in result.stderr.splitlines() if line.strip()][-4:] == message
    assert status(project) == ""

    plus = message[1].split("use ")[1].split(":")[0]  # +strategies.smote.k_neighbor=3, as DVC suggests
    result = dvc("exp", "run", "-S", plus, cwd=project, check=False)
    assert result.returncode != 0
    refusal = re.search(r"`(imbalance-lab check: error: [^`]*)`", " ".join(README.split()))[1]
    assert refusal in result.stderr, result.stderr
    assert status(project) == " M params.yaml\n"
    discard(project)
    clean(project)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
