"""A forked child of the server becomes the caller's stage: its streams, folder, environment, limits and
arguments; it reports its own exit code on the caller's report socket and exits with it."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sys
from typing import Any, NoReturn


def become_stage(conn: socket.socket, request: dict[str, Any], fds: list[int],
                 imports_set: dict[str, str]) -> NoReturn:
    """Run the stage of ``request`` in this process and exit with its code (never returns). ``conn``: the
    request's connection (the server answers on it); ``fds``: the caller's stdin, stdout, stderr and
    report socket; ``imports_set``: the variables the server's imports set (KMP_INIT_AT_FORK, ...), as a
    cold stage's imports would set them."""
    import traceback

    code: object = 1
    report = None
    try:
        reset_signals()
        die_with_parent()
        conn.close()
        *streams, report_fd = fds
        report = socket.socket(fileno=report_fd)  # the caller's report socket: the exit code goes there
        report.set_inheritable(False)
        take_over(request, streams, imports_set)
        from imbalance_lab.pipeline import cli

        cli.pin_threads()
        sys.argv = [sys.argv[0], *request["run"]]
        code = cli.main(request["run"])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except KeyboardInterrupt:
        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        traceback.print_exc()
    finally:
        report_and_exit(report, code % 256 if isinstance(code, int) else 1)  # as the kernel keeps a cold code


def reset_signals() -> None:
    """As a new process has them: the server's wakeup fd and handlers gone, Ctrl-C a KeyboardInterrupt."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def report_and_exit(report: socket.socket | None, code: int) -> NoReturn:
    """Flush the streams, tell the caller ``code`` on its report socket (it believes the exit code from
    this process alone), and exit with it, whatever fails on the way."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        if report is not None:
            report.send(json.dumps({"exit": code}).encode())
    except BaseException:
        pass
    finally:
        os._exit(code)


def take_over(request: dict[str, Any], streams: list[int], imports_set: dict[str, str]) -> None:
    """The caller's standard streams, umask, CPU affinity, ignored signals, folder and environment."""
    for target, fd in enumerate(streams):
        os.dup2(fd, target)
        os.close(fd)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=os.isatty(1))
    state = request["process"]
    os.umask(int(state["umask"]))
    os.sched_setaffinity(0, state["cpus"])
    for signum in state["ignored"]:
        signal.signal(signum, signal.SIG_IGN)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for key, value in imports_set.items():
        os.environ.setdefault(key, value)


def die_with_parent() -> None:
    """The child dies with the server (Linux prctl PR_SET_PDEATHSIG), never runs orphaned."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
