"""Hostile: the warm stage runner (imbalance_lab.warm).

A. Warm = cold for every input a server could miss: a settings file, start-up code or an installed
   file changed after the server started. Each row starts a real server, changes one input in a way
   that changes a cold stage's picture (savefig.dpi), and holds the next warm stage's bytes to a cold
   stage's. B. The variables read at import time: a real server refuses a caller whose value differs.
C. A fake server of the same user: a real Unix socket server in this process speaks the protocol with
   a bad reply; the caller runs the stage cold (right output, one notice line, no traceback) and never
   signals a process it has not proved to be the stage's child.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from helpers import commit, configure, copy_project
from imbalance_lab.pipeline import cli
from imbalance_lab.warm import protocol, runner
from imbalance_lab.warm.client import SERVER_MODULE
from imbalance_lab.warm.fingerprint import fingerprint, load_environment, process_state
from imbalance_lab.warm.protocol import connect, runtime_folder, send_request

pytestmark = pytest.mark.integration

STAGE = ("resample", "baseline")  # small and fast, and it draws a picture
PICTURE = "reports/plots/resampled/baseline.png"
OUTPUTS = ("data/resampled/baseline.parquet", "data/resampled/baseline.json", PICTURE)
DPI = "savefig.dpi: {}\n"  # a cold stage's picture changes with it


@contextmanager
def inside(folder: Path):
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The project on small settings and one strategy, committed, with its data and split."""
    root = copy_project(tmp_path_factory.mktemp("warm") / "project")
    configure(root, ("baseline",))
    commit(root, "small settings")
    with inside(root):
        for argv in (["check"], ["generate"], ["split"]):
            assert cli.main(argv) == 0
    return root


def base_env(**changes) -> dict[str, str]:
    env = {**os.environ, "IMBALANCE_LAB_WARM_IDLE": "60"}
    env.update(changes)
    return {key: value for key, value in env.items() if value is not None}


def run_stage(root: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imbalance_lab", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)


def outputs(root: Path) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in OUTPUTS}


def status(root: Path, env: dict) -> tuple[dict | None, Path]:
    shown = run_stage(root, env, "server", "status").stdout
    socket_path = Path(re.search(r"^socket: (.*)$", shown, re.M)[1])
    found = re.match(r"warm server (\d+) for .*: up \d+ s, (\d+) stages served", shown)
    return ({"pid": int(found[1]), "served": int(found[2])} if found else None), socket_path


def servers_of(socket_path: Path) -> list[int]:
    """The server processes this test started for ``socket_path`` (any generation)."""
    found = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            args = (process / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in args and str(socket_path).encode() in args:
            found.append(int(process.name))
    return found


@contextmanager
def server(root: Path, env: dict):
    """A warm server of ``root`` for ``env``, started as a stage starts it and up; stopped after (with
    any server a stale reply started)."""
    _, socket_path = status(root, env)
    subprocess.Popen([sys.executable, "-m", SERVER_MODULE, "serve", str(socket_path), str(root),
                      os.path.realpath(root)], cwd=root, env=env, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while (up := status(root, env)[0]) is None:
        assert time.monotonic() < deadline, "the warm server did not start"
        time.sleep(0.1)
    try:
        yield up
    finally:
        for pid in servers_of(socket_path):
            os.kill(pid, signal.SIGKILL)


# --- A. warm = cold ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mplconfig(tmp_path_factory) -> str:
    """A matplotlib folder shared by the rows that do not change it (its font list built once)."""
    return str(tmp_path_factory.mktemp("mplconfig"))


@pytest.fixture(scope="module")
def cold_at_42(project, mplconfig, tmp_path_factory) -> dict[str, bytes]:
    """A cold stage's outputs with savefig.dpi 42 (every row's change sets it, each its own way), once for all
    rows; they differ from the outputs at matplotlib's default: a row's change alters the picture."""
    rc = tmp_path_factory.mktemp("rc") / "matplotlibrc"
    rc.write_text(DPI.format(42))
    cold = {**base_env(MPLCONFIGDIR=mplconfig), "IMBALANCE_LAB_WARM": "0"}
    assert run_stage(project, cold, *STAGE).returncode == 0
    default = outputs(project)
    assert run_stage(project, {**cold, "MATPLOTLIBRC": str(rc)}, *STAGE).returncode == 0
    at_42 = outputs(project)
    assert at_42[PICTURE] != default[PICTURE], "savefig.dpi does not alter a cold stage's picture: no proof"
    return at_42


def in_root(root, tmp, text):
    return root / "matplotlibrc", text


def in_config_folder(root, tmp, text):  # $MPLCONFIGDIR
    return tmp / "mplconfig" / "matplotlibrc", text


def in_home(root, tmp, text):  # ~/.config/matplotlib, HOME set for the server and the stages (no MPLCONFIGDIR)
    return tmp / "home" / ".config" / "matplotlib" / "matplotlibrc", text


def sitecustomize(root, tmp, text):  # on PYTHONPATH: runs at every start-up, before any stage code
    dpi = text.split(":")[1].strip()
    return tmp / "site" / "sitecustomize.py", f"import matplotlib\nmatplotlib.rcParams['savefig.dpi'] = {dpi}\n"


def module_edited(root, tmp, text):  # a module the server imported (as an installed package's file)
    dpi = text.split(":")[1].strip()
    return tmp / "site" / "dpi_tweak" / "__init__.py", \
        f"import matplotlib\nmatplotlib.rcParams['savefig.dpi'] = {dpi}\n"


def installed_data_file_edited(root, tmp, text):
    """matplotlib's own defaults (mpl-data/matplotlibrc, read as the server imports matplotlib), in a
    site folder this test builds: the installed package linked file by file, that one file copied."""
    import matplotlib

    installed, site = Path(matplotlib.__file__).parent, tmp / "site" / "matplotlib"
    rc = site / "mpl-data" / "matplotlibrc"
    if not site.exists():
        (site / "mpl-data").mkdir(parents=True)
        for item in installed.iterdir():
            if item.name != "mpl-data":
                (site / item.name).symlink_to(item)
        for item in (installed / "mpl-data").iterdir():
            if item.name != "matplotlibrc":
                (site / "mpl-data" / item.name).symlink_to(item)
        rc.write_text((installed / "mpl-data" / "matplotlibrc").read_text())
    return rc, rc.read_text().replace("#savefig.dpi:       figure", text.strip())

# id, where the input is (file, content for a given dpi line), present before the server starts?, extra files
# A file created and the same file edited take different paths through the server's checks (a name that
# appears in a folder; a file whose stat changed): each path has its row, not each file in both ways.
WARM_COLD_CASES = [
    ("matplotlibrc-created-in-project-root", in_root, False, {}),
    ("matplotlibrc-created-in-MPLCONFIGDIR", in_config_folder, False, {}),
    ("matplotlibrc-created-in-home-config", in_home, False, {}),
    ("sitecustomize-edited", sitecustomize, True, {}),
    ("imported-package-module-edited-in-place", module_edited, True,
     {"site/sitecustomize.py": "import dpi_tweak\n"}),
    ("installed-package-data-file-edited-in-place", installed_data_file_edited, True, {}),
]


@pytest.mark.parametrize("where, before, extra", [case[1:] for case in WARM_COLD_CASES],
                         ids=[case[0] for case in WARM_COLD_CASES])
def test_a_warm_stage_writes_what_a_cold_one_writes_after_an_input_changes(project, tmp_path, mplconfig, cold_at_42,
                                                                          where, before, extra):
    """The server starts, forks one stage (it has seen this state), the input changes to savefig.dpi 42: the next
    warm stage writes what a cold stage writes at 42 (cold_at_42), not what the server saw before."""
    config = {in_home: None, in_config_folder: str(tmp_path / "mplconfig")}.get(where, mplconfig)
    env = base_env(MPLCONFIGDIR=config, HOME=str(tmp_path / "home"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path / "site"), os.environ.get("PYTHONPATH")])))
    for folder in ("mplconfig", "home", "site"):
        (tmp_path / folder).mkdir()
    for name, text in extra.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    path, text = where(project, tmp_path, DPI.format(42))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if before:
            path.write_text(where(project, tmp_path, DPI.format(60))[1])
            time.sleep(1.2)  # older than the server (a file changed as it starts makes it stale at once)
        with server(project, env) as up:
            assert run_stage(project, env, *STAGE).returncode == 0
            assert status(project, env)[0]["served"] == up["served"] + 1  # forked: the server saw this state
            assert outputs(project)[PICTURE] != cold_at_42[PICTURE]  # before the change: not at 42 yet
            time.sleep(0.01)
            path.write_text(text)  # the change, after the server started
            warm_run = run_stage(project, env, *STAGE)
            assert warm_run.returncode == 0, warm_run.stderr
            after = outputs(project)
        assert after == cold_at_42, "the warm stage missed the change"
    finally:
        path.unlink(missing_ok=True)


# --- B. variables read at import time ---------------------------------------------------------

LOAD_TIME_CASES = [
    ("MPLBACKEND", "pdf"), ("MPLCONFIGDIR", "/nonexistent/mpl"), ("MATPLOTLIBRC", "/nonexistent/rc"),
    ("PYTHONHASHSEED", "12345"), ("OMP_NUM_THREADS", "2"), ("OPENBLAS_NUM_THREADS", "2"), ("MKL_NUM_THREADS", "2"),
    ("OPENBLAS_CORETYPE", "Haswell"), ("NPY_DISABLE_CPU_FEATURES", "AVX512F"), ("HOME", "/nonexistent/home"),
    ("XDG_CONFIG_HOME", "/nonexistent/config"),
]


@pytest.fixture(scope="module")
def running(project):
    env = base_env()
    with server(project, env):
        yield status(project, env)[1]


@pytest.mark.parametrize("variable, value", LOAD_TIME_CASES, ids=[case[0] for case in LOAD_TIME_CASES])
def test_a_variable_read_at_import_time_never_differs_between_server_and_stage(project, running, variable, value):
    """Such a caller has a server of its own (another socket), and the server refuses it anyway."""
    with inside(project):
        changed = {**os.environ, variable: value}
        request = {"run": list(STAGE), "root": str(project), "cwd": str(project), "env": changed,
                   "path": [os.path.realpath(project), *sys.path[1:]], "process": process_state(),
                   "fingerprint": fingerprint(project)}
        conn = connect(running)
        with conn:
            send_request(conn, request, [0, 1, 2, 0])
            reply = json.loads(conn.makefile().readline())
    assert reply["refused"] == "another environment"
    assert load_environment(changed) != load_environment()  # so its socket is another one


# --- C. a fake server of the same user --------------------------------------------------------


class FakeServer:
    """A Unix socket server at the stage's socket path that reads one request and sends ``reply``."""

    def __init__(self, path: Path, reply: bytes, hold: bool = False):
        self.reply, self.hold, self.served = reply, hold, threading.Event()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(1)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            _data, fds, _flags, _address = socket.recv_fds(conn, 1 << 20, 8)
            for fd in fds:
                os.close(fd)
            with suppress(OSError):
                conn.sendall(self.reply)
            self.served.set()
            if self.hold:
                conn.recv(1)  # until the caller goes

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def checked_bytes(project) -> bytes:
    with inside(project):
        assert cli.main(["check"]) == 0
    return (project / "data/params.checked").read_bytes()


@pytest.fixture
def runtime(monkeypatch):
    """A runtime folder of this test's own (short: a socket path has at most 107 bytes)."""
    folder = tempfile.mkdtemp(prefix="il-", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fake_path(project, runtime, monkeypatch) -> Path:
    """The socket path this process's stages of ``project`` use."""
    monkeypatch.chdir(project)
    return protocol.socket_path(project, runtime_folder())


@pytest.fixture(scope="module")
def bystander():
    """An unrelated process of the same user (a `sleep 60`), that no reply may get signalled."""
    process = subprocess.Popen(["sleep", "60"])
    yield process.pid
    process.kill()
    process.wait()


# id, the reply's bytes (BYSTANDER: the bystander's pid), fragment of the one notice line
FAKE_REPLIES = [
    ("exit-1e400", b'{"exit": 1e400}\n', "unexpected reply"),
    ("exit-NaN", b'{"exit": NaN}\n', "not one JSON object"),
    ("exit-true", b'{"exit": true}\n', "unexpected reply"),
    ("exit-300", b'{"exit": 300}\n', "unexpected reply"),
    ("signal-KILL-as-text", b'{"signal": "KILL"}\n', "unexpected reply"),
    ("signal-0", b'{"signal": 0}\n', "unexpected reply"),
    ("pid-abc", b'{"pid": "abc"}\n', "unexpected reply"),
    ("pid-2**64", b'{"pid": 18446744073709551616}\n', "unexpected reply"),
    ("pid-with-unknown-key", b'{"pid": 1234, "extra": 1}\n', "unexpected reply"),
    ("two-objects-on-one-line", b'{"pid": 1}{"exit": 0}\n', "not one JSON object"),
    ("pid-1-then-exit-0", b'{"pid": 1}\n{"exit": 0}\n', "unexpected reply {\"pid\": 1}"),
    ("gone-pid-then-exit-0", b'{"pid": 4194303}\n{"exit": 0}\n', "exit 0 without the stage's own report"),
    ("bystander-pid-then-exit-0", b'{"pid": BYSTANDER}\n{"exit": 0}\n', "exit 0 without the stage's own report"),
    ("bystander-pid-then-signal", b'{"pid": BYSTANDER}\n{"signal": 15}\n', "signal 15 for no ended child"),
    ("exit-0-alone", b'{"exit": 0}\n', "exit 0 without the stage's own report"),
    ("two-pids", b'{"pid": BYSTANDER}\n{"pid": BYSTANDER}\n', "a second pid"),
    ("truncated", b'{"exit": 0', "cut short"),
    ("huge", b"[" + b"0," * 600_000, "more than"),
    ("not-utf8", b"\xff\xfe\n", "not one JSON object"),
    ("a-list", b"[1, 2]\n", "not a JSON object"),
    ("refused-not-text", b'{"refused": 5}\n', "unexpected reply"),
    ("integer-of-5000-digits", b'{"exit": ' + b"9" * 5000 + b"}\n", "not one JSON object"),
    ("escape-sequence-in-reply", b'{"refused": "\\u001b]0;pwned\\u0007", "x": 1}\n', "unexpected reply"),
]


@pytest.mark.parametrize("reply, fragment", [case[1:] for case in FAKE_REPLIES], ids=[case[0] for case in FAKE_REPLIES])
def test_a_fake_servers_reply_ends_in_a_cold_run(project, checked_bytes, fake_path, bystander, capsys, reply, fragment):
    (project / "data/params.checked").unlink(missing_ok=True)
    fake = FakeServer(fake_path, reply.replace(b"BYSTANDER", str(bystander).encode()))
    try:
        code = runner.main(["check"])  # as `python -m imbalance_lab check` runs it
    except Exception as err:
        pytest.fail(f"the caller raised {type(err).__name__}: {err}")
    finally:
        fake.close()
    err = capsys.readouterr().err
    assert code == 0 and (project / "data/params.checked").read_bytes() == checked_bytes  # it ran, cold
    notices = [line for line in err.splitlines() if "warm server" in line]
    assert len(notices) == 1 and fragment in notices[0] and notices[0].endswith("running the stage cold"), err
    assert "\x1b" not in err and "Traceback" not in err
    assert os.path.exists(f"/proc/{bystander}")


def test_a_reply_naming_another_process_never_gets_it_signalled(project, runtime, bystander):
    """The caller gets SIGTERM while the fake server holds on after naming the bystander: the caller
    ends as a cold stage would, the bystander lives on."""
    env = base_env(XDG_RUNTIME_DIR=runtime)
    fake = FakeServer(status(project, env)[1], f'{{"pid": {bystander}}}\n'.encode(), hold=True)
    caller = subprocess.Popen([sys.executable, "-m", "imbalance_lab", "check"], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert fake.served.wait(30)
        time.sleep(0.3)  # the caller has read the reply
        caller.send_signal(signal.SIGTERM)
        caller.communicate(timeout=30)
        assert caller.returncode == -signal.SIGTERM
        time.sleep(0.1)
        assert os.path.exists(f"/proc/{bystander}") and \
            Path(f"/proc/{bystander}/stat").read_text().split()[2] != "Z", "the bystander was signalled"
    finally:
        if caller.poll() is None:
            caller.kill()
        fake.close()
