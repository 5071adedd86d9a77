"""The `imbalance-lab` command (also ``python -m imbalance_lab``): a pipeline stage warm when it can be,
``imbalance-lab server status|stop``, else the command line, cold in this process.

Only the standard library is imported until the stage runs cold: the caller must not pay the imports
it avoids (see the package's docstring).
"""

from __future__ import annotations

import sys
import time

from imbalance_lab.warm.client import control, enabled, run_warm
from imbalance_lab.warm.protocol import BadReply


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
        print(f"warm server {reply['pid']} for {printable(reply['root'])}: up {time.time() - reply['started']:.0f} s, "
              f"{reply['served']} stages served, running: {', '.join(map(str, reply['running'])) or 'none'}")
    if path is not None:
        print(f"socket: {path}")
    return 0


def printable(text: str) -> str:
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
