"""Unit: the warm runner's pieces in this process, no server started (tests/integration/test_warm.py and
hostile/test_hostile_warm.py run real servers).

The server's request handling on a socket pair (status, stop, each refusal), the stage list it serves,
and the caller's promise to import nothing but the standard library.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, pipeline_stages
from imbalance_lab.pipeline.stage_names import STAGES
from imbalance_lab.warm.fingerprint import load_environment, process_state
from imbalance_lab.warm.protocol import replies, send_request, stage_of
from imbalance_lab.warm.server import StageServer


@pytest.fixture
def server(tmp_path) -> StageServer:
    """A server as start() leaves it, without the lock, the imports or the listening socket."""
    made = StageServer(tmp_path / "x.sock", tmp_path)
    made.environment, made.import_path, made.own = load_environment(), list(sys.path), "f" * 64
    return made


def answer(server: StageServer, request: dict | bytes, fds=()) -> dict:
    """The server's reply to ``request`` (an object, or raw bytes), sent over a socket pair as a caller sends."""
    caller, end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with caller:
        if isinstance(request, bytes):
            caller.sendall(request)
        else:
            send_request(caller, request, list(fds))
        server.handle_request(end)
        return next(replies(caller))


def stage_request(project: Path, **changes) -> dict:
    return {"run": ["check"], "root": str(project), "cwd": str(project), "env": dict(os.environ),
            "path": list(sys.path), "process": process_state(), "fingerprint": "f" * 64, **changes}


def test_status_and_stop(server, tmp_path):
    shown = answer(server, {"status": True, "root": str(tmp_path)})
    assert shown == {"pid": os.getpid(), "root": str(tmp_path), "started": 0.0, "served": 0, "running": [],
                     "fingerprint": "f" * 12}
    assert not server.stopping
    assert answer(server, {"stop": True, "root": str(tmp_path)}) == {"stopping": os.getpid()}
    assert server.stopping


@pytest.mark.parametrize("changes, why", [
    ({"root": "/elsewhere"}, "another checkout ('/elsewhere'; this server serves "),
    ({"run": ["leaderboard"]}, "not a pipeline stage"),
    ({"run": ["-q"]}, "not a pipeline stage"),
    ({"run": "check"}, "not a pipeline stage"),
    ({"cwd": 1}, "malformed request"),
    ({"env": {**os.environ, "OPENBLAS_CORETYPE": "Prescott"}}, "another environment"),
    ({"path": ["/somewhere", *sys.path]}, "another import path"),
    ({"process": {}}, "other resource limits"),
], ids=["checkout", "not-a-stage", "option-only", "run-as-text", "cwd", "environment", "import-path", "limits"])
def test_a_request_that_must_not_run_here_is_refused_and_the_server_serves_on(server, tmp_path, changes, why):
    reply = answer(server, stage_request(tmp_path, **changes), [0, 1, 2, 0])
    assert reply["refused"].startswith(why) and reply["pid"] == os.getpid()
    assert not server.stopping and server.served == 0


def test_a_stale_request_stops_the_server(server, tmp_path):
    """Other sources: refused as stale, and the server stops (the caller starts one of today's files)."""
    assert answer(server, stage_request(tmp_path, fingerprint="0" * 64), [0, 1, 2, 0])["refused"] == "stale"
    assert server.stopping


@pytest.mark.parametrize("raw", [b"[1]\n", b"not json\n", b'"text"\n', b"\xff\n"])
def test_an_unreadable_request_is_refused_not_a_crash(server, raw):
    """A JSON value that is no object used to end the server with an AttributeError."""
    assert answer(server, raw)["refused"].startswith("unreadable request")
    assert not server.stopping


def test_the_stages_a_server_runs_are_the_stages_dvc_runs():
    """Every command of the dvc.yaml files is a stage of STAGES (the warm runner serves it), and nothing else is."""
    commands = set()
    for stage in pipeline_stages(ROOT).values():
        words = stage.get("do", stage)["cmd"].split()
        assert words[:3] == ["python", "-m", "imbalance_lab"], words
        commands.add(stage_of(words[3:]))
    assert commands == set(STAGES)
    assert stage_of(["-q", "train", "smote", "logreg"]) == "train"
    assert stage_of(["server", "status"]) is None and stage_of(["--help"]) is None and stage_of([]) is None


def test_the_caller_imports_only_the_standard_library():
    """`python -m imbalance_lab <stage>` decides warm or cold before anything heavy loads: the warm modules
    and what they import (pipeline.stage_names, settings.paths, the packages' __init__) stay standard
    library only (the server imports the stages' libraries in preload, after it forked from nothing)."""
    code = ("import sys; before = set(sys.modules); import imbalance_lab.warm.runner, imbalance_lab.warm.server; "
            "import json; print(json.dumps(sorted(set(sys.modules) - before)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    foreign = [name for name in loaded if name.split(".")[0] not in sys.stdlib_module_names
               and not name.startswith("imbalance_lab")]
    assert foreign == []
    assert "imbalance_lab.settings.params" not in loaded  # settings' validation (pydantic) is not the caller's
