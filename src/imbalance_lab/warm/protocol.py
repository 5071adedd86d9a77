"""What the caller and the server share: where a checkout's server listens, the commands it runs, and the
wire format (one JSON object per line each way; with a stage request, the caller's three standard streams
and its report socket as file descriptors)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import stat
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from imbalance_lab.pipeline.stage_names import STAGES
from imbalance_lab.settings import paths  # the standard library only, as here
from imbalance_lab.warm.fingerprint import load_environment

REQUEST_LIMIT = 1 << 20
REPLY_LIMIT = 1 << 16  # a server's replies are a few dozen bytes each
PID_MAX = 1 << 22  # Linux's PID_MAX_LIMIT


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


def socket_path(root: Path, folder: Path) -> Path:
    """One server per checkout, interpreter, import path and library-loading environment. The first
    import-path entry (the caller's folder, or its script's) is left out, so that `imbalance-lab server
    status` finds the stages' server; the server serves callers of its own entry only (refusal)."""
    key = json.dumps([str(root), sys.prefix, os.path.realpath(sys.executable), load_environment(), sys.path[1:]])
    return folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.sock"


def stage_of(argv: Sequence[str]) -> str | None:
    """The stage a command line names (after options such as -q), if it is one a server may run."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    return command if command in STAGES else None


def identity(path_or_fd: str | int) -> tuple[int, int] | None:
    """(device, inode) of a file, or None if it is gone."""
    try:
        info = os.stat(path_or_fd)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def connect(path: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        raise
    return conn


def send_request(conn: socket.socket, request: dict[str, Any], fds: Sequence[int] = ()) -> None:
    data = json.dumps(request).encode() + b"\n"
    sent = socket.send_fds(conn, [data], list(fds)) if fds else conn.send(data)
    if sent < len(data):
        conn.sendall(data[sent:])


class BadReply(ValueError):
    """A reply the protocol does not allow: the caller runs the stage cold."""


def replies(conn: socket.socket) -> Iterator[dict[str, Any]]:
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
                reply = json.loads(line, parse_constant=no_constant)
            except ValueError as err:
                raise BadReply(f"not one JSON object ({err})") from None
            if not isinstance(reply, dict):
                raise BadReply(f"not a JSON object: {shown(reply)}")
            yield reply


def no_constant(name: str) -> None:
    """json's parse_constant: NaN and Infinity are no numbers a server sends."""
    raise ValueError(f"{name} is not a number a server sends")


def shown(value: object) -> str:
    """A reply as it may be printed: ASCII, control characters escaped, cut at 80 characters."""
    text = json.dumps(value, ensure_ascii=True, default=repr)
    return text if len(text) <= 80 else text[:77] + "..."


def checked(reply: dict[str, Any]) -> tuple[str, int | str]:
    """(kind, value) of a stage reply: {"pid": n} once the child is forked, then {"exit": code} or
    {"signal": number} once it ended, or {"refused": why} (with the server's pid); nothing else."""
    keys = set(reply)
    for kind, low, high in (("pid", 2, PID_MAX), ("exit", 0, 255), ("signal", 1, signal.NSIG - 1)):
        if keys == {kind} and type(reply[kind]) is int and low <= reply[kind] <= high:
            return kind, reply[kind]
    if keys in ({"refused"}, {"refused", "pid"}) and isinstance(reply["refused"], str) and len(reply["refused"]) < 1000:
        return "refused", reply["refused"]
    raise BadReply(f"unexpected reply {shown(reply)}")
