"""The warm server of one checkout: it imports what the stages use once, then forks a child per stage
request until it is idle, stopped or stale.

Shaped as gunicorn's Arbiter: a class holding the server's state, setup (``start``) apart from the loop
(``run``), signals queued (the signal module's wakeup fd carries their numbers) and dispatched to
``handle_<signal>`` methods, and one ``handle_<kind>`` method per kind of request. Run by client.start_server
as ``python -m imbalance_lab.warm.server serve <socket> <root> <first import-path entry>``.

Beside each socket `<key>.sock`: `.lock` (flock-held by its server for life: one server per key), `.seen`
(when a stage of the key last ran cold, see client.second_cold_stage) and `.failed` (a server of these
sources failed to import them). A lock file is unlinked only by a process holding its lock (the server as
it ends, or a starting server removing a dead server's files), and a server keeps a lock only if it is
still the file at the path: so a server starting meanwhile, which opened the old file, never holds a lock
another server can take too.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import socket
import stat
import struct
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import FrameType
from typing import IO, Any, ClassVar

from imbalance_lab.warm.child import become_stage
from imbalance_lab.warm.fingerprint import Loaded, fingerprint, load_environment, process_state
from imbalance_lab.warm.protocol import REQUEST_LIMIT, identity, stage_of

IDLE_SECONDS = 300.0  # a server with nothing to do for this long exits (IMBALANCE_LAB_WARM_IDLE)


def preload() -> None:
    """What a cold stage would import, in the same order as the stages import it."""
    from imbalance_lab.pipeline import cli  # noqa: F401, I001  (first: it pins the BLAS threads before numpy loads)
    import imbalance_lab.data.dataset
    import imbalance_lab.data.sources
    import imbalance_lab.data.split
    import imbalance_lab.evaluation.ceiling
    import imbalance_lab.evaluation.metrics
    import imbalance_lab.models.estimators
    import imbalance_lab.models.explain
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


class StageServer:
    """A server of one socket path: ``start`` (lock, imports, listen), then ``run`` until it ends, then
    ``leave`` (its files removed). Its children are the stages it forked, each with its caller's
    connection, on which the server answers how the stage ended."""

    def __init__(self, path: Path, root: Path, first_path: str | None = None):
        """``first_path``: the starting caller's sys.path[0] (its working folder or script folder), the
        server's too."""
        self.path, self.root, self.first_path = path, root, first_path
        self.lock: IO[str] | None = None
        self.own = ""  # the server's fingerprint, taken as it started
        self.import_path: list[str] = []  # its sys.path, as it started
        self.environment: dict[str, str] = {}  # its load_environment(), as it started
        self.loaded: Loaded | None = None  # the files it read while importing
        self.imports_set: dict[str, str] = {}  # variables the libraries set on import (KMP_INIT_AT_FORK, ...)
        self.children: dict[int, socket.socket] = {}  # a running stage's pid: its caller's connection
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.inode = 0  # of the socket file this server bound
        self.wake_read = self.wake_write = -1
        self.idle = float(os.environ.get("IMBALANCE_LAB_WARM_IDLE") or IDLE_SECONDS)
        self.started, self.served, self.last = 0.0, 0, 0.0
        self.stopping = False

    # --- setup -----------------------------------------------------------------------------

    def start(self) -> bool:
        """Take the lock, import what the stages use, listen. False: another server of this path is
        starting or running, or the imports failed (said in `.failed`)."""
        started_ns = time.time_ns()
        if self.first_path is not None:
            sys.path[0] = self.first_path
        self.import_path = list(sys.path)
        self.environment = load_environment()  # as started: importing the libraries may add variables
        self.own = fingerprint(self.root)  # before the imports: a file changed while they run makes it stale
        os.umask(0o077)
        self.lock = hold_lock(self.path)
        if self.lock is None:
            return False
        remove_dead(self.path.parent)
        if not self.import_stages(started_ns):
            return False
        self.listen()
        self.started, self.last = time.time(), time.monotonic()
        return True

    def import_stages(self, started_ns: int) -> bool:
        """preload(), recording every file read on the way (Loaded); a broken install is said once in
        `.failed`, and no caller starts another server until the sources change."""
        before = dict(os.environ)
        failed = Path(f"{self.path}.failed")
        self.loaded = Loaded(started_ns)
        sys.addaudithook(self.loaded.audit)  # stays in the children, but records nothing after the snapshot
        self.loaded.recording = True
        try:
            preload()
        except BaseException as err:  # whatever the import raised, the stages run cold
            failed.write_text(f"{self.own}\n{type(err).__name__}: {err}\n")
            return False
        self.loaded.snapshot()
        failed.unlink(missing_ok=True)
        self.imports_set = {key: value for key, value in os.environ.items() if key not in before}
        return True

    def listen(self) -> None:
        """Bind the socket and queue the signals the loop handles (through the wakeup fd)."""
        if self.path.exists():
            self.path.unlink()
        self.listener.bind(str(self.path))
        self.listener.listen(16)
        self.inode = os.stat(self.path).st_ino
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        signal.set_wakeup_fd(self.wake_write)
        for signum in self.SIGNALS:
            signal.signal(signum, self.queued)

    @staticmethod
    def queued(_signum: int, _frame: FrameType | None) -> None:
        """A signal's Python handler: nothing to do, the wakeup fd has queued its number for the loop."""

    # --- the loop --------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until stopped or stale (once the running stages ended), or idle for ``idle`` seconds."""
        try:
            while not (self.stopping and not self.children):
                waiting: list[int | socket.socket] = [self.wake_read, *self.children.values()]
                if not self.stopping:
                    waiting.append(self.listener)
                timeout = None if self.children else max(0.0, self.idle - (time.monotonic() - self.last))
                try:
                    ready, _, _ = select.select(waiting, [], [], timeout)
                except InterruptedError:
                    continue
                if not ready and not self.children:
                    return  # idle
                self.dispatch(ready)
        finally:
            if not self.stopping:
                self.close_listener()

    def dispatch(self, ready: list[int | socket.socket]) -> None:
        if self.wake_read in ready:
            for signum in os.read(self.wake_read, 512):
                self.SIGNALS.get(signum, StageServer.handle_other)(self)
        for pid, conn in list(self.children.items()):
            if conn in ready and not conn.recv(1, socket.MSG_PEEK):
                self.handle_caller_gone(pid)
        if not self.stopping and self.listener in ready:
            conn, _ = self.listener.accept()
            self.handle_request(conn)

    # --- signals ---------------------------------------------------------------------------

    def handle_chld(self) -> None:
        """Stages ended: tell each one's caller how (exit code or signal)."""
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is not None:
                reply(conn, {"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status) else
                      {"exit": os.waitstatus_to_exitcode(status)})
                conn.close()
                self.last = time.monotonic()

    def handle_term(self) -> None:
        """Stop: no new stages; the server ends once the running ones have."""
        self.stop()

    def handle_other(self) -> None:
        """A signal the server does not handle (none is queued): ignored."""

    SIGNALS: ClassVar[dict[int, Callable[[StageServer], None]]] = {
        signal.SIGCHLD: handle_chld, signal.SIGTERM: handle_term}

    # --- requests --------------------------------------------------------------------------

    def handle_caller_gone(self, pid: int) -> None:
        """The caller of stage ``pid`` closed its connection (it died): so does its stage."""
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def handle_request(self, conn: socket.socket) -> None:
        """Check one request and answer it: refuse it, show the server, stop, or fork its stage."""
        conn.settimeout(5)
        request, fds, problem = self.read(conn)
        conn.settimeout(None)
        if problem:
            self.handle_refused(conn, problem, fds)
        elif request.get("status"):
            self.handle_status(conn)
        elif request.get("stop"):
            self.handle_stop(conn)
        else:
            self.handle_stage(conn, request, fds)

    def read(self, conn: socket.socket) -> tuple[dict[str, Any], list[int], str | None]:
        """(request, file descriptors passed with it, why it must not run here or None)."""
        fds: list[int] = []
        try:
            _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
            data, fds, _flags, _address = socket.recv_fds(conn, REQUEST_LIMIT, 4)
            while not data.endswith(b"\n") and len(data) < REQUEST_LIMIT:
                more = conn.recv(REQUEST_LIMIT)
                if not more:
                    break
                data += more
            request = json.loads(data)
            if not isinstance(request, dict):
                raise ValueError("not a JSON object")
            return request, fds, self.refusal(request, uid, len(fds))
        except (OSError, ValueError, struct.error) as err:
            return {}, fds, f"unreadable request ({err})"

    def refusal(self, request: dict[str, Any], uid: int, fds: int) -> str | None:
        """Why a request must not run here, or None."""
        if uid != os.getuid():
            return "another user"
        if request.get("root") != str(self.root):
            return f"another checkout ({request.get('root')!r}; this server serves {str(self.root)!r})"
        if request.get("status") or request.get("stop"):
            return None
        argv = request.get("run")
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv) or stage_of(argv) is None:
            return "not a pipeline stage"
        if not isinstance(request.get("env"), dict) or not isinstance(request.get("cwd"), str) or fds != 4:
            return "malformed request"
        if load_environment(request["env"]) != self.environment:
            return "another environment"
        if request.get("path") != self.import_path:
            return "another import path"  # e.g. the console script's folder first, not the project's
        state, own_state = request.get("process"), process_state()
        if not isinstance(state, dict) or any(state.get(key) != own_state[key] for key in ("limits", "nice")):
            return "other resource limits"  # e.g. a memory cap the forked child could not honour exactly
        if request.get("fingerprint") != self.own or (self.loaded is not None and self.loaded.changed()):
            return "stale"  # other sources or settings files, or a file it imported changed since
        return None

    def handle_refused(self, conn: socket.socket, problem: str, fds: list[int]) -> None:
        """Say why; a stale server stops (the caller starts one built from today's files)."""
        reply(conn, {"refused": problem, "pid": os.getpid()})
        close_all(fds)
        conn.close()
        if problem == "stale":
            self.stop()

    def handle_status(self, conn: socket.socket) -> None:
        reply(conn, {"pid": os.getpid(), "root": str(self.root), "started": self.started, "served": self.served,
                     "running": sorted(self.children), "fingerprint": self.own[:12]})
        conn.close()

    def handle_stop(self, conn: socket.socket) -> None:
        reply(conn, {"stopping": os.getpid()})
        conn.close()
        self.stop()

    def handle_stage(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        """Fork the stage's child, which becomes the stage; tell the caller its pid."""
        pid = os.fork()
        if pid == 0:  # the child: never returns
            self.listener.close()
            for other in self.children.values():
                other.close()
            if self.lock is not None:
                self.lock.close()
            become_stage(conn, request, fds, self.imports_set)
        close_all(fds)
        self.children[pid] = conn
        reply(conn, {"pid": pid})
        self.served, self.last = self.served + 1, time.monotonic()

    # --- ending ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Accept no more requests; new callers find no server, and start the next one."""
        if not self.stopping:
            self.stopping = True
            self.close_listener()

    def close_listener(self) -> None:
        with suppress(OSError):
            if os.stat(self.path).st_ino == self.inode:
                self.path.unlink()
        self.listener.close()

    def leave(self) -> None:
        """A server that ends removes its lock file (still holding it) and its key's `.seen`; its socket is
        gone already (close_listener); a `.failed` marker stays."""
        if self.lock is None or self.lock.closed:
            return
        for name in (f"{self.path}.seen", f"{self.path}.lock"):
            with suppress(OSError):
                os.unlink(name)


def reply(conn: socket.socket, message: dict[str, Any]) -> None:
    with suppress(OSError):
        conn.sendall(json.dumps(message).encode() + b"\n")


def close_all(fds: list[int]) -> None:
    for fd in fds:
        with suppress(OSError):
            os.close(fd)


# --- the folder's files ------------------------------------------------------------------------


def hold_lock(path: Path) -> IO[str] | None:
    """The open lock file of ``path``, locked by this process, or None when another process holds it."""
    for _attempt in range(10):
        lock = open(f"{path}.lock", "a")  # noqa: SIM115  (held open for the server's life)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a server of this key, or for a moment another server removing a dead one's files
            lock.close()
            time.sleep(0.05)
            continue
        if identity(lock.fileno()) == identity(f"{path}.lock"):
            return lock
        lock.close()  # unlinked by its holder after this process opened it: lock the file now at the path
    return None


def remove_dead(folder: Path, within: float = 600) -> None:
    """Remove what servers that are gone left in ``folder``: each lock file no process holds, with its socket
    if that is older than ``within`` (a server killed outright leaves both; a younger one may be anyone's
    listener, and the next server of its key replaces it anyway), and every `.seen` older than ``within``
    (client.second_cold_stage's window: it counts no more)."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    for name in names:
        if name.endswith(".sock.seen"):
            with suppress(OSError):
                if time.time() - os.lstat(folder / name).st_mtime >= within:
                    os.unlink(folder / name)
        elif name.endswith(".sock.lock"):
            remove_if_dead(folder / name, within)


def remove_if_dead(lock_file: Path, within: float) -> None:
    """A lock file no process holds, and its socket if older than ``within``."""
    try:
        fd = os.open(lock_file, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: that server lives (or is starting)
        if identity(fd) == identity(str(lock_file)) and stat.S_ISREG(os.fstat(fd).st_mode):
            socket_file = lock_file.with_name(lock_file.name[:-len(".lock")])
            info = os.lstat(socket_file) if os.path.lexists(socket_file) else None
            if info is not None and stat.S_ISSOCK(info.st_mode) and time.time() - info.st_mtime >= within:
                os.unlink(socket_file)
            os.unlink(lock_file)  # still holding its lock: see hold_lock
    except OSError:
        pass
    finally:
        os.close(fd)


def main(argv: list[str]) -> None:
    """``serve <socket> <root> [<first import-path entry>]``, as client.start_server runs it."""
    if len(argv) not in (3, 4) or argv[0] != "serve":
        return
    server = StageServer(Path(argv[1]), Path(argv[2]), *argv[3:])
    try:
        if server.start():
            server.run()
    finally:  # the stages' children never come here (they end in os._exit)
        server.leave()


if __name__ == "__main__":
    main(sys.argv[1:])
