"""Hostile settings the check stage must stop (issue 21), `random_state: null`, and a cut-short dvc.lock.

Every refusal is one line naming the key (and the bound or the fix), from the `check` stage run in this
process, before any other stage could run for hours or lose an output. The committed copy, its restoring
and the shared checks are in hostile.py and conftest.py beside this file.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from hostile import EDITED_PARAMS, Project, dvc, dvc_refused, env, git, refused, reports, set_dotted, status, untouched
from imbalance_lab.pipeline import cli

pytestmark = pytest.mark.integration

SEED_BOUND = "at least 0 and at most 4294967295"
TOO_BIG_SEED = 2**32

SETTINGS_CASES = [
    # threshold_tuning.scoring: only a classification scorer can tune a binary classifier's threshold
    ({"threshold_tuning.scoring": "r2"}, ["'threshold_tuning.scoring'", "'r2', a regression scorer"], "scoring=r2"),
    ({"threshold_tuning.scoring": "neg_mean_poisson_deviance"}, ["'threshold_tuning.scoring'", "regression scorer"],
     "scoring=poisson-deviance"),
    ({"threshold_tuning.scoring": "f1_samples"}, ["'threshold_tuning.scoring'", "a multilabel scorer"],
     "scoring=f1_samples"),
    ({"threshold_tuning.scoring": "adjusted_rand_score"}, ["'threshold_tuning.scoring'", "a clustering scorer"],
     "scoring=adjusted_rand"),
    # costs whose products overflow
    ({"costs.missed_default": 1e308}, ["'costs.missed_default'", "at most 1e+15", "overflows"],
     "costs.missed_default=1e308"),
    ({"costs.false_alarm": 1e300}, ["'costs.false_alarm'", "at most 1e+15"], "costs.false_alarm=1e300"),
    # seeds beyond numpy's range, named by the key that holds them
    ({"seed": TOO_BIG_SEED}, ["params.yaml: 'seed' must be", SEED_BOUND], "seed=2**32"),
    ({"split.seed": TOO_BIG_SEED}, ["params.yaml: 'split.seed' must be", SEED_BOUND], "split.seed=2**32"),
    ({"cv.seed": TOO_BIG_SEED}, ["params.yaml: 'cv.seed' must be", SEED_BOUND], "cv.seed=2**32"),
    ({"threshold_tuning.seed": TOO_BIG_SEED}, ["params.yaml: 'threshold_tuning.seed' must be", SEED_BOUND],
     "threshold_tuning.seed=2**32"),
    ({"data.article.seed": TOO_BIG_SEED}, ["params.yaml: 'data.article.seed' must be", SEED_BOUND],
     "article.seed=2**32"),
    ({"strategies.scorecard.random_state": TOO_BIG_SEED},  # outside the grid: its sampler is not built
     ["params.yaml: 'strategies.scorecard.random_state' must be", SEED_BOUND], "scorecard.random_state=2**32"),
    ({"classifiers.rusboost.random_state": -1},  # outside the grid too
     ["params.yaml: 'classifiers.rusboost.random_state' must be", SEED_BOUND], "rusboost.random_state=-1"),
    # categorical_features on hgb: the model file cannot hold it
    ({"classifiers.hgb.categorical_features": [0]}, ["'classifiers.hgb.categorical_features'", "cannot be saved",
                                                     "data.categorical"], "hgb.categorical_features"),
    # extreme class weights
    ({"strategies.balanced.class_weight": {0: 1e-300, 1: 1e300}},
     ["'strategies.balanced.class_weight.0'", "from 1e-06 to 1e+06"], "class_weight=1e-300,1e300"),
    ({"strategies.balanced.class_weight": {0: 1e-4, 1: 1e4}},
     ["'strategies.balanced.class_weight'", "1e+08 times the other", "at most 1e+06"], "class_weight-ratio-1e8"),
    ({"classifiers.random_forest.class_weight": {0: 1, 1: 1e300}},
     ["'classifiers.random_forest.class_weight.1'", "from 1e-06 to 1e+06"], "forest.class_weight=1e300"),
    # unbounded work: refused with the estimate and the key to raise
    ({"cv.repeats": 1_000_000}, ["'compute.max_work' is 2e+11 row-rounds", "about 2.67e+12",
                                 "cv.repeats 1,000,000", "raise compute.max_work on purpose"], "cv.repeats=1e6"),
    ({"classifiers.hgb.max_iter": 1_000_000_000}, ["'compute.max_work'", "about 2.23e+14",
                                                   "1,000,000,000 rounds (classifiers.hgb.max_iter)"],
     "hgb.max_iter=1e9"),
    ({"classifiers.random_forest.n_estimators": 10**8, "grid.classifiers": ["random_forest"]},
     ["'compute.max_work'", "(classifiers.random_forest.n_estimators)"], "forest.n_estimators=1e8"),
    ({"data.source": "synthetic", "data.synthetic.rows": 10_000_000, "cv.repeats": 10},
     ["'compute.max_work'", "7,000,000 training rows"], "synthetic-10M-rows-10-repeats"),
    ({"compute.max_work": 0}, ["'compute.max_work'", "at least 1"], "max_work=0"),
]


@pytest.mark.parametrize(("changes", "fragments"), [pytest.param(c, f, id=i) for c, f, i in SETTINGS_CASES])
def test_check_refuses_the_setting_naming_its_key(committed, capsys, changes, fragments):
    committed.edit(changes)
    refused(capsys, ["check"], *fragments)
    assert not (committed.root / "data/params.checked").exists()
    untouched(committed, EDITED_PARAMS)


def test_a_work_limit_raised_on_purpose_lets_the_run_through(committed, capsys):
    committed.edit({"cv.repeats": 1_000_000, "compute.max_work": 10**13})
    assert cli.main(["check"]) == 0, capsys.readouterr().err
    assert (committed.root / "data/params.checked").exists()


# --- random_state: null is the global seed, as an absent key --------------------------------------


def outputs_with(project: Project, changes: dict, argv: list[str], paths: list[str]) -> list[bytes]:
    project.edit(changes)
    assert cli.main(argv) == 0
    return [(project.root / path).read_bytes() for path in paths]


def test_random_state_null_means_the_global_seed_for_a_sampler_and_a_classifier(committed, capsys):
    """`random_state:` left empty (DVC's null) seeds with `seed`, as leaving the key out does: the same bytes
    on every run, and the bytes of the key left out. (Unseeded, SMOTE and a forest differ on every run.)"""
    for stage in (["generate"], ["split"]):
        assert cli.main(stage) == 0, capsys.readouterr().err
    small = {"cv.folds": 2, "cv.repeats": 1, "threshold_tuning.folds": 2, "classifiers.random_forest.n_estimators": 5}
    resample = (["resample", "smote"], ["data/resampled/smote.parquet"])
    train = (["train", "baseline", "random_forest"], ["data/models/baseline-random_forest.json"])
    for argv, paths in (resample, train):
        key = "strategies.smote.random_state" if argv[0] == "resample" else "classifiers.random_forest.random_state"
        null = [outputs_with(committed, {**small, key: None}, argv, paths) for _ in range(2)]
        absent = committed.params()
        section, name, _ = key.split(".")
        absent[section][name].pop("random_state", None)
        committed.write_params(set_dotted(absent, small))
        assert cli.main(argv) == 0
        assert null[0] == null[1], f"{argv}: random_state null gives different bytes on two runs"
        assert null[0] == [(committed.root / path).read_bytes() for path in paths], \
            f"{argv}: random_state null differs from the key left out"
    capsys.readouterr()


# --- a cut-short dvc.lock ---------------------------------------------------------------------------

LOCK_FIX = "`git checkout dvc.lock`"
TRAIN_LOCK, EVALUATE_LOCK = "cells/train/dvc.lock", "cells/evaluate/dvc.lock"


def record_start(text: str, name: str) -> int:
    return re.search(rf"^  {re.escape(name)}:$", text, re.M).start()


LOCK_CUTS = [  # (the dvc.lock cut, how)
    ("dvc.lock", lambda text: "", "empty-file"),
    ("dvc.lock", lambda text: text[:record_start(text, "check")], "cut-before-check-valid-yaml"),
    ("dvc.lock", lambda text: text[:record_start(text, "resample@smote")], "cut-before-the-resample-records"),
    ("dvc.lock", lambda text: text[:len(text) // 2], "cut-mid-record"),
    ("dvc.lock", lambda text: text[:record_start(text, "compare")] + text[record_start(text, "check"):],
     "a-record-removed"),
    (TRAIN_LOCK, lambda text: text[:len(text) // 2], "a-cell-lock-cut-mid-record"),
    (EVALUATE_LOCK, lambda text: text[:record_start(text, "evaluate@smote-logreg")], "a-cell-lock-cut-between-records"),
    ("benchmark/dvc.lock", lambda text: text[:record_start(text, "benchmark@hmda")], "the-benchmark-lock-cut"),
]


@pytest.mark.parametrize(("lock", "cut"), [pytest.param(lock, cut, id=name) for lock, cut, name in LOCK_CUTS])
def test_a_cut_lock_stops_every_stage_before_it_runs(committed, capsys, lock, cut):
    text = (committed.root / lock).read_text()
    (committed.root / lock).write_text(cut(text))
    pipeline = lock.replace("dvc.lock", "dvc.yaml")
    for argv in (["check"], ["generate"], ["train", "baseline", "logreg"]):
        refused(capsys, argv, f"{lock}: holds no record of", f"that {pipeline} defines", f"`git checkout {lock}`")
    untouched(committed, {f" M {lock}"})


def test_no_lock_and_a_lock_git_never_had_are_fine(committed, capsys):
    """A dvc.lock deleted on purpose (a full rebuild), or one that is not committed yet, stops nothing."""
    (committed.root / "dvc.lock").unlink()
    assert cli.main(["check"]) == 0, capsys.readouterr().err
    git(committed.root, "rm", "-q", "--cached", "dvc.lock")
    git(committed.root, "commit", "-qm", "no dvc.lock in git")
    try:
        (committed.root / "dvc.lock").write_text("schema: '2.0'\nstages:\n  check:\n    cmd: x\n")
        assert cli.main(["check"]) == 0, capsys.readouterr().err
    finally:
        git(committed.root, "reset", "-q", "--hard", "HEAD~1")


def test_a_grid_that_no_longer_defines_the_missing_records_is_fine(committed, capsys):
    """Records of cells taken out of the grid may be pruned: only stages a dvc.yaml defines count."""
    for lock in (TRAIN_LOCK, EVALUATE_LOCK):
        text = (committed.root / lock).read_text()
        kept = re.sub(r"^  (train|evaluate)@[a-z_]+-hgb:\n(?:    .*\n|      .*\n)*", "", text, flags=re.M)
        assert kept != text
        (committed.root / lock).write_text(kept)
    committed.edit({"grid.classifiers": ["logreg"]})
    assert cli.main(["check"]) == 0, capsys.readouterr().err


def accepted_by_dvc(text: str) -> dict:
    """The stages of a dvc.lock text that DVC reads without complaint (valid YAML in its lock schema), else {}."""
    from dvc.schema import COMPILED_LOCKFILE_SCHEMA
    from voluptuous import Invalid

    try:
        return COMPILED_LOCKFILE_SCHEMA(yaml.safe_load(text) or {}).get("stages") or {}
    except (yaml.YAMLError, Invalid):
        return {}


def no_space_on_dvc_lock(root, after_writes: int) -> list[str]:
    """strace's fault injection: the dvc.lock writes of the command after the first ``after_writes`` fail
    with ENOSPC, as on a full disk (RLIMIT_FSIZE cannot do this: DVC's sqlite caches outgrow any limit
    below dvc.lock's size). Only write() calls stop in strace (seccomp-bpf): the command runs at nearly
    its own speed."""
    return ["strace", "--seccomp-bpf", "-f", "-qq", "-o", os.devnull, "-P", str(root / "dvc.lock"),
            "-e", "trace=write", "-e", f"inject=write:error=ENOSPC:when={after_writes + 1}+"]


# DVC writes dvc.lock through a buffered file: each write() but the last is one full buffer
BLOCK = io.DEFAULT_BUFFER_SIZE


def telling(left: dict, records: int) -> bool:
    """A cut DVC accepts that keeps a record besides check's but not all of them. A lock holding check's record
    alone looks like one deleted on purpose whose check stage DVC restored from its run-cache, which dvclock
    must let through; check's record (every section of params.yaml) now fills the first block by itself."""
    return 0 < len(left) < records and bool(set(left) - {"check"})


def likely_blocks(text: bytes, records: int) -> int:
    """The fewest blocks whose cut of ``text`` DVC would accept telling (see telling) (if DVC rewrites the lock
    as it is, block by block), else 1."""
    return next((blocks for blocks in range(1, 8)
                 if telling(accepted_by_dvc(text[:blocks * BLOCK].decode(errors="replace")), records)), 1)


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace to fail DVC's write of dvc.lock")
def test_dvc_repro_after_a_cut_lock_write_stops_and_git_checkout_restores_it(committed):
    """Real DVC: its rewrite of dvc.lock fails after a few blocks (ENOSPC), leaving valid YAML with some of
    the records. The next `dvc repro` stops at the first stage it runs, says `git checkout dvc.lock`, and
    changes nothing committed; `git checkout dvc.lock` restores every record."""
    root = committed.root
    quiet = {**env(), "IMBALANCE_LAB_WARM": "0"}
    # DVC keeps each record's place when it rewrites the lock, and the committed one has check's record last (run
    # history): a cut losing only that record is harmless, DVC restores it from its run-cache. With check's
    # record first, as a fresh full run writes it, a cut loses the stages after it.
    text = (root / "dvc.lock").read_text()
    first, check = re.search(r"^stages:\n", text, re.M).end(), record_start(text, "check")
    (root / "dvc.lock").write_text(text[:first] + text[check:] + text[first:check] if check > first else text)
    git(root, "commit", "-qam", "check's record first")
    try:
        cut_and_restore(root, quiet, committed)
    finally:
        git(root, "reset", "-q", "--hard", "HEAD~1")


def cut_and_restore(root, quiet: dict, committed: Project) -> None:
    """Cut DVC's write of dvc.lock, see the next `dvc repro` refuse, restore it with git."""
    # The dangerous cut is one DVC reads without a word (valid YAML, every record in DVC's own schema): where a
    # block ends depends on the lock's text, so take the first number of blocks whose cut DVC accepts, trying
    # first the number the committed text predicts (`--force check` rewrites the lock unchanged).
    likely = likely_blocks((root / "dvc.lock").read_bytes(), len(committed.lock["stages"]))
    for blocks in dict.fromkeys([likely, *range(1, 8)]):
        cut = subprocess.run([*no_space_on_dvc_lock(root, blocks), sys.executable, "-m", "dvc", "repro", "--force",
                              "check"], cwd=root, env=quiet, capture_output=True, text=True, timeout=300)
        assert cut.returncode != 0 and "No space left on device" in cut.stdout + cut.stderr, cut.stdout + cut.stderr
        left = accepted_by_dvc((root / "dvc.lock").read_text())
        if telling(left, len(committed.lock["stages"])):
            break
        git(root, "checkout", "dvc.lock")
    assert telling(left, len(committed.lock["stages"])), "no cut of up to 7 blocks left a lock DVC accepts"
    assert status(root) == {" M dvc.lock"}
    output = dvc_refused(subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=root, env=quiet,
                                        capture_output=True, text=True, timeout=300),
                         "error: dvc.lock: holds no record of", LOCK_FIX)
    assert output.count("Running stage") == 1, output  # the first stage DVC ran stopped, nothing after it
    assert status(root) == {" M dvc.lock"} and reports(root) == committed.reports
    git(root, "checkout", "dvc.lock")
    assert status(root) == set() and yaml.safe_load((root / "dvc.lock").read_text()) == committed.lock


def test_dvc_repro_after_deleting_the_lock_rebuilds(committed):
    """A deliberate rebuild: dvc.lock deleted, DVC writes it again stage by stage, and no stage refuses."""
    (committed.root / "dvc.lock").unlink()
    result = dvc(committed.root, "repro", "generate")  # two stages: the second runs on the lock the first wrote
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(yaml.safe_load((committed.root / "dvc.lock").read_text())["stages"]) == {"check", "generate"}
