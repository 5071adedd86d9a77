"""Is a dvc.lock cut short? Checked at the start of every pipeline stage (cli.main), in a few milliseconds.

DVC rewrites a stage's dvc.lock in place after the stage runs (the project has one per dvc.yaml: PIPELINES).
A write interrupted by a full disk or a killed run leaves the first records only, often still valid YAML: the
next ``dvc repro`` would silently rerun every stage whose record is gone, and the cut file could be committed.
A cut file lacks records that the committed one (git's HEAD) holds for stages its dvc.yaml still defines; a
stage then refuses to run and says ``git checkout <that dvc.lock>``.

Two things look alike and must still work: a dvc.lock deleted on purpose (a full rebuild: DVC writes it
again stage by stage) and a project whose dvc.lock is not in git yet. No dvc.lock, or none at HEAD, is
fine. While DVC runs a stage (``DVC_STAGE`` set), a dvc.lock that this same DVC process wrote (after the
process started) is its rebuild in progress, unless it holds the record of a stage that DVC cannot have
restored from its run-cache before any of our stages ran (a stage with a ``persist`` output): such a
record was there before the run, so the file was cut. The first verdict of a DVC run is kept in
``.dvc/tmp/`` so that its later stages need no second look (nor git).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Every dvc.yaml of the project, each beside its dvc.lock (tests/integration/test_stage_deps.py holds this to git)
PIPELINES = ("dvc.yaml", "cells/train/dvc.yaml", "cells/evaluate/dvc.yaml", "benchmark/dvc.yaml")
LOCKS = tuple(str(Path(pipeline).with_name("dvc.lock")) for pipeline in PIPELINES)  # beside each, in that order
VERDICT = Path(".dvc/tmp/imbalance-lab-lock-checked")  # "<dvc pid> <its start time>": its run's lock was whole
# A stage record: a key two spaces in (DVC's layout), maybe quoted.
RECORD = re.compile(r"""^  (?:'((?:[^']|'')*)'|"([^"]*)"|([^\s'"#][^\n]*?)):[ \t]*$""", re.M)
REFERENCE = re.compile(r"^\$\{\s*([\w.-]+)\s*\}$")


def records(text: str) -> list[str]:
    """The stage names recorded in a dvc.lock text (the keys under ``stages:``), in file order, read by
    layout, not parsed: a cut file may end anywhere."""
    start = re.search(r"^stages:[ \t]*$", text, re.M)
    if start is None:
        return []
    body = text[start.end():]
    end = re.search(r"^\S", body, re.M)  # the next top-level key, if any
    body = body[:end.start()] if end else body
    return [quoted.replace("''", "'") if quoted else double or plain for quoted, double, plain in RECORD.findall(body)]


def _resolve(value: Any, params: Mapping) -> Any:
    if isinstance(value, str) and (found := REFERENCE.match(value)):
        node: Any = params
        for part in found.group(1).split("."):
            node = node[part]
        return node
    return value


def defined_stages(root: Path, pipeline_file: str = "dvc.yaml") -> dict[str, bool] | None:
    """Every stage name a dvc.yaml defines with params.yaml's values (``foreach`` and ``matrix`` expanded as
    DVC names them), each with whether one of its outputs is ``persist`` (DVC's run-cache never restores
    such a stage). None when it cannot be read or expanded this simply: DVC then says what is wrong."""
    from imbalance_lab.settings.params import parse_yaml

    try:
        pipeline = parse_yaml((root / pipeline_file).read_text(encoding="utf-8"), pipeline_file)
        params = parse_yaml((root / "params.yaml").read_text(encoding="utf-8"), "params.yaml")
        stages = {}
        for name, body in pipeline["stages"].items():
            template = body.get("do", body)
            persist = any(isinstance(entry, Mapping) and any(isinstance(flags, Mapping) and flags.get("persist")
                                                             for flags in entry.values())
                          for kind in ("outs", "metrics", "plots") for entry in template.get(kind) or [])
            if "foreach" in body:
                items = _resolve(body["foreach"], params)
                keys = list(items) if isinstance(items, Mapping) else [str(item) for item in items]
                stages.update({f"{name}@{key}": persist for key in keys})
            elif "matrix" in body:
                axes = [[str(value) for value in _resolve(values, params)] for values in body["matrix"].values()]
                stages.update({f"{name}@{'-'.join(combo)}": persist for combo in itertools.product(*axes)})
            else:
                stages[name] = persist
        return stages
    except Exception:
        return None


def started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from /proc (Linux, no import), else psutil."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        return int(boot.split()[1]) + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, StopIteration):
        pass
    try:
        import psutil  # DVC's own dependency

        return psutil.Process(pid).create_time()
    except Exception:
        return None


def running_dvc(root: Path) -> str | None:
    """``"<pid> <start time>"`` of the DVC process running this stage, from DVC's own rwlock file (it names
    the process holding this stage's outputs), or None when no DVC runs it."""
    if not os.environ.get("DVC_STAGE"):
        return None
    try:
        held = json.loads((root / ".dvc/tmp/rwlock").read_text(encoding="utf-8"))
        pids = {int(info["pid"]) for info in held.get("write", {}).values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    runs = [(start, pid) for pid in pids if (start := started(pid)) is not None]
    if not runs:
        return None
    start, pid = max(runs)
    return f"{pid} {start!r}"


def committed_lock(root: Path, lock: str) -> str | None:
    """A dvc.lock as git's HEAD holds it, or None (no git, no commit, not committed)."""
    try:
        shown = subprocess.run(["git", "show", f"HEAD:{lock}"], cwd=root, capture_output=True, timeout=30,
                               env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    return shown.stdout.decode("utf-8", "replace") if shown.returncode == 0 else None


def cut_short(root: Path) -> str | None:
    """Why a dvc.lock of the project looks cut short (the one-line message, naming the fix), or None."""
    run = running_dvc(root)
    verdict = root / VERDICT
    if run is not None:
        try:
            if verdict.read_text(encoding="utf-8") == run:
                return None  # this DVC run's first stage found every lock whole
        except OSError:
            pass
    for pipeline_file, lock_name in zip(PIPELINES, LOCKS, strict=True):
        if problem := _lock_cut_short(root, pipeline_file, lock_name, run):
            return problem
    if run is not None:
        with contextlib.suppress(OSError):
            verdict.write_text(run, encoding="utf-8")
    return None


def _lock_cut_short(root: Path, pipeline_file: str, lock_name: str, run: str | None) -> str | None:
    """Why ``lock_name``, the dvc.lock beside ``pipeline_file``, looks cut short, or None."""
    lock = root / lock_name
    try:
        written = lock.stat().st_mtime
        text = lock.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None  # deleted on purpose (a full rebuild) or never made: DVC builds every stage
    except OSError:
        return None  # unreadable: DVC says so itself
    head = committed_lock(root, lock_name)
    lost = set(records(head)) - set(records(text)) if head is not None else set()
    defined = defined_stages(root, pipeline_file) if lost else None
    missing = lost & set(defined) if defined is not None else set()
    # This DVC run rewrote the lock before any of our stages ran, restoring stages from its run-cache:
    # after a deliberate deletion, those are all the file can hold.
    if (missing and defined is not None and run is not None and written >= float(run.split()[1])
            and not set(records(text)) & {name for name, persist in defined.items() if persist}):
        missing = set()
    if head is None or not missing:
        return None
    order = [name for name in records(head) if name in missing]
    return (f"{lock_name}: holds no record of {len(missing)} stage{'s' if len(missing) > 1 else ''} that "
            f"{pipeline_file} defines and the committed {lock_name} records (e.g. '{order[0]}'): DVC's last write "
            f"of it was cut short (a full disk or a killed run), and DVC would silently rerun them; restore it with "
            f"`git checkout {lock_name}` (or delete {lock_name} to rebuild its stages on purpose), and never commit "
            f"the cut file")
