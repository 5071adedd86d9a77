"""Benchmark of the benchmark across data sets (benchmark/dvc.yaml): how long `dvc repro --force` of every set and
the ranking takes, how much of it is DVC's own bookkeeping, and whether it wrote the committed bytes.

    python bench/across_datasets.py                                   # a copy of this project: the 16 sets, ~12 min
    OPENBLAS_CORETYPE=Sandybridge python bench/across_datasets.py     # the same on another CPU's kernel
    python bench/across_datasets.py --project /path/to/checkout --out /tmp/across.json

It copies the project's git-tracked files (results included) into a temporary git repository (or uses
``--project``, a checkout whose benchmark is up to date and committed), runs ``dvc repro --force
benchmark/dvc.yaml`` there, and times each line of DVC's output as it comes. A stage's work runs from DVC's
"Running stage" line to the stage's own last line ("done in": interpreter start-up, imports and the stage);
everything else is DVC's: starting, checking what changed, hashing outputs and rewriting dvc.lock after each
stage. It prints the figures and writes them as JSON (default bench/across_datasets.json; --out elsewhere):
the total, each stage's seconds, the bookkeeping seconds and share, and ``identical`` (git status clean: every
set file, the summary, the metrics, the diagrams and benchmark/dvc.lock as committed). Figures depend on the
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNNING = re.compile(r"^Running stage '(?:[^']*:)?([^']+)'")
DONE = re.compile(r"^imbalance-lab [a-z]+.*: done in ")


def copy_project(target: Path) -> Path:
    """The git-tracked files (the committed results too), committed in a new repository."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, names.split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "project"]):
        subprocess.run(["git", *args], cwd=target, check=True, env=env())
    return target


def env() -> dict[str, str]:
    return {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@invalid",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@invalid",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def timed_lines(args: list[str], cwd: Path) -> tuple[list[tuple[float, str]], int]:
    """Each line of the command's output (stdout and stderr merged) with the seconds since it started."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines = [(time.perf_counter() - started, line.rstrip("\n")) for line in process.stdout]
    code = process.wait()
    lines.append((time.perf_counter() - started, ""))  # the end
    return lines, code


def stage_seconds(lines: list[tuple[float, str]]) -> dict[str, float]:
    """Each stage's seconds: from DVC's "Running stage" line to the stage's "done in" line."""
    seconds, current = {}, None
    for at, line in lines:
        if found := RUNNING.match(line):
            current = (found.group(1), at)
        elif current is not None and DONE.match(line):
            seconds[current[0]] = round(at - current[1], 2)
            current = None
    return seconds


def measure(project: Path) -> dict:
    lines, code = timed_lines([sys.executable, "-m", "dvc", "repro", "--force", "benchmark/dvc.yaml"], project)
    if code != 0:
        sys.exit("dvc repro failed:\n" + "\n".join(line for _, line in lines[-30:]))
    total = lines[-1][0]
    stages = stage_seconds(lines)
    bookkeeping = total - sum(stages.values())
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True,
                            check=True).stdout
    return {"total_seconds": round(total, 1), "stages": stages, "stage_count": len(stages),
            "bookkeeping_seconds": round(bookkeeping, 1), "bookkeeping_share": round(bookkeeping / total, 4),
            "identical": status == "", "changed": status.splitlines(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "cpus": os.cpu_count(),
            "machine": platform.machine()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a checkout whose benchmark is committed (default: a copy of "
                        "this project)")
    parser.add_argument("--out", type=Path, help="where to write the figures (default bench/across_datasets.json)")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        project = options.project or copy_project(Path(folder) / "project")
        result = measure(project)
    print(f"dvc repro --force benchmark/dvc.yaml: {result['total_seconds']:.1f} s, {result['stage_count']} stages")
    for name, seconds in result["stages"].items():
        print(f"  {name:32} {seconds:8.1f} s")
    print(f"DVC's bookkeeping: {result['bookkeeping_seconds']:.1f} s, {result['bookkeeping_share']:.1%} of the run")
    same = "yes" if result["identical"] else "no: " + ", ".join(result["changed"])
    print(f"identical to the committed files: {same}")
    out = options.out or ROOT / "bench" / "across_datasets.json"
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"written: {out}")
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
