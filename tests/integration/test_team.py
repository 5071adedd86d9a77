"""Team workflow, end to end: real git and DVC in temporary folders.

A small version of the project (conftest.small_built: two strategies with both classifiers, 3 folds once, a
small ceiling sample) is committed with its results to a bare "origin" repository; team members clone it side
by side, so the default DVC remote (a folder next to the clones) is shared, as it is for a team on one file
server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers import ROOT, command_env, copy_built, dvc, dvc_status, lock_records, run, stages_run

pytestmark = pytest.mark.integration
SMALL_STRATEGIES = ("baseline", "smote")
CLASSIFIERS = ("logreg", "hgb")  # the grid's two classifiers
CELLS = tuple(f"{s}-{c}" for s in SMALL_STRATEGIES for c in CLASSIFIERS)


def results(project: Path) -> dict[str, bytes]:
    files = sorted(p for p in (project / "reports").rglob("*") if p.is_file())
    return {str(p.relative_to(project)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def team(tmp_path_factory, small_built):
    """origin.git holding the small project and its results; `clone(name)` clones it beside the others."""
    root = tmp_path_factory.mktemp("team")
    seed = copy_built(small_built, root / "seed")
    run(["git", "branch", "-M", "main"], cwd=seed)
    run(["git", "clone", "-q", "--bare", str(seed), str(root / "origin.git")], cwd=root)
    dvc("push", cwd=seed)  # to the default remote beside the clones (.dvc/config)

    def clone(name: str) -> Path:
        run(["git", "clone", "-q", str(root / "origin.git"), name], cwd=root)
        return root / name

    return {"root": root, "seed": seed, "clone": clone}


@pytest.fixture(scope="module")
def alice(team):
    """A teammate's clone with the data pulled from the remote (a full `dvc repro` from the sources alone is
    conftest.small_built's and test_pipeline's; an interrupted one completing is carol's)."""
    path = team["clone"]("alice")
    run([sys.executable, "-m", "imbalance_lab", "pull"], cwd=path)  # the README's `imbalance-lab pull`
    return path


def run_queue(cwd: Path, jobs: int, experiments: int, timeout: float = 600) -> list[str]:
    """`dvc queue start -j <jobs>`, then wait until ``experiments`` experiments have their results: their refs.

    `dvc queue start` returns at once, but the workers it spawns keep its output open and stay up 10 s
    after the last experiment (celery's idle timeout): waiting for its output would wait for that too. The
    results are git refs refs/exps/<baseline commit, split 2/38>/<name> (refs/exps/celery/ and refs/exps/exec/
    are DVC's own bookkeeping, there while an experiment runs)."""
    subprocess.Popen([sys.executable, "-m", "dvc", "queue", "start", "-j", str(jobs)], cwd=cwd, env=command_env(),
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).wait()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        refs = run(["git", "for-each-ref", "--format=%(refname)", "refs/exps/"], cwd=cwd).stdout.split()
        done = [ref for ref in refs if re.fullmatch(r"refs/exps/[0-9a-f]{2}/[0-9a-f]{38}/[^/]+", ref)]
        if len(done) >= experiments:
            return done
        if not any("queue-worker" in command for command in commands_inside(cwd)):
            break  # every worker gone before the results: a failed experiment
        time.sleep(0.5)
    raise AssertionError(f"queue without {experiments} results:\n{dvc('queue', 'status', cwd=cwd).stdout}")


def commands_inside(folder: Path) -> list[str]:
    """The command lines of the processes working in ``folder`` or below (DVC's queue workers among them)."""
    found, inside = [], os.path.realpath(folder)
    for process in Path("/proc").glob("[0-9]*"):
        try:
            if (os.path.realpath(process / "cwd") + os.sep).startswith(inside + os.sep):
                found.append((process / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def experiment_metrics(cwd: Path, refs: list[str]) -> dict[int, dict]:
    """k_neighbors of smote -> its metrics file, for each experiment's result commit (what `dvc exp show` reads:
    the experiment's params.yaml and its git-tracked metrics, without a second of DVC's start-up)."""
    found = {}
    for ref in refs:
        params = yaml.safe_load(run(["git", "show", f"{ref}:params.yaml"], cwd=cwd).stdout)
        metrics = run(["git", "show", f"{ref}:reports/metrics/smote-logreg.json"], cwd=cwd).stdout
        found[params["strategies"]["smote"]["k_neighbors"]] = json.loads(metrics)
    return found


def set_k_neighbors(project: Path, value: int) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["strategies"]["smote"]["k_neighbors"] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_a_branch_change_is_compared_with_main_and_an_experiment_travels_to_a_teammate(team, alice):
    """The README's branch change by hand (`-S strategies.smote.k_neighbors=3`, commit) reruns only check and
    smote's stages; `dvc metrics/params/plots diff main` and `compare-with main` show the change. The same results,
    saved as an experiment (`dvc exp save`), travel to a teammate through the git remote and apply there with the
    branch's figures. (Queued experiments on two workers: the slow test below.)"""
    committed = json.loads((alice / "reports/metrics/smote-logreg.json").read_text())  # main's own k = 5

    # One classifier's setting: only that classifier's cells would rerun (what a rerun then writes: the branch
    # below, and test_pipeline's rerun test).
    params = yaml.safe_load((alice / "params.yaml").read_text())
    params["classifiers"]["hgb"]["max_depth"] = 2
    (alice / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        # --dry lists the stages whose own inputs changed (compare follows from their outputs)
        assert stages_run(dvc("repro", "--dry", cwd=alice).stdout) == [
            "check", *sorted(f"{stage}@{s}-hgb" for stage in ("evaluate", "train") for s in SMALL_STRATEGIES)]
    finally:
        run(["git", "checkout", "-q", "--", "params.yaml"], cwd=alice)

    run(["git", "checkout", "-q", "-b", "smote-k3"], cwd=alice)
    try:
        set_k_neighbors(alice, 3)
        ran = dvc("repro", cwd=alice).stdout
        assert stages_run(ran) == ["check", "compare", "evaluate@smote-hgb", "evaluate@smote-logreg",
                                   "resample@smote", "train@smote-hgb", "train@smote-logreg"]
        dvc("exp", "save", "-n", "smote-k3", cwd=alice)  # also kept as an experiment of main's commit
        run(["git", "commit", "-qam", "SMOTE with 3 neighbours"], cwd=alice)
        by_hand = json.loads((alice / "reports/metrics/smote-logreg.json").read_text())
        assert by_hand != committed

        changed = json.loads(dvc("metrics", "diff", "main", "--json", cwd=alice).stdout)
        assert set(changed) == {f"reports/{kind}/smote-{c}.json" for kind in ("metrics", "headline")
                                for c in CLASSIFIERS} | {"reports/summary.json"}
        assert json.loads(dvc("params", "diff", "main", "--json", cwd=alice).stdout) == {
            "params.yaml": {"strategies.smote.k_neighbors": {"old": 5, "new": 3, "diff": -2}}
        }
        plots = json.loads(dvc("plots", "diff", "main", "--json", cwd=alice).stdout)
        assert not plots.get("errors")
        overlay = plots["data"]["reports/precision_recall.json"][0]
        assert set(overlay["revisions"]) == {"main", "workspace"}
        encoding = overlay["content"]["encoding"]  # one colour per strategy, one dash per revision
        assert (encoding["color"]["field"], encoding["strokeDash"]["field"]) == ("strategy", "rev")
        drawn = {(row["rev"], row["strategy"]) for row in overlay["content"]["data"]["values"]}
        assert drawn == {(rev, name) for rev in ("main", "workspace") for name in CELLS}
        assert {image["revisions"][0] for image in plots["data"]["reports/plots/boundaries.png"]} == {
            "main", "workspace"
        }

        report = run([sys.executable, "-m", "imbalance_lab", "compare-with", "main"], cwd=alice).stdout
        assert "strategies.smote.k_neighbors" in report
        assert "| `smote-logreg` | cv.f1 |" in report
        assert "`baseline-logreg` | cv.f1" not in report  # untouched cells do not show up as changed
    finally:
        run(["git", "checkout", "-q", "-f", "main"], cwd=alice)

    # The experiment saved on the branch travels to a teammate through the git remote (its data through DVC's).
    dvc("exp", "push", "origin", "smote-k3", cwd=alice)
    bob = team["clone"]("bob-exp")
    dvc("exp", "pull", "origin", "smote-k3", cwd=bob)
    assert "smote-k3" in dvc("exp", "list", "--name-only", cwd=bob).stdout
    dvc("exp", "apply", "smote-k3", cwd=bob)
    assert json.loads((bob / "reports/metrics/smote-logreg.json").read_text()) == by_hand


# slow: the branch change and the shared experiment above are the README's workflow without the queue; this adds
# DVC's queue workers, two at once
@pytest.mark.slow
def test_queued_experiments_on_two_workers_give_what_one_by_one_runs_give(team):
    """The README's queued sweep: two experiments (k_neighbors 3 and 7) run by two workers at once in temporary
    copies; each gives what the same setting gives run in the workspace (`dvc exp run`, one by one)."""
    carl = team["clone"]("carl")
    run([sys.executable, "-m", "imbalance_lab", "pull"], cwd=carl)
    dvc("exp", "run", "--queue", "-S", "strategies.smote.k_neighbors=3,7", cwd=carl)
    queued = experiment_metrics(carl, run_queue(carl, jobs=2, experiments=2))  # a failed one has no result ref
    assert sorted(queued) == [3, 7] and queued[3] != queued[7]
    for k in (3, 7):
        ran = dvc("exp", "run", "-S", f"strategies.smote.k_neighbors={k}", cwd=carl).stdout
        assert "resample@smote" in stages_run(ran), ran  # computed again: DVC's run-cache keeps no sampler stage
        assert json.loads((carl / "reports/metrics/smote-logreg.json").read_text()) == queued[k], k


def test_a_pulled_clone_has_nothing_to_run(team):
    """The seed pushed its results (team fixture); a teammate's clone pulls them and has nothing to run."""
    assert (team["root"] / "imbalance-lab-storage").is_dir()  # the default remote, beside the clones
    carol = team["clone"]("carol")
    dvc("pull", cwd=carol)
    for output in ("data/raw.parquet", "data/split/train.parquet", "data/models/smote-hgb.json",
                   "data/resampled/baseline.parquet"):
        assert (carol / output).is_file(), output
    assert dvc_status(carol) == {}  # up to date: nothing to run
    assert run(["git", "status", "--porcelain"], cwd=carol).stdout == ""
    assert results(carol) == results(team["seed"])


# slow: a stage killed mid-run leaving every committed output is the hostile suite's (test_hostile.py, "e")
@pytest.mark.slow
def test_an_interrupted_repro_completes_with_the_same_results(team):
    """Two cells' models missing in a teammate's pulled clone, `dvc repro` is killed while it trains the second;
    the rerun trains only that cell (the first one's finished stage is kept) and everything is as the seed has
    it."""
    carol = team["clone"]("carol-killed")
    dvc("pull", cwd=carol)
    for cell in ("baseline-hgb", "smote-hgb"):
        (carol / f"data/models/{cell}.json").unlink()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "DVC_NO_ANALYTICS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "dvc", "repro"], cwd=carol, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    seen = []
    for line in process.stdout:  # wait until the second training stage is under way, then kill everything
        seen.append(line)
        # The stage's own first line: it is running (warm or cold), and DVC waits for it rather than
        # writing its bookkeeping (a kill inside DVC's .dvc/tmp/rwlock write corrupts that file).
        if line.startswith("imbalance-lab train smote hgb") and "fitting on" in line:
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    assert process.returncode != 0, "".join(seen)
    assert stages_run("".join(seen)) == ["train@baseline-hgb", "train@smote-hgb"], "".join(seen)

    rerun = dvc("repro", cwd=carol).stdout  # the README's run command, completed
    assert stages_run(rerun) == ["train@smote-hgb"]  # the run really was cut short; the finished stage kept
    assert results(carol) == results(team["seed"])
    assert lock_records(carol) == lock_records(team["seed"])
    assert run(["git", "status", "--porcelain"], cwd=carol).stdout == ""
    assert dvc_status(carol) == {}  # up to date
    for cell in ("baseline-hgb", "smote-hgb"):
        assert (carol / f"data/models/{cell}.json").read_bytes() == (team["seed"] / f"data/models/{cell}.json"
                                                                      ).read_bytes()


def test_imbalance_lab_pull_says_the_shared_folder_is_missing_then_pulls_once_it_is_pushed(tmp_path):
    """A fresh clone whose default remote (the project's .dvc/config: a folder beside the clones) does not
    exist yet: plain `dvc pull` only lists missing hashes, `imbalance-lab pull` names the folder and the fix.
    Once a teammate pushed, `imbalance-lab pull` restores the data. A tiny `dvc add`-ed file, no `dvc repro`."""
    seed = tmp_path / "seed"
    seed.mkdir()
    run(["git", "init", "-q"], cwd=seed)
    dvc("init", "-q", cwd=seed)
    (seed / ".dvc/config").write_text((ROOT / ".dvc/config").read_text())  # the project's remote setup
    (seed / "note.txt").write_text("shared data\n")
    dvc("add", "-q", "note.txt", cwd=seed)
    run(["git", "add", "-A"], cwd=seed)
    run(["git", "commit", "-qm", "a tracked file"], cwd=seed)
    run(["git", "clone", "-q", str(seed), "dana"], cwd=tmp_path)
    dana, storage = tmp_path / "dana", tmp_path / "imbalance-lab-storage"
    pull = [sys.executable, "-m", "imbalance_lab", "pull"]

    missing = run(pull, cwd=dana / ".dvc", check=False)  # from a subfolder too: it finds the project
    assert missing.returncode != 0
    lines = missing.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("imbalance-lab pull: error: the shared folder "), missing.stderr
    assert f"{storage} (DVC remote 'shared') does not exist yet" in lines[0]
    assert "`dvc push`" in lines[0] and "`dvc remote modify --local shared url" in lines[0]
    assert "Traceback" not in missing.stdout + missing.stderr and not storage.exists()

    dvc("push", "-q", cwd=seed)  # whoever has the data creates the shared folder
    assert storage.is_dir() and not (dana / "note.txt").exists()
    pulled = run(pull, cwd=dana)
    assert (dana / "note.txt").read_text() == "shared data\n", pulled.stdout + pulled.stderr
    assert "error" not in pulled.stderr
