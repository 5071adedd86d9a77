"""Benchmark: stages cold (each its own Python process) against warm (forked from the warm server).

    python bench/warm.py                          # the article data and 100,000 synthetic rows
    python bench/warm.py --sizes article --runs 5
    python bench/warm.py --quick                  # does it work? 500 rows, the smallest grid, one run

For each data set it copies the project into a temporary git repository (the copy's own sources on
PYTHONPATH), runs the pipeline once (warm: not measured, it starts the server), and then measures,
warm and cold (IMBALANCE_LAB_WARM=0) runs taking turns so that both see the machine alike:

* ``full``: ``dvc repro --force``, every stage;
* ``one_strategy``: ``dvc exp run -S strategies.smote.k_neighbors=K``, K going 3, 5, 3, ...;
* ``noop``: ``dvc repro`` with nothing to do;
* ``plain``: one plain Python process doing every stage's work, no DVC (the 2x target's reference).

Before a warm run the server is started and ready, as a project's second cold stage starts it
(the first alone starts none). It prints the median and the range of each figure; figures depend
on the machine. ``--quick`` measures 500 synthetic rows on the smallest grid of bench/benchmark.py
(the one cell smote-logreg, 3-fold CV once, the ceiling on 1,000 rows), once: it shows the script
works, not how fast anything is. Every
size's settings go through the pipeline's own ``check`` first: a wrong argument fails at once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmark import PLAIN, QUICK_ROWS, Parser, copy_project, env, plain, refuse_bad_settings, synthetic_params

ROOT = Path(__file__).resolve().parents[1]
CV_REPEATS = 2  # at every synthetic size (5 folds; --quick: 3 folds once)


def timed(args, project: Path, warm: bool) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=project, capture_output=True, text=True,
                            env={**env(), "PYTHONPATH": str(project / "src"),
                                 "IMBALANCE_LAB_WARM": "1" if warm else "0"})
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def stage(project: Path, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "imbalance_lab", *args], cwd=project, capture_output=True, text=True,
                          env={**env(), "PYTHONPATH": str(project / "src"), "IMBALANCE_LAB_WARM": "1"}).stdout


def ready(project: Path) -> None:
    """The project's warm server up. A stage starts one only when it is the checkout's second cold
    stage within 10 minutes (a single stage now and then is not worth a server's imports), so two
    cold `check` runs start it, as a project's first two stages do."""
    if stage(project, "server", "status").startswith("warm server"):
        return
    stage(project, "-q", "check")
    stage(project, "-q", "check")
    deadline = time.monotonic() + 60
    while not stage(project, "server", "status").startswith("warm server"):
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/warm.py: error: {project}: no warm server 60 s after two cold stages; "
                             f"run `imbalance-lab server status` and `imbalance-lab check` there to see why")
        time.sleep(0.1)


def settings(params: dict, rows: int, quick: bool = False) -> dict:
    """``rows`` synthetic rows, the five article strategies with logreg, 5-fold CV twice (--quick: the
    smallest grid of bench/benchmark.py)."""
    params = synthetic_params(params, rows, quick)
    if not quick:
        params["cv"]["repeats"] = CV_REPEATS
    return params


def configure(project: Path, rows: int | None, quick: bool = False) -> None:
    if rows is None:
        return
    params = settings(yaml.safe_load((project / "params.yaml").read_text()), rows, quick)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "commit", "-qam", f"{rows} rows"], cwd=project, check=True, env=env())


def measure(label: str, rows: int | None, runs: int, workdir: Path,
            quick: bool = False) -> dict[str, dict[str, list[float]]]:
    dvc = [sys.executable, "-m", "dvc"]
    project = copy_project(workdir / f"pipeline-{label}")
    configure(project, rows, quick)
    timed([*dvc, "repro"], project, warm=True)  # the build: its second cold stage starts the server
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "results"], cwd=project, check=True, env=env())
    figures: dict[str, dict[str, list[float]]] = {kind: {"cold": [], "warm": []}
                                                  for kind in ("full", "one_strategy", "noop")}
    k = iter([3, 5] * runs * 2)
    for _ in range(runs):
        for warm in (True, False):  # warm first: the server the build started is still up
            mode = "warm" if warm else "cold"
            if warm:
                ready(project)
            figures["full"][mode].append(timed([*dvc, "repro", "--force"], project, warm))
            if warm:
                ready(project)
            figures["one_strategy"][mode].append(
                timed([*dvc, "exp", "run", "-S", f"strategies.smote.k_neighbors={next(k)}"], project, warm))
            figures["noop"][mode].append(timed([*dvc, "repro"], project, warm))
    stage(project, "server", "stop")
    plain_project = copy_project(workdir / f"plain-{label}")
    configure(plain_project, rows, quick)
    figures["plain"] = {"cold": [plain(plain_project, PLAIN)["seconds"] for _ in range(runs)], "warm": []}
    return figures


def show(label: str, figures: dict) -> None:
    def cell(values: list[float]) -> str:
        if not values:
            return ""
        return f"{statistics.median(values):7.1f} s ({min(values):.1f}-{max(values):.1f})"

    print(f"\n{label}: median (min-max) of {len(figures['full']['cold'])} runs")
    print(f"{'':14}{'cold':>24}{'warm':>24}   warm/cold")
    for kind, by_mode in figures.items():
        ratio = (f"{statistics.median(by_mode['warm']) / statistics.median(by_mode['cold']):.2f}"
                 if by_mode["warm"] else "")
        print(f"{kind:14}{cell(by_mode['cold']):>24}{cell(by_mode['warm']):>24}   {ratio}")
    plain_seconds = statistics.median(figures["plain"]["cold"])
    for mode in ("cold", "warm"):
        print(f"full {mode} / plain process: {statistics.median(figures['full'][mode]) / plain_seconds:.2f}")


def size(text: str) -> str:
    if text != "article" and not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is neither 'article' nor a row count")
    return text


def main() -> int:
    parser = Parser(prog="bench/warm.py", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=size, default=None,
                        help=f"'article' and/or synthetic row counts (default: article 100000; "
                             f"with --quick {QUICK_ROWS})")
    parser.add_argument("--runs", type=int, default=None, help="runs of each figure, cold and warm (default 3; "
                                                                "with --quick 1)")
    parser.add_argument("--quick", action="store_true", help="the smallest grid at 500 rows, once: does it work?")
    args = parser.parse_args()
    sizes = args.sizes if args.sizes is not None else [str(QUICK_ROWS)] if args.quick else ["article", "100000"]
    runs = args.runs if args.runs is not None else 1 if args.quick else 3
    if not sizes:
        parser.error("--sizes: nothing to measure; give 'article' and/or row counts")
    if runs < 1:
        parser.error(f"--runs {runs}: must be at least 1")
    refuse_bad_settings(parser, [int(label) for label in sizes if label != "article"], args.quick)
    grid = "smote with logreg, 3 folds once" if args.quick else \
        f"five article strategies with logreg, {CV_REPEATS} CV repeats"
    with tempfile.TemporaryDirectory() as folder:
        for label in sizes:
            rows = None if label == "article" else int(label)
            show(label if rows is None else f"{rows:,} rows ({grid})",
                 measure(label, rows, runs, Path(folder), args.quick))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("IMBALANCE_LAB_WARM_IDLE", "60")
    sys.exit(main())
