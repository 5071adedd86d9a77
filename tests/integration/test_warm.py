"""Integration: the warm stage runner (imbalance_lab.warm), with real processes and real DVC.

A stage forked from the warm server must behave as a cold one: same bytes (also test_pipeline),
same exit, ended by Ctrl-C or by its caller's death, never running stale code, and refusing
anyone but its own user and checkout.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import (
    commit,
    configure,
    copy_built,
    copy_project,
    dvc,
    lock_records,
    run,
    servers_of,
    stage_address,
    stages_run,
)
from imbalance_lab.warm.fingerprint import fingerprint, process_state
from imbalance_lab.warm.protocol import connect, replies, runtime_folder, send_request

pytestmark = pytest.mark.integration


def stage(project: Path, *args: str, env=None, check=True):
    return run([sys.executable, "-m", "imbalance_lab", *args], cwd=project, env=env, check=check)


def server(project: Path, env=None) -> dict | None:
    """pid, served, running of the project's warm server, from `imbalance-lab server status`."""
    shown = stage(project, "server", "status", env=env).stdout
    found = re.match(r"warm server (\d+) for .*: up \d+ s, (\d+) stages served, running: (.*)", shown)
    if not found:
        return None
    running = [] if found[3] == "none" else [int(pid) for pid in found[3].split(", ")]
    return {"pid": int(found[1]), "served": int(found[2]), "running": running}


def start_server(project: Path, env=None) -> dict:
    """Two cold stages (the second starts the server), then the server up."""
    stage(project, "check", env=env)
    stage(project, "check", env=env)
    return wait_until(lambda: server(project, env))


def wait_until(condition, seconds: float = 60, step: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"still false after {seconds} s: {condition}")


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


# The shared projects' servers outlive the gaps between their tests (tests elsewhere: 30 s after the last stage).
LONG_IDLE = {"IMBALANCE_LAB_WARM_IDLE": "600"}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The project on small settings (baseline and smote, a training stage to kill), committed, shared by the
    tests of this module that need a project and its server but not a fresh one: each test that needs the server
    up calls ``warm_server``, counts the stages served from what it found, and restores what it changed. Its
    warm server stopped after."""
    project = copy_project(tmp_path_factory.mktemp("warm") / "project")
    configure(project, ("baseline", "smote"))
    commit(project, "small settings")
    yield project
    stage(project, "server", "stop", check=False)


def warm_server(project: Path, env=None) -> dict:
    """The project's server, up: the one running, or one started as stages start it (start_server)."""
    env = {**LONG_IDLE, **(env or {})}
    return server(project, env) or start_server(project, env)


@pytest.fixture
def built(tmp_path, small_built):
    """A copy of the small project with its results (conftest.small_built), committed; its warm server stopped
    after."""
    project = copy_built(small_built, tmp_path / "project")
    yield project
    stage(project, "server", "stop", check=False)


def test_one_cold_stage_starts_no_server_and_a_second_one_does(small):
    """A stage now and then runs cold and starts nothing (one stage is not worth a server's imports); the second
    stage of the checkout within ten minutes starts the server in the background, waits until it listens (its
    imports are those the stage would pay cold beside them) and is its first stage, forked from it."""
    stage(small, "server", "stop", check=False)  # (a server ending removes its `.seen`)
    path = socket_of(small)
    wait_until(lambda: servers_of(path) == [])
    Path(f"{path}.seen").unlink(missing_ok=True)  # no stage of this checkout ran lately
    first = stage(small, "check", env=LONG_IDLE)  # cold: no server yet
    assert "imbalance-lab check: done in" in first.stderr
    assert servers_of(path) == [] and server(small) is None  # none up, none importing
    second = stage(small, "check", env=LONG_IDLE)  # the second stage starts it and waits for it
    assert "imbalance-lab check: done in" in second.stderr
    up = server(small)  # up at once: the stage came back from it
    assert up is not None and up["served"] == 1


def test_a_stage_runs_warm_once_the_server_is_up_and_writes_what_a_cold_one_writes(built):
    """The stages that draw and write reports, cold (each stage's command as DVC runs it, its outputs removed
    first) and forced warm through DVC, write the committed bytes (the whole pipeline warm against cold is
    the golden test's: its run is warm, the committed results cold and warm, and its other-CPU reruns are
    cold). The server is started as a stage starts it (the test above shows when a stage does)."""
    from imbalance_lab.warm.client import SERVER_MODULE

    subprocess.Popen([sys.executable, "-m", SERVER_MODULE, "serve", str(socket_of(built)), str(built),
                      os.path.realpath(built)], cwd=built, env={**os.environ, **LONG_IDLE}, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    stages = ["compare", "evaluate@smote-hgb", "resample@smote"]  # each draws pictures and writes reports
    # Cold while the server imports: the committed outputs (the dvc.lock files record them) written again
    records = lock_records(built)
    committed = {out["path"]: (built / out["path"]).read_bytes() for name in stages for out in records[name]["outs"]}
    for name in stages:
        for out in records[name]["outs"]:
            (built / out["path"]).unlink()
        run(shlex.split(records[name]["cmd"]), cwd=built, env={"IMBALANCE_LAB_WARM": "0"})
    assert {path: (built / path).read_bytes() for path in committed} == committed  # cold: the committed bytes
    up = wait_until(lambda: server(built))
    assert up["served"] == 0  # none of the cold ones served
    warm_run = dvc("repro", "--force", "--single-item", *map(stage_address, stages), cwd=built)
    assert stages_run(warm_run.stdout) == stages
    shown = server(built)
    assert shown and shown["served"] == len(stages), (shown, warm_run.stderr)  # every one forked from the server
    # the dvc.lock files unchanged after the forced run: every output of the three stages (data/ ones too) hashes as
    # committed, so the pipeline is up to date (what a following `dvc repro` would find)
    assert run(["git", "status", "--porcelain"], cwd=built).stdout == ""


def test_warm_output_and_errors_are_the_cold_ones(small):
    served = warm_server(small)["served"]
    from dvc.utils.serialize import modify_yaml

    settings = (small / "params.yaml").read_text()
    with modify_yaml(str(small / "params.yaml")) as params:
        params["cv"]["folds"] = 1
    try:
        warm_run = stage(small, "check", check=False)
        cold_run = stage(small, "check", check=False, env={"IMBALANCE_LAB_WARM": "0"})
    finally:
        (small / "params.yaml").write_text(settings)
    assert server(small)["served"] == served + 1
    assert warm_run.returncode == cold_run.returncode == 2
    assert warm_run.stderr == cold_run.stderr
    assert warm_run.stderr.startswith("imbalance-lab check: error: params.yaml: 'cv.folds'")
    usage = stage(small, "train", check=False)  # argparse's own exit: no strategy named
    assert usage.returncode == 2 and "the following arguments are required: strategy" in usage.stderr


@pytest.fixture(scope="module")
def slow_training(small):
    """`train smote logreg` that cross-validates 400 folds (several seconds), inputs ready, server warm; the
    settings restored after the tests that kill it."""
    from dvc.utils.serialize import modify_yaml

    settings = (small / "params.yaml").read_text()
    with modify_yaml(str(small / "params.yaml")) as params:
        params["cv"].update(folds=4, repeats=100)
    warm_server(small)
    for argv in (["check"], ["generate"], ["split"]):  # the training's inputs (warm stages: no DVC needed here)
        stage(small, *argv, env=LONG_IDLE)
    yield small
    (small / "params.yaml").write_text(settings)


def start_training(project: Path) -> tuple[subprocess.Popen, int]:
    warm_server(project)
    caller = subprocess.Popen([sys.executable, "-m", "imbalance_lab", "train", "smote", "logreg"], cwd=project,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child = wait_until(lambda: (server(project) or {}).get("running"))[0]
    return caller, child


def test_killing_the_caller_ends_its_stage(slow_training):
    caller, child = start_training(slow_training)
    assert alive(child)
    caller.kill()  # SIGKILL: nothing the caller can forward
    caller.communicate()
    wait_until(lambda: not alive(child), seconds=10)
    assert not (slow_training / "data/models/smote-logreg.json").exists()
    assert server(slow_training)["running"] == []


def test_ctrl_c_reaches_the_stage(slow_training):
    caller, child = start_training(slow_training)
    time.sleep(1)  # into the cross-validation
    caller.send_signal(signal.SIGINT)
    _, err = caller.communicate(timeout=30)
    assert caller.returncode == -signal.SIGINT  # as a cold Python process dies of an unhandled Ctrl-C
    assert "KeyboardInterrupt" in err
    assert not alive(child)
    assert not (slow_training / "data/models/smote-logreg.json").exists()


@pytest.fixture(scope="module")
def own_source(tmp_path_factory):
    """A project whose stages run its own copy of the sources (PYTHONPATH), which the tests edit and restore;
    shared by the two tests of changed sources; its warm server stopped after."""
    project = copy_project(tmp_path_factory.mktemp("source") / "project")
    env = {"PYTHONPATH": str(project / "src"), **LONG_IDLE}
    yield project, env
    stage(project, "server", "stop", env=env, check=False)


def test_a_server_that_cannot_import_is_not_started_again_until_the_sources_change(own_source):
    """A broken plots.py: stages that do not need it still run (cold); no server is started for every
    stage; once the file is fixed, the next stage starts a server that comes up."""
    project, env = own_source
    stage(project, "server", "stop", env=env, check=False)  # no server of today's sources (the other test's)
    plots = project / "src/imbalance_lab/reporting/plots.py"
    fixed = plots.read_text()
    failed = Path(f"{socket_of(project, env)}.failed")  # the marker of a server that failed to import
    plots.write_text(fixed + '\nraise ImportError("broken on purpose")\n')
    try:
        Path(f"{failed.with_suffix('')}.seen").touch()  # as if a stage had just run cold (see the start policy)
        stage(project, "check", env=env)  # cold, and it starts a server that fails to import plots
        wait_until(lambda: failed.is_file() and "broken on purpose" in failed.read_text())
        written = failed.stat().st_mtime_ns
        assert stage(project, "check", env=env).returncode == 0  # still runs, cold
        # no server started for it: none is importing now, and none failed since (it would have written the
        # marker again)
        assert servers_of(failed.with_suffix("")) == []
        assert failed.stat().st_mtime_ns == written and server(project, env) is None
    finally:
        plots.write_text(fixed)
    time.sleep(1.1)  # older than the server it starts (a file the server imported changed as it starts: stale)
    stage(project, "check", env=env)
    wait_until(lambda: server(project, env))
    assert not failed.exists()


EDIT = """

_main_before_the_edit = main


def main(argv=None):
    import sys

    print("imbalance-lab check: edited", file=sys.stderr, flush=True)
    return _main_before_the_edit(argv)
"""


def test_a_source_edit_restarts_the_server_and_no_stale_code_runs(own_source):
    project, env = own_source  # this copy's code runs, which the test edits
    old = warm_server(project, env)  # (the test above leaves one up)
    assert "edited" not in stage(project, "check", env=env).stderr
    assert server(project, env)["served"] == old["served"] + 1
    # The edit: cli.main (which every stage runs, warm or cold) wrapped to say so; appended, so that it holds
    # whatever the file's lines are
    source = project / "src/imbalance_lab/pipeline/cli.py"
    original = source.read_text()
    source.write_text(original + EDIT)
    try:
        # the old server refuses (stale) and ends; the stage starts the next one and waits for it
        assert "imbalance-lab check: edited" in stage(project, "check", env=env).stderr
        new = server(project, env)
        assert new is not None and new["pid"] != old["pid"] and new["served"] == 1 and not alive(old["pid"])
        assert "imbalance-lab check: edited" in stage(project, "check", env=env).stderr
        assert server(project, env)["served"] == 2
    finally:
        source.write_text(original)
        stage(project, "server", "stop", env=env, check=False)


def socket_of(project: Path, env=None) -> Path:
    """Where the project's stages find their server (`imbalance-lab server status` says)."""
    return Path(re.search(r"^socket: (.*)$", stage(project, "server", "status", env=env).stdout, re.M)[1])


def ask(project: Path, request: dict, fds=()) -> dict:
    """Send a request to the project's server as a client would, and return its first reply."""
    conn = connect(socket_of(project))
    with conn:
        send_request(conn, request, list(fds))
        return next(replies(conn))


def test_the_server_refuses_another_checkout_and_anything_but_a_stage(small, tmp_path):
    served = warm_server(small)["served"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "dvc.yaml").write_text("stages: {}\n")
    request = {"run": ["check"], "root": str(other), "cwd": str(other), "env": dict(os.environ),
               "process": process_state(), "fingerprint": fingerprint(small)}
    assert ask(small, request, [0, 1, 2, 0])["refused"].startswith("another checkout")
    for argv in (["leaderboard"], ["pull"], ["server", "stop"], ["--help"]):
        reply = ask(small, {**request, "root": str(small.resolve()), "run": argv}, [0, 1, 2, 0])
        assert reply["refused"] == "not a pipeline stage", argv
    reply = ask(small, {**request, "root": str(small.resolve()), "env": {**os.environ, "OPENBLAS_CORETYPE": "Haswell"}},
                [0, 1, 2, 0])
    assert reply["refused"] == "another environment"
    assert server(small)["served"] == served


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as a second user (CI runs as root)")
def test_a_second_user_cannot_reach_the_server(small):
    warm_server(small)
    path = socket_of(small)
    probe = ("import os, socket, sys; os.setgid(65534); os.setuid(65534); s = socket.socket(socket.AF_UNIX); "
             "s.connect(sys.argv[1])")
    result = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True)
    assert result.returncode != 0 and "PermissionError" in result.stderr
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"


def test_a_folder_others_can_enter_is_never_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = tmp_path / f"imbalance-lab-{os.getuid()}"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert runtime_folder() is None
    folder.chmod(0o700)
    assert runtime_folder() == folder
    folder.rmdir()
    folder.symlink_to(tmp_path)
    assert runtime_folder() is None


def test_warm_off_runs_cold_and_starts_no_server(small):
    """Even where a warm stage would start one: another stage of the checkout ran cold a moment ago."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ilw") as runtime:  # its own: the module's server is not in it
        (Path(runtime) / f"imbalance-lab-{os.getuid()}").mkdir(mode=0o700)
        env = {"XDG_RUNTIME_DIR": runtime}
        off = {**env, "IMBALANCE_LAB_WARM": "0"}
        path = socket_of(small, env)
        Path(f"{path}.seen").touch()  # as if a stage had just run cold: the next warm one starts the server
        (small / "data/params.checked").unlink(missing_ok=True)
        stage(small, "check", env=off)
        assert servers_of(path) == [] and server(small, env) is None  # none up, none importing
        assert "IMBALANCE_LAB_WARM=0" in stage(small, "server", "status", env=off).stdout
        assert (small / "data/params.checked").is_file()


def test_a_server_leaves_no_files_behind_and_removes_those_of_dead_servers(small):
    """The runtime folder held about 60 `.sock.lock`/`.sock.seen` pairs after a test run. A server that ends
    removes its socket, lock and `.seen`; one that starts removes what dead servers left (a lock nobody holds, with
    its socket if older than ten minutes; a `.seen` past its ten minutes) and keeps a lock another process holds,
    a recent `.seen` and a recent socket (anyone's listener: the next server of its key replaces it)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ilw") as runtime:  # short: a socket's path holds 107 bytes at most
        leaves_no_files(small, Path(runtime))


def leaves_no_files(small: Path, runtime: Path) -> None:
    import fcntl
    import socket

    folder = runtime / f"imbalance-lab-{os.getuid()}"
    folder.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(runtime)}  # this test's folder alone: other servers' files are not its business
    dead, young, live = (folder / f"{letter * 24}.sock" for letter in "def")
    for name in (dead, young):  # a server killed outright (dead), or anyone's listener a moment ago (young)
        killed = socket.socket(socket.AF_UNIX)
        killed.bind(str(name))
        killed.close()
    for name in (f"{dead}.lock", f"{dead}.seen", f"{young}.lock", f"{live}.seen"):
        Path(name).touch()
    for name in (dead, f"{dead}.seen"):
        os.utime(name, (time.time() - 601, time.time() - 601))
    kept = [young.name, f"{live.name}.lock", f"{live.name}.seen"]
    with open(f"{live}.lock", "a") as held:  # another key's server, alive: its lock held (here)
        fcntl.flock(held, fcntl.LOCK_EX)
        path = socket_of(small, env)  # `server status` says where, server or not
        assert path.parent == folder
        Path(f"{path}.seen").touch()  # as if a stage had just run cold: the next one starts the server
        stage(small, "check", env=env)
        up = wait_until(lambda: server(small, env))
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [path.name, f"{path.name}.lock", f"{path.name}.seen", *kept])
        stage(small, "server", "stop", env=env)
        wait_until(lambda: not alive(up["pid"]))
        assert sorted(p.name for p in folder.iterdir()) == sorted(kept)
