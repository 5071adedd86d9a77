"""The caller's side: ask this checkout's server to run a stage, start a server, or ask it how it is.

The caller believes only what it can check: every reply is validated (else the stage runs cold), a
signal is forwarded only to a process proved to be the stage's child (a pidfd of a live process that
holds the report socket the caller created for this request), and success is reported only when that
child itself said so on the report socket, its pid vouched for by the kernel (SO_PASSCRED).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from types import FrameType
from typing import Any

from imbalance_lab.warm.fingerprint import fingerprint, process_state
from imbalance_lab.warm.protocol import (
    BadReply,
    checked,
    connect,
    identity,
    no_constant,
    project_root,
    replies,
    runtime_folder,
    send_request,
    shown,
    socket_path,
    stage_of,
)

SERVER_MODULE = "imbalance_lab.warm.server"  # run as `python -m SERVER_MODULE serve <socket> <root> <path[0]>`


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
        conn: socket.socket | None = connect(path)
    except OSError:
        if not second_cold_stage(path):  # a single stage run now and then is not worth a server's imports
            return None
        conn = once_up(path, start_server(path, root))
    for _ in range(2):  # a stale server starts its successor: this stage waits for it, once
        if conn is None:
            return None
        with conn:
            request = StageRequest(conn, path, root, argv)
            code = request.run()
        if code is not None or request.successor is None:
            return code
        conn = once_up(path, request.successor)
    return None


# How long the stage that starts a server waits for it to listen. Its imports take 3-4 s on an idle machine and
# up to about 10 s on a busy one (two test workers on 2 cores); the stage would pay the same imports cold beside
# them, so waiting costs little wall time and saves a cold stage's CPU (and the next stage's, which would also
# have found no server yet). Past this, the stage runs cold and the server serves the stages after it.
SERVER_WAIT_SECONDS = 30.0


def once_up(path: Path, server: subprocess.Popen | None) -> socket.socket | None:
    """A connection to the server that the process ``server`` becomes, once it listens; None if no process was
    started, it ended first (another server holds the lock, or its imports failed) or it took longer than
    SERVER_WAIT_SECONDS: the stage then runs cold."""
    if server is None:
        return None
    deadline = time.monotonic() + SERVER_WAIT_SECONDS
    while time.monotonic() < deadline:
        with suppress(OSError):
            return connect(path)
        if server.poll() is not None:
            return None
        time.sleep(0.05)
    return None


def peer_pid(conn: socket.socket) -> int | None:
    """The pid of the process at the other end, as the kernel recorded it (SO_PEERCRED)."""
    try:
        pid: int = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    except (OSError, struct.error):
        return None
    return pid


def exited(pidfd: int) -> bool:
    """Whether the process of a pidfd has ended (a pidfd becomes readable then, also for a non-child)."""
    return bool(select.select([pidfd], [], [], 0)[0])


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
        self.token_id = identity(self.token.fileno())
        self.claimed: int | None = None  # the pid the server named
        self.pidfd: int | None = None  # that process, once proved to be the stage's child
        self.previous: dict[int, Any] = {}
        self.successor: subprocess.Popen | None = None  # the server started after this one said it was stale

    def run(self) -> int | None:
        if not self.send():
            return None
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self.previous[signum] = signal.signal(signum, self.forward)
        try:
            return self.follow()
        except BadReply as err:
            self.abandon(err)
        except OSError:
            pass
        finally:
            self.restore()
            self.report.close()
            if self.pidfd is not None:
                os.close(self.pidfd)
        # The server gave an answer we cannot believe. Before the stage started, it simply runs cold;
        # after, it ran at most partly (its outputs are written atomically), and runs again, cold.
        return None

    def send(self) -> bool:
        """The request, with the caller's streams and the child's end of the report socket."""
        request = {"run": self.argv, "root": str(self.root), "cwd": os.getcwd(), "env": dict(os.environ),
                   "path": sys.path, "process": process_state(), "fingerprint": fingerprint(self.root)}
        try:
            send_request(self.conn, request, [0, 1, 2, self.token.fileno()])
        except OSError:
            return False
        finally:
            self.token.close()  # the child's end: from now on held by the server's child alone
        return True

    def follow(self) -> int | None:
        """The stage's exit code from the replies; None when the server refused or went away (run cold)."""
        for reply in replies(self.conn):
            kind, value = checked(reply)
            if isinstance(value, str):  # {"refused": why}, the one reply with text
                if value == "stale":  # the server exits; the next one is built from today's files
                    self.successor = start_server(self.path, self.root, wait_for_exit=self.server)
                return None
            if kind == "pid":
                if self.claimed is not None:
                    raise BadReply(f"a second pid ({value})")
                self.claimed, self.pidfd = value, self.prove(value)
            elif kind == "exit":
                return self.reported(value)
            else:
                return self.died_of(value)
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
            holds = any(identity(f"/proc/{pid}/fd/{fd}") == self.token_id for fd in os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            holds = False
        if holds and not exited(pidfd):  # alive after the look: /proc/<pid> was the pidfd's process
            return pidfd
        os.close(pidfd)
        return None

    def reported(self, code: int) -> int:
        """``code`` if the child itself reported it: the report socket's first message, from the pid
        the server named (SO_PASSCRED: the kernel fills in the sender's pid)."""
        said, sender = None, None
        try:
            data, ancillary, _flags, _address = self.report.recvmsg(256, socket.CMSG_SPACE(12), socket.MSG_DONTWAIT)
            said = json.loads(data, parse_constant=no_constant)
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
        if self.pidfd is None or not exited(self.pidfd):
            raise BadReply(f"signal {signum} for no ended child of this request")
        self.restore()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return 128 + signum

    def forward(self, signum: int, _frame: FrameType | None) -> None:
        """Ctrl-C and termination reach the proved child, as they would a cold stage; with no proved
        child the signal is the caller's own (a claimed pid is never signalled)."""
        if self.pidfd is not None:
            with suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signum)
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
        with suppress(OSError):
            self.conn.shutdown(socket.SHUT_RDWR)
        if self.pidfd is not None:
            select.select([self.pidfd], [], [], 5)


def second_cold_stage(path: Path, within: float = 600) -> bool:
    """Whether another stage of this checkout ran cold in the last ``within`` seconds (and note this one)."""
    seen = Path(f"{path}.seen")
    try:
        recent = time.time() - seen.stat().st_mtime < within
    except OSError:
        recent = False
    with suppress(OSError):
        seen.touch()
    return recent


def start_server(path: Path, root: Path, wait_for_exit: int | None = None) -> subprocess.Popen | None:
    """Start a server in the background (its own session, no terminal): its process, or None when none was
    started. It exits at once if another one holds the lock of ``path``."""
    if wait_for_exit:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and alive(wait_for_exit):
            time.sleep(0.02)
    try:
        if Path(f"{path}.failed").read_text().split("\n", 1)[0] == fingerprint(root):
            return None  # a server of these very sources failed to import them: stages stay cold until they change
    except OSError:
        pass
    try:
        return subprocess.Popen([sys.executable, "-m", SERVER_MODULE, "serve", str(path), str(root), sys.path[0]],
                                cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError:
        return None


def alive(pid: int) -> bool:
    """Whether a process exists (no signal sent, not even 0)."""
    return os.path.exists(f"/proc/{pid}")


# The fields of a `status` and a `stop` reply, each of exactly this type (a bool is no int here).
STATUS_FIELDS = {"pid": int, "root": str, "started": float, "served": int, "running": list, "fingerprint": str}
STOP_FIELDS = {"stopping": int}


def control(command: str) -> tuple[Path | None, dict[str, Any] | None]:
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
    fields = STOP_FIELDS if command == "stop" else STATUS_FIELDS
    if reply is not None and not (set(reply) == set(fields) and all(
            isinstance(reply[key], kind) and not isinstance(reply[key], bool) for key, kind in fields.items())
            and all(type(pid) is int for pid in reply.get("running", []))):
        raise BadReply(f"unexpected reply {shown(reply)}")
    return path, reply
