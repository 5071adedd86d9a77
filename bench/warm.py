"""Benchmark: stages cold (each its own Python process) against warm (forked from the warm server).

    python bench/warm.py                          # the article data and 100,000 synthetic rows
    python bench/warm.py --sizes article --runs 5

For each data set it copies the project into a temporary git repository (the copy's own sources on
PYTHONPATH), runs the pipeline once, and then measures, cold (IMBALANCE_LAB_WARM=0) and warm runs
taking turns so that both see the machine alike:

* ``full``: ``dvc repro --force``, every stage;
* ``one_strategy``: ``dvc exp run -S strategies.smote.k_neighbors=K``, K going 3, 5, 3, ...;
* ``noop``: ``dvc repro`` with nothing to do;
* ``plain``: one plain Python process doing every stage's work, no DVC (the 2x target's reference).

Before a warm run the server is started and ready, as it is after a project's first stage. It
prints the median and the range of each figure; figures depend on the machine.
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

from benchmark import PLAIN, copy_project, env, plain

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = ("baseline", "smote", "enn", "smoteenn", "knn_smote")  # the article's, as bench/benchmark.py


def timed(args, project: Path, warm: bool) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=project, capture_output=True, text=True,
                            env={**env(), "PYTHONPATH": str(project / "src"), "IMBALANCE_LAB_WARM": "1" if warm else "0"})
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def stage(project: Path, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "imbalance_lab", *args], cwd=project, capture_output=True, text=True,
                          env={**env(), "PYTHONPATH": str(project / "src")}).stdout


def ready(project: Path) -> None:
    """The project's warm server up (started by a first stage if need be)."""
    if stage(project, "server", "status").startswith("warm server"):
        return
    stage(project, "-q", "check")
    deadline = time.monotonic() + 60
    while not stage(project, "server", "status").startswith("warm server"):
        if time.monotonic() > deadline:
            raise SystemExit("the warm server did not start")
        time.sleep(0.1)


def configure(project: Path, rows: int | None) -> None:
    if rows is None:
        return
    from dvc.utils.serialize import modify_yaml

    with modify_yaml(str(project / "params.yaml")) as params:
        params["data"]["source"] = "synthetic"
        params["data"]["synthetic"]["rows"] = rows
        for name in [name for name in params["strategies"] if name not in STRATEGIES]:
            del params["strategies"][name]
        params["grid"]["strategies"] = list(STRATEGIES)
        params["grid"]["classifiers"] = ["logreg"]
        params["cv"]["repeats"] = 2
    subprocess.run(["git", "commit", "-qam", f"{rows} rows"], cwd=project, check=True, env=env())


def measure(label: str, rows: int | None, runs: int, workdir: Path) -> dict[str, dict[str, list[float]]]:
    dvc = [sys.executable, "-m", "dvc"]
    project = copy_project(workdir / f"pipeline-{label}")
    configure(project, rows)
    timed([*dvc, "repro"], project, warm=False)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "results"], cwd=project, check=True, env=env())
    figures: dict[str, dict[str, list[float]]] = {kind: {"cold": [], "warm": []}
                                                  for kind in ("full", "one_strategy", "noop")}
    k = iter([3, 5] * runs * 2)
    for _ in range(runs):
        for warm in (False, True):
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
    configure(plain_project, rows)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=["article", "100000"],
                        help="'article' and/or synthetic row counts")
    parser.add_argument("--runs", type=int, default=3, help="runs of each figure, cold and warm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for label in args.sizes:
            rows = None if label == "article" else int(label)
            show(label if rows is None else f"{rows:,} rows (five article strategies, 2 CV repeats)",
                 measure(label, rows, args.runs, Path(folder)))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("IMBALANCE_LAB_WARM_IDLE", "60")
    sys.exit(main())
