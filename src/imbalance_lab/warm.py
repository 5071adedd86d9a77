"""Warm stage runner: each pipeline stage forked from a server that has already imported the heavy
libraries (numpy, pandas, scikit-learn, imbalanced-learn, matplotlib), as Spring or gunicorn's
``preload_app`` do. A cold stage spends 2-3 s importing them before its own work; a forked one starts
in a few milliseconds.

``python -m imbalance_lab <stage>`` first asks the server of this checkout (one per user, checkout,
interpreter and library-loading environment; started in the background by the second stage that
runs cold within ten minutes) to fork a child for the stage. The child takes the
caller's working directory, arguments, environment and standard streams (passed as file
descriptors), and the caller exits with the child's exit code; Ctrl-C is forwarded, and a caller that
dies takes its child with it. When anything is in doubt (no server yet, a server built from other
sources, another environment, a folder with loose permissions, an unexpected reply) the stage runs
cold in its own process. Warm and cold
write the same bytes (the golden test runs both).

Only the standard library here: the caller must not pay the imports it avoids. ``IMBALANCE_LAB_WARM=0``
turns the runner off; ``imbalance-lab server status|stop`` shows and ends the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from . import THREAD_PINS, paths  # paths: the standard library only, as here

# The commands a server runs: the pipeline's stages, nothing else.
STAGES = ("check", "generate", "split", "resample", "train", "evaluate", "ceiling", "compare")
# Environment read when the libraries load (BLAS kernel and threads, CPU features, import paths): a
# server serves only callers whose values are its own, so each such environment has its own server.
LOAD_TIME = re.compile(r"^(OPENBLAS|GOTO|OMP|KMP|MKL|BLIS|VECLIB|NPY|NUMPY|PYTHON|LD_|MPL|MATPLOTLIB|SCIPY|"
                       r"SKLEARN|JOBLIB|LOKY|ARROW|PYARROW|PANDAS|TZ$|LANG$|LC_)")
IDLE_SECONDS = 300.0  # a server with nothing to do for this long exits (IMBALANCE_LAB_WARM_IDLE)
REPLY_LIMIT = 1 << 20


# --- where the server listens ----------------------------------------------------------------


def project_root() -> Path | None:
    """The project the working directory is in (paths.project_root), or None outside any."""
    root = paths.project_root()
    return root if (root / "dvc.yaml").is_file() else None


def runtime_folder() -> Path | None:
    """A folder only this user can enter (created if need be), or None when that is in doubt."""
    uid = os.getuid()
    folder = Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / f"imbalance-lab-{uid}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o077:
        return None  # a symlink, someone else's, or open to others: never listen or connect there
    return folder


def load_environment(env=None) -> dict[str, str]:
    """The variables of LOAD_TIME, with the thread pins as every stage applies them."""
    env = {**(os.environ if env is None else env)}
    for variable in THREAD_PINS:
        env.setdefault(variable, "1")
    return {key: value for key, value in sorted(env.items()) if LOAD_TIME.match(key)}


def socket_path(root: Path, folder: Path) -> Path:
    """One server per checkout, interpreter and library-loading environment."""
    key = json.dumps([str(root), sys.prefix, os.path.realpath(sys.executable), load_environment()])
    return folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.sock"


def process_state() -> dict:
    """What a process inherits besides its environment: resource limits, niceness, umask, CPU affinity
    and ignored signals. A child takes the caller's; limits and niceness it cannot take run cold."""
    import resource

    umask = os.umask(0o022)
    os.umask(umask)
    limits = {name: list(resource.getrlimit(getattr(resource, name)))
              for name in ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_STACK")
              if hasattr(resource, name)}
    ignored = [int(signum) for signum in (signal.SIGXFSZ, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                                          signal.SIGUSR2, signal.SIGALRM) if signal.getsignal(signum) == signal.SIG_IGN]
    return {"limits": limits, "nice": os.getpriority(os.PRIO_PROCESS, 0), "umask": umask,
            "cpus": sorted(os.sched_getaffinity(0)), "ignored": ignored}


def fingerprint() -> str:
    """What the server's imported code is made of: this package's sources, the installed packages,
    the interpreter. A server whose fingerprint differs from its caller's is stale and restarts."""
    digest = hashlib.sha256(f"{sys.prefix}\0{os.path.realpath(sys.executable)}\0{sys.version}".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for folder in sorted({p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)}):
        digest.update("\0".join(sorted(os.listdir(folder))).encode())  # names carry the versions
    return digest.hexdigest()


# --- the caller --------------------------------------------------------------------------------


def stage_of(argv: list[str]) -> str | None:
    """The stage a command line names (after options such as -q), if it is one a server may run."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    return command if command in STAGES else None


def enabled() -> bool:
    return os.environ.get("IMBALANCE_LAB_WARM", "1").strip().lower() not in ("0", "false", "no", "off")


def run_warm(argv: list[str]) -> int | None:
    """Run the stage in a child of the warm server and return its exit code; None: run it cold here.
    Linux only (file descriptors over a Unix socket, SO_PEERCRED, CPU affinity): elsewhere, cold."""
    if not enabled() or stage_of(argv) is None or not sys.platform.startswith("linux"):
        return None
    root, folder = project_root(), runtime_folder()
    if root is None or folder is None:
        return None
    path = socket_path(root, folder)
    try:
        conn = connect(path)
    except OSError:
        if second_cold_stage(path):  # a single stage run now and then is not worth a server's imports
            start_server(path, root)
        return None
    with conn:
        return request_stage(conn, path, root, argv)


def connect(path: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        raise
    return conn


def send_request(conn: socket.socket, request: dict, fds: list[int] = ()) -> None:
    data = json.dumps(request).encode() + b"\n"
    sent = socket.send_fds(conn, [data], list(fds)) if fds else conn.send(data)
    if sent < len(data):
        conn.sendall(data[sent:])


def replies(conn: socket.socket):
    """The server's replies, one JSON object per line, until it closes the connection."""
    buffer = b""
    while True:
        try:
            chunk = conn.recv(65536)
        except InterruptedError:
            continue
        if not chunk:
            return
        buffer += chunk
        if len(buffer) > REPLY_LIMIT:
            return
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield json.loads(line)


def request_stage(conn: socket.socket, path: Path, root: Path, argv: list[str]) -> int | None:
    request = {"run": argv, "root": str(root), "cwd": os.getcwd(), "env": dict(os.environ),
               "process": process_state(), "fingerprint": fingerprint()}
    try:
        send_request(conn, request, [0, 1, 2])
    except OSError:
        return None
    child = None
    forwarded = {}

    def forward(signum, _frame):  # Ctrl-C and termination reach the stage, as they would a cold one
        if child is not None:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        forwarded[signum] = signal.signal(signum, forward)
    try:
        for reply in replies(conn):
            if "refused" in reply:
                if reply["refused"] == "stale":  # the server exits; the next one is built from today's code
                    start_server(path, root, wait_for_exit=reply.get("pid"))
                return None
            if "pid" in reply:
                child = int(reply["pid"])
            elif "exit" in reply:
                return int(reply["exit"])
            elif "signal" in reply:  # the stage died of a signal: so does its caller, as a cold run would
                for signum, handler in forwarded.items():
                    signal.signal(signum, handler)
                signal.signal(reply["signal"], signal.SIG_DFL)
                os.kill(os.getpid(), reply["signal"])
                return 128 + int(reply["signal"])
    except (OSError, ValueError):
        pass
    finally:
        for signum, handler in forwarded.items():
            signal.signal(signum, handler)
    # The server went away without an answer. Before the stage started, it simply runs cold; after,
    # it ran at most partly (its outputs are written atomically), and runs again, cold.
    return None


def second_cold_stage(path: Path, within: float = 600) -> bool:
    """Whether another stage of this checkout ran cold in the last ``within`` seconds (and note this one)."""
    seen = Path(f"{path}.seen")
    try:
        recent = time.time() - seen.stat().st_mtime < within
    except OSError:
        recent = False
    try:
        seen.touch()
    except OSError:
        pass
    return recent


def start_server(path: Path, root: Path, wait_for_exit: int | None = None) -> None:
    """Start a server in the background (its own session, no terminal); it exits at once if another
    one holds the lock of ``path``."""
    if wait_for_exit:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and _alive(wait_for_exit):
            time.sleep(0.02)
    try:
        if Path(f"{path}.failed").read_text().split("\n", 1)[0] == fingerprint():
            return  # a server of these very sources failed to import them: stages stay cold until they change
    except OSError:
        pass
    try:
        subprocess.Popen([sys.executable, "-m", "imbalance_lab.warm", "serve", str(path), str(root)], cwd=root,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def control(command: str) -> dict | None:
    """``status`` or ``stop`` sent to this checkout's server; None if there is none."""
    root, folder = project_root(), runtime_folder()
    if root is None or folder is None:
        return None
    try:
        conn = connect(socket_path(root, folder))
    except OSError:
        return None
    with conn:
        try:
            send_request(conn, {command: True, "root": str(root)})
            return next(replies(conn), None)
        except (OSError, ValueError):
            return None


# --- the server --------------------------------------------------------------------------------


def serve(path: Path, root: Path) -> None:
    """Import everything the stages use, then fork a child per request until idle."""
    import fcntl
    import select

    global _LOCK, _ENVIRONMENT
    _ENVIRONMENT = load_environment()  # as started: importing the libraries may add variables
    os.umask(0o077)
    _LOCK = open(f"{path}.lock", "a")
    try:
        fcntl.flock(_LOCK, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server of this checkout is starting or running
    before = dict(os.environ)
    failed = Path(f"{path}.failed")
    try:
        preload()
    except BaseException as err:  # a broken install: say so once, and let no caller start another
        failed.write_text(f"{fingerprint()}\n{type(err).__name__}: {err}\n")
        return
    failed.unlink(missing_ok=True)
    _IMPORTS_SET.update({key: value for key, value in os.environ.items() if key not in before})
    own = fingerprint()
    if path.exists():
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    inode = os.stat(path).st_ino

    def close_listener() -> None:  # new callers find no server, and start the next one
        try:
            if os.stat(path).st_ino == inode:
                path.unlink()
        except OSError:
            pass
        listener.close()

    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: None)  # seen through the wakeup fd: stop once the stages end
    children: dict[int, socket.socket] = {}
    idle = float(os.environ.get("IMBALANCE_LAB_WARM_IDLE") or IDLE_SECONDS)
    started, served, last = time.time(), 0, time.monotonic()
    stopping = False
    try:
        while True:
            for pid, status in _reaped(children):
                conn = children.pop(pid)
                _reply(conn, {"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status) else
                       {"exit": os.waitstatus_to_exitcode(status)})
                conn.close()
                last = time.monotonic()
            if stopping and not children:
                return
            waiting = [wake_read, *children.values()] + ([] if stopping else [listener])
            timeout = None if children else max(0.0, idle - (time.monotonic() - last))
            try:
                ready, _, _ = select.select(waiting, [], [], timeout)
            except InterruptedError:
                continue
            if not ready and not children:
                return  # idle for IDLE_SECONDS
            if wake_read in ready and signal.SIGTERM in os.read(wake_read, 512):
                stopping = True
                close_listener()
            for conn in [c for c in ready if isinstance(c, socket.socket) and c is not listener]:
                if not conn.recv(1, socket.MSG_PEEK):  # the caller is gone: so is its stage
                    _kill(next(pid for pid, c in children.items() if c is conn))
            if not stopping and listener in ready:
                conn, _ = listener.accept()
                outcome = handle(conn, root, own, children, listener, started, served)
                if outcome == "forked":
                    served, last = served + 1, time.monotonic()
                elif outcome in ("stop", "stale"):
                    stopping = True
                    close_listener()
    finally:
        if not stopping:
            close_listener()


_LOCK = None
_ENVIRONMENT: dict[str, str] = {}
_IMPORTS_SET: dict[str, str] = {}  # variables the libraries set on import (KMP_INIT_AT_FORK, ...)


def preload() -> None:
    """What a cold stage would import, in the same order as the stages import it."""
    from . import cli  # noqa: F401  (first: it pins the BLAS threads before numpy loads)
    from . import ceiling, data, metrics, model, modelfile, plots, report, samplers  # noqa: F401
    import imblearn.combine  # noqa: F401
    import imblearn.ensemble  # noqa: F401
    import imblearn.over_sampling  # noqa: F401
    import imblearn.pipeline  # noqa: F401
    import imblearn.under_sampling  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sklearn.calibration  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import sklearn.inspection  # noqa: F401
    import sklearn.model_selection  # noqa: F401


def _reaped(children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in children:
            yield pid, status


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reply(conn: socket.socket, reply: dict) -> None:
    try:
        conn.sendall(json.dumps(reply).encode() + b"\n")
    except OSError:
        pass


def handle(conn, root: Path, own: str, children, listener, started: float, served: int) -> str:
    """Check one request and fork its stage; what happened, for the loop."""
    conn.settimeout(5)
    fds: list[int] = []
    try:
        peer = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        pid, uid, _gid = (int.from_bytes(peer[i:i + 4], sys.byteorder, signed=True) for i in (0, 4, 8))
        data, fds, _flags, _address = socket.recv_fds(conn, REPLY_LIMIT, 3)
        while not data.endswith(b"\n") and len(data) < REPLY_LIMIT:
            more = conn.recv(REPLY_LIMIT)
            if not more:
                break
            data += more
        request = json.loads(data)
        problem = refusal(request, uid, root, own, len(fds))
    except (OSError, ValueError) as err:
        request, problem = {}, f"unreadable request ({err})"
    conn.settimeout(None)
    if problem:
        _reply(conn, {"refused": problem, "pid": os.getpid()})
        _close(fds)
        conn.close()
        return "stale" if problem == "stale" else "refused"
    if request.get("status"):
        _reply(conn, {"pid": os.getpid(), "root": str(root), "started": started, "served": served,
                      "running": sorted(children), "fingerprint": own[:12]})
        conn.close()
        return "status"
    if request.get("stop"):
        _reply(conn, {"stopping": os.getpid()})
        conn.close()
        return "stop"
    pid = os.fork()
    if pid == 0:  # the child: never returns
        listener.close()
        for other in children.values():
            other.close()
        if _LOCK is not None:
            _LOCK.close()
        run_child(conn, request, fds)
    _close(fds)
    children[pid] = conn
    _reply(conn, {"pid": pid})
    return "forked"


def refusal(request: dict, uid: int, root: Path, own: str, fds: int) -> str | None:
    """Why a request must not run here, or None."""
    if uid != os.getuid():
        return "another user"
    if request.get("root") != str(root):
        return f"another checkout ({request.get('root')!r}; this server serves {str(root)!r})"
    if request.get("status") or request.get("stop"):
        return None
    argv = request.get("run")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv) or stage_of(argv) is None:
        return "not a pipeline stage"
    if not isinstance(request.get("env"), dict) or not isinstance(request.get("cwd"), str) or fds != 3:
        return "malformed request"
    if load_environment(request["env"]) != _ENVIRONMENT:
        return "another environment"
    state, own_state = request.get("process"), process_state()
    if not isinstance(state, dict) or any(state.get(key) != own_state[key] for key in ("limits", "nice")):
        return "other resource limits"  # e.g. a memory cap the forked child could not honour exactly
    if request.get("fingerprint") != own:
        return "stale"
    return None


def _close(fds) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def run_child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """Become the stage: the caller's streams, folder, environment and arguments; exit with its code."""
    import traceback

    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _die_with_parent()
        conn.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdout.reconfigure(line_buffering=os.isatty(1))
        state = request["process"]
        os.umask(int(state["umask"]))
        os.sched_setaffinity(0, state["cpus"])
        for signum in state["ignored"]:
            signal.signal(signum, signal.SIG_IGN)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for key, value in _IMPORTS_SET.items():  # as a cold stage's imports would set them
            os.environ.setdefault(key, value)
        from . import cli

        cli.pin_threads()
        sys.argv = [sys.argv[0], *request["run"]]
        code = cli.main(request["run"])
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except KeyboardInterrupt:
        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def _die_with_parent() -> None:
    """The child dies with the server (Linux prctl PR_SET_PDEATHSIG), never runs orphaned."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def show_server(action: str) -> int:
    """`imbalance-lab server status|stop`."""
    reply = control(action)
    if reply is None:
        print("no warm server for this checkout" + ("" if enabled() else " (IMBALANCE_LAB_WARM=0: stages run cold)"))
    elif action == "stop":
        print(f"warm server {reply['stopping']} stops once its running stages end")
    else:
        print(f"warm server {reply['pid']} for {reply['root']}: up {time.time() - reply['started']:.0f} s, "
              f"{reply['served']} stages served, running: {', '.join(map(str, reply['running'])) or 'none'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The `imbalance-lab` command: a stage warm if it can be, `server status|stop`, else the command line."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["server"]:
        if len(argv) == 2 and argv[1] in ("status", "stop"):
            return show_server(argv[1])
        print("imbalance-lab server: error: say `imbalance-lab server status` or `imbalance-lab server stop`",
              file=sys.stderr)
        return 2
    code = run_warm(argv)
    if code is None:
        from .cli import main as run_here

        code = run_here(argv)
    return code


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]), Path(sys.argv[3]))
