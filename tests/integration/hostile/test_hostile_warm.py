"""Hostile: the warm stage runner (imbalance_lab.warm).

A. Warm = cold for every input a server could miss: a settings file, start-up code or an installed
   file changed after the server started. Each row has a real server fork a stage, changes one input in a
   way that changes a cold stage's picture (savefig.dpi), and holds the next warm stage's bytes to a cold
   stage's; the rows run in turn, each with the server the previous row's change started (one environment
   for all but the home folder's row). B. The variables read at import time: a real server refuses a caller
   whose value differs.
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

from helpers import commit, configure, copy_project, servers_of
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


# --- A. warm = cold ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cold_at(project, tmp_path_factory) -> dict[int, dict[str, bytes]]:
    """A cold stage's outputs with savefig.dpi 42 and 60 (every row's change sets one of them), once for all
    rows: the stage run in this process (no server), on matplotlib's defaults and a matplotlibrc holding that
    line, as a cold stage process starts; they differ (and each row checks that the picture before its change
    differs from the one expected after it: the change alters the picture)."""
    import matplotlib

    found = {}
    for dpi in (42, 60):
        rc = tmp_path_factory.mktemp("rc") / "matplotlibrc"
        rc.write_text(DPI.format(dpi))
        with inside(project), matplotlib.rc_context():
            matplotlib.rcdefaults()
            matplotlib.rcParams.update(matplotlib.rc_params_from_file(str(rc), use_default_template=False))
            assert cli.main(list(STAGE)) == 0
        found[dpi] = outputs(project)
    assert found[42][PICTURE] != found[60][PICTURE], "savefig.dpi does not alter a cold stage's picture: no proof"
    return found


def dpi_code(dpi: int) -> str:
    return f"import matplotlib\nmatplotlib.rcParams['savefig.dpi'] = {dpi}\n"


def shadow_matplotlib(site: Path, dpi: int) -> Path:
    """matplotlib's own defaults (mpl-data/matplotlibrc, read as the server imports matplotlib), in a site folder
    this test builds: the installed package linked file by file, that one file copied with savefig.dpi set."""
    import matplotlib

    installed, shadow = Path(matplotlib.__file__).parent, site / "matplotlib"
    (shadow / "mpl-data").mkdir(parents=True)
    for item in installed.iterdir():
        if item.name != "mpl-data":
            (shadow / item.name).symlink_to(item)
    for item in (installed / "mpl-data").iterdir():
        if item.name != "matplotlibrc":
            (shadow / "mpl-data" / item.name).symlink_to(item)
    rc = shadow / "mpl-data" / "matplotlibrc"
    rc.write_text((installed / "mpl-data" / "matplotlibrc").read_text().replace("#savefig.dpi:       figure",
                                                                               DPI.format(dpi).strip()))
    return rc


# id -> (the file changed, its new content, the savefig.dpi it makes the effective one). The rows run one after
# the other, each from the state the previous one left (where the server the previous change started has just
# served a stage: it saw that state); each change is to a source that takes precedence over every one set
# before it (matplotlib reads the first matplotlibrc of: project root, $MPLCONFIGDIR, installed defaults; code at
# start-up sets rcParams after that), so the dpi alternates and every change alters the picture. A file created
# and the same file edited take different paths through the server's checks (a name that appears in a folder;
# a file whose stat changed): each path has its row, not each file in both ways. The edited files are there
# before the first server starts.
def warm_cold_rows(root: Path, tmp: Path) -> dict[str, tuple[Path, str, int]]:
    site = tmp / "site"
    return {
        "installed-package-data-file-edited-in-place": (site / "matplotlib" / "mpl-data" / "matplotlibrc", "", 42),
        "matplotlibrc-created-in-MPLCONFIGDIR": (tmp / "mplconfig" / "matplotlibrc", DPI.format(60), 60),
        "matplotlibrc-created-in-project-root": (root / "matplotlibrc", DPI.format(42), 42),
        "sitecustomize-edited": (site / "sitecustomize.py", dpi_code(60) + "import dpi_tweak\n", 60),
        "imported-package-module-edited-in-place": (site / "dpi_tweak" / "__init__.py", dpi_code(42), 42),
        # another environment (no $MPLCONFIGDIR: ~/.config/matplotlib; no site folder), so another server, from
        # matplotlib's own defaults (the project root's matplotlibrc removed)
        "matplotlibrc-created-in-home-config": (tmp / "home" / ".config" / "matplotlib" / "matplotlibrc",
                                                DPI.format(42), 42),
    }


WARM_COLD_CASES = ["installed-package-data-file-edited-in-place", "matplotlibrc-created-in-MPLCONFIGDIR",
                   "matplotlibrc-created-in-project-root", "sitecustomize-edited",
                   "imported-package-module-edited-in-place", "matplotlibrc-created-in-home-config"]


def start_server(root: Path, env: dict) -> dict:
    """A warm server of ``root`` for ``env``, started as a stage starts it, and up."""
    _, socket_path = status(root, env)
    subprocess.Popen([sys.executable, "-m", SERVER_MODULE, "serve", str(socket_path), str(root),
                      os.path.realpath(root)], cwd=root, env=env, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return server_up(root, env)


def server_up(root: Path, env: dict, not_pid: int | None = None) -> dict:
    """The server of ``root`` for ``env`` once up (another than ``not_pid``)."""
    deadline = time.monotonic() + 60
    while (up := status(root, env)[0]) is None or up["pid"] == not_pid:
        assert time.monotonic() < deadline, "the warm server did not start"
        time.sleep(0.1)
    return up


def kill_servers(root: Path, env: dict) -> None:
    """Every server this test started for ``env`` (any generation)."""
    for pid in servers_of(status(root, env)[1]):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def warm_envs(project, tmp_path_factory):
    """The two environments of the rows (see warm_cold_rows), their folders, and the rows; their servers killed
    after the module."""
    tmp = tmp_path_factory.mktemp("inputs")
    for folder in ("mplconfig", "home", "site/dpi_tweak"):
        (tmp / folder).mkdir(parents=True)
    path = os.pathsep.join(filter(None, [str(tmp / "site"), os.environ.get("PYTHONPATH")]))
    envs = {"config": base_env(MPLCONFIGDIR=str(tmp / "mplconfig"), HOME=str(tmp / "home"), PYTHONPATH=path),
            "home": base_env(MPLCONFIGDIR=None, HOME=str(tmp / "home"))}
    yield envs, tmp, warm_cold_rows(project, tmp)
    for env in envs.values():
        kill_servers(project, env)
    (project / "matplotlibrc").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def warm_cold(project, cold_at, warm_envs) -> dict[str, dict]:
    """Each row's run, in order: the stage forked by a server that saw the state before the change (served one
    more), the picture then, the change, the next warm stage's run and outputs, and the cold outputs expected.
    A row that could not run says why (``error``), and so do the rows after it in its environment."""
    envs, tmp, rows = warm_envs
    site = tmp / "site"
    shadow_matplotlib(site, 60)  # the state before the first row: every edited file there, setting nothing else
    (site / "sitecustomize.py").write_text("import dpi_tweak\n")
    (site / "dpi_tweak" / "__init__.py").write_text("")
    time.sleep(1.2)  # older than the server (a file changed as it starts makes it stale at once)
    results: dict[str, dict] = {}
    for env, names in ((envs["config"], WARM_COLD_CASES[:5]), (envs["home"], WARM_COLD_CASES[5:])):
        if env is envs["home"]:
            (project / "matplotlibrc").unlink(missing_ok=True)
        try:
            up = start_server(project, env)
        except AssertionError as err:
            results.update({name: {"error": str(err)} for name in names})
            continue
        for name in names:
            path, text, dpi = rows[name]
            if name.startswith("installed-package-data-file"):
                text = path.read_text().replace(DPI.format(60).strip(), DPI.format(dpi).strip())
            try:
                before = run_stage(project, env, *STAGE)
                result = {"before": before, "served": (up["served"], status(project, env)[0]),
                          "picture": outputs(project)[PICTURE], "expected": cold_at[dpi]}
                time.sleep(0.01)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)  # the change, after the server started
                result["warm"] = run_stage(project, env, *STAGE)
                result["after"] = outputs(project)
                results[name] = result
                # the next row's server: the one this change started (the old one was stale)
                up = server_up(project, env, not_pid=up["pid"])
            except AssertionError as err:
                results[name] = results.get(name, {"error": str(err)})
                results.update({later: {"error": f"not run: {name} failed ({err})"} for later in names
                                if later not in results})
                break
    return results


@pytest.mark.parametrize("case", WARM_COLD_CASES)
def test_a_warm_stage_writes_what_a_cold_one_writes_after_an_input_changes(warm_cold, case):
    """The server starts, forks one stage (it has seen this state), the input changes the effective
    savefig.dpi: the next warm stage writes what a cold stage writes at that dpi (cold_at), not what the server
    saw before."""
    result = warm_cold[case]
    assert "error" not in result, result.get("error")
    assert result["before"].returncode == 0, result["before"].stderr
    served, shown = result["served"]
    assert shown is not None and shown["served"] == served + 1  # forked: the server saw this state
    assert result["picture"] != result["expected"][PICTURE]  # before the change: not at that dpi yet
    assert result["warm"].returncode == 0, result["warm"].stderr
    assert result["after"] == result["expected"], "the warm stage missed the change"


# --- B. variables read at import time ---------------------------------------------------------

LOAD_TIME_CASES = [
    ("MPLBACKEND", "pdf"), ("MPLCONFIGDIR", "/nonexistent/mpl"), ("MATPLOTLIBRC", "/nonexistent/rc"),
    ("PYTHONHASHSEED", "12345"), ("OMP_NUM_THREADS", "2"), ("OPENBLAS_NUM_THREADS", "2"), ("MKL_NUM_THREADS", "2"),
    ("OPENBLAS_CORETYPE", "Haswell"), ("NPY_DISABLE_CPU_FEATURES", "AVX512F"), ("HOME", "/nonexistent/home"),
    ("XDG_CONFIG_HOME", "/nonexistent/config"),
]


@pytest.fixture(scope="module")
def running(project, warm_envs, warm_cold):
    """A server up for the rows' first environment (the last row there leaves one), and that environment."""
    env = warm_envs[0]["config"]
    status(project, env)[0] or start_server(project, env)
    return status(project, env)[1], env


@pytest.mark.parametrize("variable, value", LOAD_TIME_CASES, ids=[case[0] for case in LOAD_TIME_CASES])
def test_a_variable_read_at_import_time_never_differs_between_server_and_stage(project, running, variable, value):
    """Such a caller has a server of its own (another socket), and the server refuses it anyway."""
    socket_path, env = running
    with inside(project):
        changed = {**env, variable: value}
        request = {"run": list(STAGE), "root": str(project), "cwd": str(project), "env": changed,
                   "path": [os.path.realpath(project), *sys.path[1:]], "process": process_state(),
                   "fingerprint": fingerprint(project)}
        conn = connect(socket_path)
        with conn:
            send_request(conn, request, [0, 1, 2, 0])
            reply = json.loads(conn.makefile().readline())
    assert reply["refused"] == "another environment"
    assert load_environment(changed) != load_environment(env)  # so its socket is another one


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
