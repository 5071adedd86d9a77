"""Warm stage runner: each pipeline stage forked from a server that has already imported the heavy
libraries (numpy, pandas, scikit-learn, imbalanced-learn, matplotlib), as Spring or gunicorn's
``preload_app`` do. A cold stage spends 2-3 s importing them before its own work; a forked one starts
in a few milliseconds.

``python -m imbalance_lab <stage>`` first asks the server of this checkout (one per user, checkout,
interpreter, import path and library-loading environment; started in the background by the second
stage that runs cold within ten minutes) to fork a child for the stage. The child takes the
caller's working directory, arguments, environment and standard streams (passed as file
descriptors), and the caller exits with the child's exit code; Ctrl-C is forwarded, and a caller that
dies takes its child with it. When anything is in doubt (no server yet, a server built from other
sources or other settings files, another environment, a folder with loose permissions, an
unexpected reply) the stage runs cold in its own process. Warm and cold write the same bytes (the
golden test runs both; tests/integration/hostile/test_hostile_warm.py changes each input a server could miss).

What a server loaded is part of its output, so a server is stale (it exits, the stage runs cold and
the next server loads today's files) when any of these differs from the caller's view:
* ``fingerprint()``, computed by the caller: this package's sources, the interpreter, the names in
  every import-path folder (shadowing modules, installed versions), ``.pth`` files and the
  ``sitecustomize``/``usercustomize`` modules that ran at start-up, and the ``matplotlibrc`` a cold
  stage would read (project root, ``$MATPLOTLIBRC``, ``$MPLCONFIGDIR`` or ``~/.config/matplotlib``);
* ``Loaded``, checked by the server before each fork: every file the server read while importing
  (modules, shared libraries, data files such as matplotlib's own rc and styles) unchanged since it
  started, so a package edited in place under site-packages is seen;
* ``load_environment()``: the variables read at import time (BLAS/OpenMP, CPU features, PYTHON*,
  MPL*, HOME and XDG config folders) select another server.

The caller believes only what it can check: every reply is validated (else the stage runs cold), a
signal is forwarded only to a process proved to be the stage's child (a pidfd of a live process that
holds the report socket the caller created for this request), and success is reported only when that
child itself said so on the report socket, its pid vouched for by the kernel (SO_PASSCRED).

Only the standard library here: the caller must not pay the imports it avoids. ``IMBALANCE_LAB_WARM=0``
turns the runner off; ``imbalance-lab server status|stop`` shows and ends the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

from imbalance_lab import THREAD_PINS
from imbalance_lab.settings import paths  # the standard library only, as here

# The commands a server runs: the pipeline's stages, nothing else.
STAGES = ("check", "generate", "split", "resample", "train", "evaluate", "ceiling", "compare")
# Environment read when the libraries load (BLAS kernel and threads, CPU features, import paths): a
# server serves only callers whose values are its own, so each such environment has its own server.
# HOME and the XDG folders: where matplotlib finds its matplotlibrc and font cache, and the user's site folder.
LOAD_TIME = re.compile(r"^(OPENBLAS|GOTO|OMP|KMP|MKL|BLIS|VECLIB|NPY|NUMPY|PYTHON|LD_|MPL|MATPLOTLIB|SCIPY|"
                       r"SKLEARN|JOBLIB|LOKY|ARROW|PYARROW|PANDAS|TZ$|LANG$|LC_|HOME$|XDG_CONFIG_HOME$|XDG_CACHE_HOME$)")
IDLE_SECONDS = 300.0  # a server with nothing to do for this long exits (IMBALANCE_LAB_WARM_IDLE)
REQUEST_LIMIT = 1 << 20
REPLY_LIMIT = 1 << 16  # a server's replies are a few dozen bytes each
PID_MAX = 1 << 22  # Linux's PID_MAX_LIMIT
# Names in an import-path folder that can change what imports: modules, .pth files, versions (packages:
# folders with an __init__.py, see fingerprint).
IMPORTABLE = re.compile(r"\.(py|pyc|so|pth|zip|egg|dist-info|egg-info)$")


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
    """One server per checkout, interpreter, import path and library-loading environment. The first
    import-path entry (the caller's folder, or its script's) is left out, so that `imbalance-lab server
    status` finds the stages' server; the server serves callers of its own entry only (refusal)."""
    key = json.dumps([str(root), sys.prefix, os.path.realpath(sys.executable), load_environment(), sys.path[1:]])
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


def fingerprint(root: Path | None = None) -> str:
    """What a server's imported code and settings are made of, as this process sees them now: this
    package's sources, the interpreter, the names in every import-path folder (a module that would
    shadow another, the installed versions), the .pth files and sitecustomize/usercustomize modules that
    ran at start-up, and the matplotlibrc a cold stage of ``root`` would read. A server whose
    fingerprint differs from its caller's is stale and restarts. Files the server read while importing
    (an installed package edited in place) are the server's own check (Loaded). Costs about 1.5 ms
    here (measured: 0.8 ms for the sources, 0.5 ms for 6 folder listings, 0.1 ms for the rest)."""
    digest = hashlib.sha256(f"{sys.prefix}\0{os.path.realpath(sys.executable)}\0{sys.version}".encode())
    package = Path(__file__).resolve().parents[1]  # imbalance_lab, every sub-package
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    for folder in sys.path:
        digest.update(b"\1" + folder.encode())
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        site = folder.endswith("-packages")
        for name in names:
            # a module or package that would shadow another, a version in a name (not: a data folder)
            if IMPORTABLE.search(name) or ("." not in name and (site or os.path.isfile(
                    os.path.join(folder, name, "__init__.py")))):
                digest.update(name.encode() + b"\0")
            if name.endswith(".pth"):  # run at start-up: their lines can import anything
                digest.update(_read(os.path.join(folder, name)))
    for name in ("sitecustomize", "usercustomize"):  # as this interpreter found them at start-up
        where = getattr(sys.modules.get(name), "__file__", None)
        digest.update(f"\2{name}\0{where}\0".encode() + (_read(where) if where else b""))
    rc = matplotlibrc(root or project_root() or Path.cwd())
    digest.update(f"\3{rc}\0".encode() + (_read(rc) if rc else b""))
    return digest.hexdigest()


def _read(path) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read(REQUEST_LIMIT)
    except OSError as err:
        return f"unreadable: {err.errno}".encode()


def matplotlibrc(root: Path) -> str | None:
    """The settings file matplotlib.matplotlib_fname() picks in a stage of ``root`` (stages import
    matplotlib after moving to the project root), or None for matplotlib's own (a Loaded file)."""
    candidates = [root / "matplotlibrc"]
    if os.environ.get("MATPLOTLIBRC"):
        given = root / os.environ["MATPLOTLIBRC"]
        candidates += [given, given / "matplotlibrc"]
    config = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config"), "matplotlib")
    candidates.append(Path(config) / "matplotlibrc")
    return next((str(path) for path in candidates if path.exists() and not path.is_dir()), None)


class Loaded:
    """Every file the server read while importing: the modules, the shared libraries mapped into it, and
    the data files opened (matplotlib's own matplotlibrc and styles, a font cache, ...), each with its
    inode, size and modification and change times as they were after the imports. ``changed()`` names one
    that differs now (a package edited in place), or a file changed after the server started importing
    (it may have loaded either version). About 4,000 files here: 8-13 ms of stat() before each fork."""

    def __init__(self, started_ns: int):
        self.started_ns, self.opened, self.written, self.files = started_ns, set(), set(), {}
        self.recording = False

    def audit(self, event: str, args) -> None:  # sys.addaudithook: Python-level opens, by importlib too
        if self.recording and event == "open" and isinstance(args[0], str):
            reads = args[1].strip("rbt") == "" if isinstance(args[1], str) else not (args[2] or 0) & 0o3
            (self.opened if reads else self.written).add(args[0])

    def snapshot(self) -> None:
        self.recording = False
        paths = {getattr(m, "__file__", None) for m in list(sys.modules.values())} | self.opened
        paths -= self.written  # a cache the server wrote itself (matplotlib's font list on first use)
        try:
            with open("/proc/self/maps") as maps:  # the shared libraries: address perms offset dev inode path
                paths |= {fields[5].strip() for fields in (line.split(None, 5) for line in maps) if len(fields) == 6}
        except OSError:
            pass
        for path in paths:
            if isinstance(path, str) and path.startswith("/") and not path.startswith(("/proc/", "/sys/", "/dev/")):
                info = self._stat(path)
                if info is not None:
                    self.files[path] = info

    @staticmethod
    def _stat(path: str):
        try:
            info = os.stat(path)
        except OSError:
            return None
        return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns) \
            if stat.S_ISREG(info.st_mode) else None

    def changed(self) -> str | None:
        margin = 1_000_000_000  # file times come from a coarse clock, up to a tick behind time.time_ns()
        for path, info in self.files.items():
            if self._stat(path) != info or info[4] >= self.started_ns - margin:
                return path
        return None


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


class BadReply(ValueError):
    """A reply the protocol does not allow: the caller runs the stage cold."""


def replies(conn: socket.socket):
    """The server's replies, one JSON object per line, until it closes the connection; BadReply for
    anything else (not JSON, not an object, NaN or Infinity, a line cut short, more than REPLY_LIMIT)."""
    buffer = b""
    while True:
        try:
            chunk = conn.recv(65536)
        except InterruptedError:
            continue
        if not chunk:
            if buffer:
                raise BadReply(f"a reply cut short ({len(buffer)} bytes and no end of line)")
            return
        buffer += chunk
        if len(buffer) > REPLY_LIMIT:
            raise BadReply(f"a reply of more than {REPLY_LIMIT} bytes")
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:  # ValueError: not JSON, not UTF-8, two objects on a line, an integer of 4,300 digits
                reply = json.loads(line, parse_constant=_no_constant)
            except ValueError as err:
                raise BadReply(f"not one JSON object ({err})") from None
            if not isinstance(reply, dict):
                raise BadReply(f"not a JSON object: {_shown(reply)}")
            yield reply


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number a server sends")


def _shown(value) -> str:
    """A reply as it may be printed: ASCII, control characters escaped, cut at 80 characters."""
    text = json.dumps(value, ensure_ascii=True, default=repr)
    return text if len(text) <= 80 else text[:77] + "..."


def checked(reply: dict) -> tuple[str, int | str]:
    """(kind, value) of a stage reply: {"pid": n} once the child is forked, then {"exit": code} or
    {"signal": number} once it ended, or {"refused": why} (with the server's pid); nothing else."""
    keys = set(reply)
    for kind, low, high in (("pid", 2, PID_MAX), ("exit", 0, 255), ("signal", 1, signal.NSIG - 1)):
        if keys == {kind} and type(reply[kind]) is int and low <= reply[kind] <= high:
            return kind, reply[kind]
    if keys in ({"refused"}, {"refused", "pid"}) and isinstance(reply["refused"], str) and len(reply["refused"]) < 1000:
        return "refused", reply["refused"]
    raise BadReply(f"unexpected reply {_shown(reply)}")


def peer_pid(conn: socket.socket) -> int | None:
    """The pid of the process at the other end, as the kernel recorded it (SO_PEERCRED)."""
    try:
        return struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    except (OSError, struct.error):
        return None


def _identity(path_or_fd) -> tuple[int, int] | None:
    try:
        info = os.stat(path_or_fd)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _exited(pidfd: int) -> bool:
    """Whether the process of a pidfd has ended (a pidfd becomes readable then, also for a non-child)."""
    return bool(select.select([pidfd], [], [], 0)[0])


def request_stage(conn: socket.socket, path: Path, root: Path, argv: list[str]) -> int | None:
    return StageRequest(conn, path, root, argv).run()


class StageRequest:
    """One stage asked of a server. The caller believes only what it can check: replies are validated;
    the child is proved (``prove``) before any signal is forwarded to it, through its pidfd; success is
    the child's own word on a report socket the caller made for this request (``reported``), its pid
    vouched for by the kernel. Anything else: the stage runs cold (``None``)."""

    def __init__(self, conn: socket.socket, path: Path, root: Path, argv: list[str]):
        self.conn, self.path, self.root, self.argv = conn, path, root, argv
        self.server = peer_pid(conn)  # the kernel's word: the process that listens on the socket
        self.report, self.token = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.report.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # each message: its sender's pid
        self.token_id = _identity(self.token.fileno())
        self.claimed: int | None = None  # the pid the server named
        self.pidfd: int | None = None  # that process, once proved to be the stage's child
        self.previous: dict = {}

    def run(self) -> int | None:
        request = {"run": self.argv, "root": str(self.root), "cwd": os.getcwd(), "env": dict(os.environ),
                   "path": sys.path, "process": process_state(), "fingerprint": fingerprint(self.root)}
        try:
            send_request(self.conn, request, [0, 1, 2, self.token.fileno()])
        except OSError:
            return None
        finally:
            self.token.close()  # the child's end: from now on held by the server's child alone
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self.previous[signum] = signal.signal(signum, self.forward)
        try:
            for reply in replies(self.conn):
                kind, value = checked(reply)
                if kind == "refused":
                    if value == "stale":  # the server exits; the next one is built from today's files
                        start_server(self.path, self.root, wait_for_exit=self.server)
                    return None
                if kind == "pid":
                    if self.claimed is not None:
                        raise BadReply(f"a second pid ({value})")
                    self.claimed, self.pidfd = value, self.prove(value)
                elif kind == "exit":
                    return self.reported(value)
                else:
                    return self.died_of(value)
        except BadReply as err:
            self.abandon(err)
        except OSError:
            pass
        finally:
            self.restore()
            self.report.close()
            if self.pidfd is not None:
                os.close(self.pidfd)
        # The server went away without an answer, or gave one we cannot believe. Before the stage
        # started, it simply runs cold; after, it ran at most partly (its outputs are written
        # atomically), and runs again, cold.
        return None

    def prove(self, pid: int) -> int | None:
        """A pidfd of ``pid`` if that process is alive and holds the report socket's other end, which
        only this request's child can (the caller closed its copy, the server closes its own after the
        fork); else None, and no signal will ever go to ``pid``."""
        if pid in (os.getpid(), self.server):
            return None
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return None
        try:
            holds = any(_identity(f"/proc/{pid}/fd/{fd}") == self.token_id for fd in os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            holds = False
        if holds and not _exited(pidfd):  # alive after the look: /proc/<pid> was the pidfd's process
            return pidfd
        os.close(pidfd)
        return None

    def reported(self, code: int) -> int:
        """``code`` if the child itself reported it: the report socket's first message, from the pid
        the server named (SO_PASSCRED: the kernel fills in the sender's pid)."""
        said, sender = None, None
        try:
            data, ancillary, _flags, _address = self.report.recvmsg(256, socket.CMSG_SPACE(12), socket.MSG_DONTWAIT)
            said = json.loads(data, parse_constant=_no_constant)
            sender = next((struct.unpack("3i", item[:12])[0] for level, kind, item in ancillary
                           if (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS) and len(item) >= 12), None)
        except (OSError, ValueError):
            pass
        if self.claimed is None or sender != self.claimed or said != {"exit": code} or type(said["exit"]) is not int:
            raise BadReply(f"exit {code} without the stage's own report")
        return code

    def died_of(self, signum: int) -> int:
        """The stage died of a signal: so does its caller, as a cold run would; believed only for the
        proved child, once it has ended."""
        if self.pidfd is None or not _exited(self.pidfd):
            raise BadReply(f"signal {signum} for no ended child of this request")
        self.restore()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return 128 + signum

    def forward(self, signum, _frame) -> None:
        """Ctrl-C and termination reach the proved child, as they would a cold stage; with no proved
        child the signal is the caller's own (a claimed pid is never signalled)."""
        if self.pidfd is not None:
            try:
                signal.pidfd_send_signal(self.pidfd, signum)
            except ProcessLookupError:
                pass
            return
        self.restore()
        signal.raise_signal(signum)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}

    def abandon(self, err: BadReply) -> None:
        """Say once what was wrong, drop the connection (a real server then kills its child) and give a
        proved child a few seconds to end, so that the cold run has its outputs to itself."""
        stage = stage_of(self.argv)
        print(f"imbalance-lab {stage}: the warm server at {self.path} sent {err}; running the stage cold",
              file=sys.stderr, flush=True)
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self.pidfd is not None:
            select.select([self.pidfd], [], [], 5)


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
        if Path(f"{path}.failed").read_text().split("\n", 1)[0] == fingerprint(root):
            return  # a server of these very sources failed to import them: stages stay cold until they change
    except OSError:
        pass
    try:
        subprocess.Popen([sys.executable, "-m", "imbalance_lab.warm.runner", "serve", str(path), str(root), sys.path[0]],
                         cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    """Whether a process exists (no signal sent, not even 0)."""
    return os.path.exists(f"/proc/{pid}")


def control(command: str) -> tuple[Path | None, dict | None]:
    """``status`` or ``stop`` sent to this checkout's server: (its socket, its reply); no reply if there
    is no server. BadReply for a reply that is not one."""
    root, folder = project_root(), runtime_folder()
    if root is None or folder is None:
        return None, None
    path = socket_path(root, folder)
    try:
        conn = connect(path)
    except OSError:
        return path, None
    with conn:
        try:
            send_request(conn, {command: True, "root": str(root)})
            reply = next(replies(conn), None)
        except OSError:
            return path, None
    fields = {"stopping": int} if command == "stop" else \
        {"pid": int, "root": str, "started": float, "served": int, "running": list, "fingerprint": str}
    if reply is not None and not (set(reply) == set(fields) and all(
            isinstance(reply[key], kind) and not isinstance(reply[key], bool) for key, kind in fields.items())
            and all(type(pid) is int for pid in reply.get("running", []))):
        raise BadReply(f"unexpected reply {_shown(reply)}")
    return path, reply


# --- the server --------------------------------------------------------------------------------


def serve(path: Path, root: Path, first_path: str | None = None) -> None:
    """Import everything the stages use, then fork a child per request until idle. ``first_path``: the
    starting caller's sys.path[0] (its working folder or script folder), the server's too."""
    global _LOCK, _ENVIRONMENT, _OWN, _LOADED, _PATH
    started_ns = time.time_ns()
    if first_path is not None:
        sys.path[0] = first_path
    _PATH = list(sys.path)
    _ENVIRONMENT = load_environment()  # as started: importing the libraries may add variables
    _OWN = fingerprint(root)  # before the imports: a file changed while they run makes the server stale
    os.umask(0o077)
    _LOCK = hold_lock(path)
    if _LOCK is None:
        return  # another server of this checkout is starting or running
    remove_dead(path.parent)
    before = dict(os.environ)
    failed = Path(f"{path}.failed")
    _LOADED = Loaded(started_ns)
    sys.addaudithook(_LOADED.audit)  # stays in the children, but records nothing after the snapshot
    _LOADED.recording = True
    try:
        preload()
    except BaseException as err:  # a broken install: say so once, and let no caller start another
        failed.write_text(f"{_OWN}\n{type(err).__name__}: {err}\n")
        return
    _LOADED.snapshot()
    failed.unlink(missing_ok=True)
    _IMPORTS_SET.update({key: value for key, value in os.environ.items() if key not in before})
    own = _OWN
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


# --- the folder's files -----------------------------------------------------------------------
# Beside each socket `<key>.sock`: `.lock` (flock-held by its server for life: one server per key), `.seen` (when
# a stage of the key last ran cold, see second_cold_stage) and `.failed` (a server of these sources failed to
# import them). A lock file is unlinked only by a process holding its lock (the server as it ends, or a starting
# server removing a dead server's files), and a server keeps a lock only if it is still the file at the path: so a
# server starting meanwhile, which opened the old file, never holds a lock another server can take too.


def hold_lock(path: Path):
    """The open lock file of ``path``, locked by this process, or None when another process holds it."""
    import fcntl

    for _attempt in range(10):
        lock = open(f"{path}.lock", "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a server of this key, or for a moment another server removing a dead one's files
            lock.close()
            time.sleep(0.05)
            continue
        if _identity(lock.fileno()) == _identity(f"{path}.lock"):
            return lock
        lock.close()  # unlinked by its holder after this process opened it: lock the file now at the path
    return None


def leave(path: Path) -> None:
    """A server that ends removes its lock file (still holding it) and its key's `.seen`; its socket is gone
    already (close_listener); a `.failed` marker stays."""
    if _LOCK is None or _LOCK.closed:
        return
    for name in (f"{path}.seen", f"{path}.lock"):
        try:
            os.unlink(name)
        except OSError:
            pass


def remove_dead(folder: Path, within: float = 600) -> None:
    """Remove what servers that are gone left in ``folder``: each lock file no process holds, with its socket
    if that is older than ``within`` (a server killed outright leaves both; a younger one may be anyone's
    listener, and the next server of its key replaces it anyway), and every `.seen` older than ``within``
    (second_cold_stage's window: it counts no more)."""
    import fcntl

    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    for name in names:
        target = folder / name
        if name.endswith(".sock.seen"):
            try:
                if time.time() - os.lstat(target).st_mtime >= within:
                    os.unlink(target)
            except OSError:
                pass
            continue
        if not name.endswith(".sock.lock"):
            continue
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: that server lives (or is starting)
            if _identity(fd) == _identity(str(target)) and stat.S_ISREG(os.fstat(fd).st_mode):
                socket_file = folder / name[:-len(".lock")]
                info = os.lstat(socket_file) if os.path.lexists(socket_file) else None
                if info is not None and stat.S_ISSOCK(info.st_mode) and time.time() - info.st_mtime >= within:
                    os.unlink(socket_file)
                os.unlink(target)  # still holding its lock: see hold_lock
        except OSError:
            pass
        finally:
            os.close(fd)


_LOCK = None
_ENVIRONMENT: dict[str, str] = {}
_OWN = ""  # the server's fingerprint, taken as it started
_PATH: list[str] = []  # its import path, as it started
_LOADED: Loaded | None = None  # the files it read while importing
_IMPORTS_SET: dict[str, str] = {}  # variables the libraries set on import (KMP_INIT_AT_FORK, ...)


def preload() -> None:
    """What a cold stage would import, in the same order as the stages import it."""
    from imbalance_lab.pipeline import cli  # noqa: F401, I001  (first: it pins the BLAS threads before numpy loads)
    import imbalance_lab.data.dataset
    import imbalance_lab.evaluation.ceiling
    import imbalance_lab.evaluation.metrics
    import imbalance_lab.models.estimators
    import imbalance_lab.persistence.modelfile
    import imbalance_lab.reporting.plots
    import imbalance_lab.reporting.report
    import imbalance_lab.strategies.samplers  # noqa: F401
    import imblearn.combine
    import imblearn.ensemble
    import imblearn.over_sampling
    import imblearn.pipeline
    import imblearn.under_sampling  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sklearn.calibration
    import sklearn.ensemble
    import sklearn.inspection
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
        data, fds, _flags, _address = socket.recv_fds(conn, REQUEST_LIMIT, 4)
        while not data.endswith(b"\n") and len(data) < REQUEST_LIMIT:
            more = conn.recv(REQUEST_LIMIT)
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
    if not isinstance(request.get("env"), dict) or not isinstance(request.get("cwd"), str) or fds != 4:
        return "malformed request"
    if load_environment(request["env"]) != _ENVIRONMENT:
        return "another environment"
    if request.get("path") != _PATH:
        return "another import path"  # e.g. the console script's folder first, not the project's
    state, own_state = request.get("process"), process_state()
    if not isinstance(state, dict) or any(state.get(key) != own_state[key] for key in ("limits", "nice")):
        return "other resource limits"  # e.g. a memory cap the forked child could not honour exactly
    if request.get("fingerprint") != own or (_LOADED is not None and _LOADED.changed()):
        return "stale"  # other sources or settings files, or a file it imported changed since
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

    code, report = 1, None
    try:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _die_with_parent()
        conn.close()
        *streams, report_fd = fds
        report = socket.socket(fileno=report_fd)  # the caller's report socket: the exit code goes there
        report.set_inheritable(False)
        for target, fd in enumerate(streams):
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
        from imbalance_lab.pipeline import cli

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
        code = code % 256 if isinstance(code, int) else 1  # as the kernel keeps a cold exit code
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            if report is not None:  # the caller believes the exit code from this process alone
                report.send(json.dumps({"exit": code}).encode())
        except BaseException:
            pass
        finally:
            os._exit(code)


def _die_with_parent() -> None:
    """The child dies with the server (Linux prctl PR_SET_PDEATHSIG), never runs orphaned."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def show_server(action: str) -> int:
    """`imbalance-lab server status|stop`."""
    try:
        path, reply = control(action)
    except BadReply as err:
        print(f"imbalance-lab server: error: the warm server of this checkout sent {err}; "
              f"`imbalance-lab server stop` cannot end it: end the process listening there", file=sys.stderr)
        return 2
    if reply is None:
        print("no warm server for this checkout" + ("" if enabled() else " (IMBALANCE_LAB_WARM=0: stages run cold)"))
    elif action == "stop":
        print(f"warm server {reply['stopping']} stops once its running stages end")
    else:
        print(f"warm server {reply['pid']} for {_printable(reply['root'])}: up {time.time() - reply['started']:.0f} s, "
              f"{reply['served']} stages served, running: {', '.join(map(str, reply['running'])) or 'none'}")
    if path is not None:
        print(f"socket: {path}")
    return 0


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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
        from imbalance_lab.pipeline.cli import main as run_here

        code = run_here(argv)
    return code


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "serve":
        try:
            serve(Path(sys.argv[2]), Path(sys.argv[3]), *sys.argv[4:])
        finally:  # the stages' children never come here (they end in os._exit)
            leave(Path(sys.argv[2]))
