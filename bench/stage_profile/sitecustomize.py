"""Loaded by every Python process started with this folder on PYTHONPATH (the benchmark sets it):
a pipeline stage (`python -m imbalance_lab <stage> [strategy]`) appends its wall time since the
process started and its peak memory to the file IMBALANCE_LAB_PROFILE names, one JSON line."""

import atexit
import json
import os
import sys


def _process_seconds() -> float:
    """Wall time since this process started (interpreter start-up and imports included); Linux."""
    import time
    from pathlib import Path

    ticks = os.sysconf("SC_CLK_TCK")
    started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime"))
    return time.time() - boot - started


def _record() -> None:
    import resource

    if not sys.argv or not sys.argv[0].endswith(os.path.join("imbalance_lab", "__main__.py")):
        return  # DVC itself, git hooks, ...: not a stage
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    stage = sys.argv[1] if len(sys.argv) < 3 else f"{sys.argv[1]}@{'-'.join(sys.argv[2:])}"  # as DVC names it
    line = {"stage": stage, "seconds": round(_process_seconds(), 3), "peak_mb": round(peak / 1024, 1)}
    with open(os.environ["IMBALANCE_LAB_PROFILE"], "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")


if os.environ.get("IMBALANCE_LAB_PROFILE"):
    atexit.register(_record)
