"""Benchmark: the DVC pipeline at 500 to 10 million rows, against one plain Python process.

    python bench/benchmark.py                         # article data + 500, 100k, 1M, 10M rows
    python bench/benchmark.py --sizes 500 100000      # some sizes only
    python bench/benchmark.py --no-article --sizes 1000000 --out /tmp/bench.json
    python bench/benchmark.py --no-article --no-neighbours --sizes 10000000 --update   # add 10M
    python bench/benchmark.py --quick --out /tmp/quick.json   # does it work? about 65 s

For each size of the synthetic source (the shipped grid: six strategies x two classifiers; the CV repeats below)
it copies the project into a temporary git repository and measures:

* ``cold``: ``dvc repro`` from nothing, with each stage's wall time and peak memory (the
  stages record them through bench/stage_profile/ when IMBALANCE_LAB_PROFILE is set);
* ``noop``: a second ``dvc repro`` (nothing to do);
* ``warm``: ``dvc repro --force``, every stage again, forked from the project's warm server
  (started first, as a checkout's second cold stage starts it), and ``identical``: it wrote the
  cold run's bytes; then ``warm_one_strategy``: ``dvc repro`` after ``strategies.smote.k_neighbors``
  5 -> 3, warm (below 10M rows: at 10M a second pipeline run would not fit a working session);
* ``one_strategy``: ``dvc repro`` after ``strategies.smote.k_neighbors`` -> 4, cold;
* ``plain``: the same work (every stage's function, same settings) in one plain Python
  process: no DVC, one interpreter, imports paid once; and ``fit_and_score``: the grid's
  cells only fitted on the training split and scored on the test split;
* ``identical_to_plain``: the plain process wrote byte-identical data and reports, a second
  independent run of the same work.

From 10M rows (``--concurrent-from``) the plain process runs beside the pipeline, each on one
of the two cores (``cv.n_jobs`` is 1), so that both fit in a session; both see the same
contention, so their ratio stays fair, but the absolute seconds are a little high.

It prints a table (each size's cold and warm runs side by side) and writes JSON (default
bench/results.json) with each target met or not. Figures depend on the machine: compare runs on the same machine only.

``--quick`` runs every measurement above once on the smallest settings (500 synthetic rows, the
one cell smote-logreg: a sampler for the one-strategy change; 3-fold CV once; the ceiling on the
1,000 fresh rows the pipeline's minimum; no article data, no neighbour searches), but the cold
one-strategy change (its profiled cold stages take the cold build's path again: 17 s): it shows the
benchmark works, its figures say nothing about speed, and it never writes bench/results.json
(only ``--out``, if given). Every size's settings go through the
pipeline's own ``check`` before anything runs, so a wrong argument fails at once, in one line.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from imbalance_lab.pipeline.dvclock import LOCKS

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # as the stages do
    os.environ.setdefault(_variable, "1")

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SIZES = (500, 100_000, 1_000_000, 10_000_000)
CV_REPEATS = {500: 10, 100_000: 2, 1_000_000: 1, 10_000_000: 1}  # 5 folds each; fewer repeats at scale
QUICK_STRATEGIES = ("smote",)  # --quick: the smallest grid with a sampler to change, one cell (smote-logreg)
QUICK_ROWS = 500
QUICK_CEILING_ROWS = 1000  # the least the pipeline takes (400,000 by default: seconds of every cold run)
# What a stage pays before its own work: interpreter start-up plus the imports of its kind.
IMPORTS = {
    "dvc": "import dvc.repo",
    "generate/split": "import imbalance_lab.pipeline.cli, imbalance_lab.data.sources, imbalance_lab.data.split, "
                      "sklearn.model_selection",
    "resample/train": "import imbalance_lab.pipeline.cli, imbalance_lab.strategies.samplers, "
                      "imbalance_lab.models.estimators, imbalance_lab.evaluation.metrics",
    "evaluate/compare": "import imbalance_lab.pipeline.cli, imbalance_lab.models.estimators, "
                        "imbalance_lab.evaluation.metrics, imbalance_lab.reporting.plots, "
                        "imbalance_lab.reporting.report",
}
TARGETS = {"noop_seconds": 1.0, "article_one_strategy_seconds": 6.0, "ratio_1m": 2.0, "ratio_10m": 1.3,
           "peak_gb_10m": 8.0}


def env() -> dict:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


def run(args, cwd: Path, extra_env: dict | None = None) -> float:
    """Run a command; its wall time in seconds. A failure stops the benchmark with its output."""
    started = time.perf_counter()
    code = {"PYTHONPATH": str(cwd / "src")}  # the copied sources, whatever is installed
    result = subprocess.run(args, check=False, cwd=cwd, env={**env(), **code, **(extra_env or {})},
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed in {cwd}:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def dvc(*args, cwd: Path, profile: Path | None = None, warm: bool = False) -> float:
    # Each stage records its time and peak memory through bench/stage_profile/sitecustomize.py.
    # Cold stages only (IMBALANCE_LAB_WARM=0): a stage forked from the warm server records nothing.
    hook = {"IMBALANCE_LAB_PROFILE": str(profile), "PYTHONPATH": f"{cwd / 'src'}{os.pathsep}{BENCH / 'stage_profile'}"}
    return run([sys.executable, "-m", "dvc", *args], cwd,
               {**(hook if profile else {}), "IMBALANCE_LAB_WARM": "1" if warm else "0"})


def lab(project: Path, *args: str) -> str:
    """`imbalance-lab <args>` in ``project`` (its own sources), warm allowed; what it printed."""
    return subprocess.run([sys.executable, "-m", "imbalance_lab", *args], cwd=project, capture_output=True, text=True,
                          env={**env(), "PYTHONPATH": str(project / "src"), "IMBALANCE_LAB_WARM": "1"},
                          check=False).stdout


def stop_server(project: Path) -> None:
    """The project's warm server (started by a warm run's second cold stage) ended now, not at its idle time."""
    lab(project, "server", "stop")


def ready(project: Path) -> None:
    """The project's warm server up, as a checkout's second cold stage starts it (a single stage now
    and then starts none): two cold `check` runs, then wait until it answers."""
    if lab(project, "server", "status").startswith("warm server"):
        return
    lab(project, "-q", "check")
    lab(project, "-q", "check")
    deadline = time.monotonic() + 60
    while not lab(project, "server", "status").startswith("warm server"):
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/benchmark.py: error: {project}: no warm server 60 s after two cold stages; "
                             f"run `imbalance-lab server status` and `imbalance-lab check` there to see why")
        time.sleep(0.1)


def copy_project(target: Path) -> Path:
    """The git-tracked sources without results, committed in a new git repository."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, names.split("\0")):
        # results left out but the user's inputs and the committed benchmark across data sets (configure() leaves
        # it no data set; its rank stage reads reports/benchmark/sets/)
        if name.startswith(("data/", "reports/", "bench/", *LOCKS)) and not name.startswith(
                ("data/input/", "reports/benchmark/", "benchmark/dvc.lock")):
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    run(["git", "init", "-q"], target)
    run(["git", "add", "-A"], target)
    run(["git", "commit", "-qm", "project"], target)
    return target


def synthetic_params(params: dict, rows: int, quick: bool = False) -> dict:
    """``params`` for ``rows`` synthetic rows: the shipped grid (six strategies x logreg and hgb; before issue 24
    the figures were of the five article strategies with logreg alone), 5-fold CV repeated CV_REPEATS times;
    ``quick``: smote alone with logreg (no baseline to compare with), 3 folds once, the ceiling on
    QUICK_CEILING_ROWS fresh rows."""
    params = copy.deepcopy(params)
    strategies = QUICK_STRATEGIES if quick else tuple(params["grid"]["strategies"])
    params["data"]["source"] = "synthetic"
    params["data"]["synthetic"]["rows"] = rows
    params["strategies"] = {name: params["strategies"][name] for name in strategies}
    params["grid"] = {"strategies": list(strategies),
                      "classifiers": ["logreg"] if quick else list(params["grid"]["classifiers"])}
    params["cv"]["repeats"] = 1 if quick else CV_REPEATS.get(rows, 1)
    if quick:
        params["cv"]["folds"] = 3
        params["ceiling"]["rows"] = QUICK_CEILING_ROWS
    if params["leaderboard"].get("baseline") not in strategies:
        params["leaderboard"]["baseline"] = None  # no strategy to compare the cells with
    return without_benchmark(params)


def without_benchmark(params: dict) -> dict:
    """``params`` with no benchmark data set: these figures are the one-data-set pipeline's (the benchmark across
    data sets has its own, docs/benchmark.md), and `dvc repro --force` would rerun its 16 sets."""
    params = copy.deepcopy(params)
    params["benchmark"]["datasets"] = {}
    return params


def configure(project: Path, rows: int | None, quick: bool = False) -> None:
    """Synthetic data of ``rows`` rows (None: the article data, all strategies, as shipped), no benchmark set."""
    shipped = yaml.safe_load((project / "params.yaml").read_text())
    params = without_benchmark(shipped if rows is None else synthetic_params(shipped, rows, quick))
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", "article data" if rows is None else f"{rows} rows"], project)


class Parser(argparse.ArgumentParser):
    """argparse with its errors in one line (no usage block), as the pipeline's own commands."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def refuse_bad_settings(parser: Parser, sizes, quick: bool = False) -> None:
    """Each size's settings through the pipeline's own ``check`` (in this process, a few seconds),
    before anything runs: a size the pipeline would refuse stops the benchmark now, in one line."""
    sys.path.insert(0, str(ROOT / "src"))  # the sources the copies run, whatever is installed
    from imbalance_lab.pipeline.check import check
    from imbalance_lab.settings.params import (
        PipelineError,
        load,
    )

    try:
        shipped = load(ROOT / "params.yaml")
    except PipelineError as err:
        parser.error(f"{ROOT / 'params.yaml'}: {err}")
    for rows in sizes:
        try:
            check(synthetic_params(shipped, rows, quick))
        except PipelineError as err:
            parser.error(f"--sizes {rows}: the pipeline refuses it: {err}")


def writable_file(parser: Parser, option: str, path: Path) -> None:
    """A file the run can write at its end: refused now rather than after hours of measuring."""
    if path.is_dir() or not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        parser.error(f"{option} {path}: not a file in a folder that exists and is writable")


def outputs_digest(project: Path) -> dict[str, str]:
    """sha256 of every output: reports/ files, and the out hashes recorded in the dvc.lock files."""
    digest = {str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in sorted((project / "reports").rglob("*")) if p.is_file()}
    for lock in LOCKS:
        for name, stage in yaml.safe_load((project / lock).read_text())["stages"].items():
            for out in stage.get("outs", []):
                digest[f"{lock}:{name}:{out['path']}"] = out.get("md5", "")
    return digest


def workspace_digest(project: Path) -> dict[str, str]:
    """sha256 of every file the stages write: data/ (but the user's input) and reports/."""
    files = [p for folder in ("data", "reports") for p in sorted((project / folder).rglob("*"))
             if p.is_file() and p.name != ".gitignore"
             and not p.relative_to(project).as_posix().startswith("data/input/")]
    return {p.relative_to(project).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def profile_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def set_k_neighbors(project: Path, value: int) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["strategies"]["smote"]["k_neighbors"] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


PLAIN = """
import json, os, resource, sys, time
started = time.perf_counter()
from imbalance_lab.pipeline import cli
from imbalance_lab.settings.params import grid_settings, load
params = load()
grid = grid_settings(params)
stages = [["check"], ["generate"], ["split"], *(["resample", name] for name in grid.strategies)]
for name in grid.strategies:
    for classifier in grid.classifiers:
        stages += [["train", name, classifier], ["evaluate", name, classifier]]
stages += [["ceiling"], *(["benchmark", name] for name in params["benchmark"]["datasets"]), ["rank"], ["compare"]]
for argv in stages:
    if cli.main(argv) != 0:
        sys.exit(f"stage {argv} failed")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak}))
"""

FIT_AND_SCORE = """
import json, resource, time
started = time.perf_counter()
import os
os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from imbalance_lab.settings.params import (
    article_settings, classifier_settings, grid_settings, load, source_settings, split_settings, strategy_settings,
    synthetic_settings, tuning_settings)
from imbalance_lab.data.dataset import columns_of, features_and_target
from imbalance_lab.data.sources import load_source
from imbalance_lab.data.split import split
from imbalance_lab.evaluation.metrics import compute_metrics
from imbalance_lab.models.estimators import build_pipeline, fit_model
params = load()
source = source_settings(params)
frame, _ = load_source(source, article_settings(params) if source.source == "article" else None,
                       synthetic_settings(params) if source.source == "synthetic" else None)
train, test = split(frame, split_settings(params))
X, y = features_and_target(train)
X_test, y_test = features_and_target(test)
grid = grid_settings(params)
for name in grid.strategies:
    for classifier in grid.classifiers:
        model = build_pipeline(strategy_settings(params, name), classifier_settings(params, classifier),
                               tuning_settings(params), columns_of(X))
        fit_model(model, X, y)
        compute_metrics(y_test, model.predict_proba(X_test)[:, 1], 0.5)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak}))
"""


def plain(project: Path, script: str) -> dict:
    """Run ``script`` in one fresh Python process inside ``project``; its own figures."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", script], check=False, cwd=project,
                            env={**env(), "PYTHONPATH": str(project / "src")},
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"plain run failed in {project}:\n{result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return {"seconds": round(time.perf_counter() - started, 2), "peak_mb": round(figures["peak_mb"], 1)}


def plain_references(project: Path) -> dict:
    """The plain process, then the bare fit-and-score, one after the other in ``project``."""
    return {"plain": plain(project, PLAIN), "fit_and_score": plain(project, FIT_AND_SCORE),
            "digest": workspace_digest(project)}


def measure(rows: int | None, workdir: Path, concurrent_from: int, quick: bool = False) -> dict:
    label = "article" if rows is None else str(rows)
    print(f"--- {label}", flush=True)
    project = copy_project(workdir / f"pipeline-{label}")
    configure(project, rows, quick)
    references = None
    if rows is not None:
        plain_project = copy_project(workdir / f"plain-{label}")
        configure(plain_project, rows, quick)
        if rows >= concurrent_from:
            references = ThreadPoolExecutor(1).submit(plain_references, plain_project)
    profile = workdir / f"profile-{label}.jsonl"
    settings = yaml.safe_load((project / "params.yaml").read_text())
    result: dict = {"rows": rows or 535, "strategies": len(settings["strategies"]),
                    "classifiers": len(settings["grid"]["classifiers"]), "cv_repeats": settings["cv"]["repeats"]}
    result["cold_seconds"] = round(dvc("repro", cwd=project, profile=profile), 2)
    stages = profile_lines(profile)
    result["stages"] = {line["stage"]: {"seconds": line["seconds"], "peak_mb": line["peak_mb"]} for line in stages}
    result["stage_seconds_sum"] = round(sum(line["seconds"] for line in stages), 2)
    result["peak_mb"] = max(line["peak_mb"] for line in stages)
    result["concurrent_with_plain"] = references is not None
    pipeline_files = workspace_digest(project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "results"], project)
    first = outputs_digest(project)
    result["noop_seconds"] = round(min(dvc("repro", cwd=project) for _ in range(1 if quick else 3)), 2)
    if references is None:  # below --concurrent-from: the same runs warm, each stage forked from the server
        try:
            ready(project)
            result["warm_seconds"] = round(dvc("repro", "--force", cwd=project, warm=True), 2)
            result["identical"] = outputs_digest(project) == first
            set_k_neighbors(project, 3)
            result["warm_one_strategy_seconds"] = round(dvc("repro", cwd=project, warm=True), 2)
        finally:
            stop_server(project)
    if not quick:  # --quick: the warm change above; the cold one takes the cold build's path again
        set_k_neighbors(project, 4)  # last: nothing compares with the committed results after it
        changed = workdir / f"profile-{label}-change.jsonl"
        result["one_strategy_seconds"] = round(dvc("repro", cwd=project, profile=changed), 2)
        result["one_strategy_stages"] = {line["stage"]: line["seconds"] for line in profile_lines(changed)}
    if rows is not None:
        if references is None:
            references = ThreadPoolExecutor(1).submit(plain_references, plain_project)
        reference = references.result()
        result["plain"], result["fit_and_score"] = reference["plain"], reference["fit_and_score"]
        result["ratio"] = round(result["cold_seconds"] / result["plain"]["seconds"], 2)
        result["identical_to_plain"] = reference["digest"] == pipeline_files
        result["differing_from_plain"] = sorted(name for name in reference["digest"].keys() | pipeline_files.keys()
                                                if reference["digest"].get(name) != pipeline_files.get(name))
    print(json.dumps({k: v for k, v in result.items() if k != "stages"}), flush=True)
    if "warm_seconds" in result:
        for kind, cold, warm in (("full", "cold_seconds", "warm_seconds"),
                                 ("one_strategy", "one_strategy_seconds", "warm_one_strategy_seconds")):
            if cold not in result:
                print(f"{kind:13} {'--':>8} cold {result[warm]:8.1f} s warm   (cold: not in --quick)", flush=True)
                continue
            print(f"{kind:13} {result[cold]:8.1f} s cold {result[warm]:8.1f} s warm   warm/cold "
                  f"{result[warm] / result[cold]:.2f}", flush=True)
    return result


NEIGHBOUR_SHAPES = ((100_000, 2), (20_000, 8), (20_000, 20))


def neighbour_searches() -> list[dict]:
    """Seconds of a 4-neighbour self-query (as ENN makes) per search, on uniform data of each shape."""
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(0)
    rows = []
    for count, width in NEIGHBOUR_SHAPES:
        X = rng.random((count, width))
        entry = {"rows": count, "features": width}
        for algorithm in ("kd_tree", "ball_tree", "brute"):
            started = time.perf_counter()
            NearestNeighbors(n_neighbors=4, algorithm=algorithm).fit(X).kneighbors(X)
            entry[algorithm] = round(time.perf_counter() - started, 2)
        print(json.dumps(entry), flush=True)
        rows.append(entry)
    return rows


def start_up_seconds(runs: int = 3) -> dict:
    """Interpreter start-up plus imports per kind of stage (best of ``runs``): the floor of a stage."""
    floors = {}
    for kind, statement in IMPORTS.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", statement], check=True, env=env(), cwd=ROOT)
            times.append(time.perf_counter() - started)
        floors[kind] = round(min(times), 2)
    return floors


def verdicts(results: dict) -> dict:
    """Each target: the figure, the target, met or not."""
    checks = {}
    sizes = results["sizes"]
    floors = results["start_up_seconds"]
    if "article" in results:
        article = results["article"]
        checks["noop_repro_under_1s"] = {
            "value": article["noop_seconds"], "target": TARGETS["noop_seconds"],
            "met": article["noop_seconds"] < TARGETS["noop_seconds"],
            "why": f"importing DVC alone takes {floors['dvc']} s here; the rest is DVC checking "
                   f"{len(article['stages'])} stages' dependencies and params, mostly parsing YAML "
                   f"(params.yaml once per stage, dvc.yaml and dvc.lock twice; in C with ruamel.yaml.clib)"}
        stages = article["one_strategy_stages"]
        checks["article_one_strategy_under_6s"] = {
            "value": article["one_strategy_seconds"], "target": TARGETS["article_one_strategy_seconds"],
            "met": article["one_strategy_seconds"] < TARGETS["article_one_strategy_seconds"],
            "why": f"{len(stages)} stages run ({', '.join(f'{k} {v:.1f} s' for k, v in stages.items())}); each "
                   f"starts Python and imports scikit-learn/imbalanced-learn ({floors['resample/train']} s) or "
                   f"matplotlib too ({floors['evaluate/compare']} s) before its own work; DVC's checks and "
                   f"bookkeeping take the other {article['one_strategy_seconds'] - sum(stages.values()):.1f} s"}
    for rows, target in ((1_000_000, "ratio_1m"), (10_000_000, "ratio_10m")):
        name = f"pipeline_within_{TARGETS[target]}x_plain_at_{rows}"
        if str(rows) not in sizes:
            checks[name] = {"value": None, "target": TARGETS[target], "met": False, "why": "not measured in this run"}
            continue
        entry = sizes[str(rows)]
        checks[name] = {
            "value": entry["ratio"], "target": TARGETS[target], "met": entry["ratio"] <= TARGETS[target],
            "why": f"the pipeline runs {len(entry['stages'])} processes (each starts Python, imports its "
                   f"libraries and reads its inputs from files) and DVC hashes and caches every output; the "
                   f"plain process runs the same stage functions in {entry['plain']['seconds']} s"}
    if "10000000" in sizes:
        peak = sizes["10000000"]["peak_mb"] / 1024
        checks["peak_memory_10m_under_8gb"] = {"value": round(peak, 2), "target": TARGETS["peak_gb_10m"],
                                               "met": peak < TARGETS["peak_gb_10m"]}
    else:
        checks["peak_memory_10m_under_8gb"] = {"value": None, "target": TARGETS["peak_gb_10m"], "met": False,
                                               "why": "not measured in this run"}
    for rows, entry in sizes.items():
        runs = {key: entry[key] for key in ("identical", "identical_to_plain") if key in entry}
        checks[f"byte_identical_at_{rows}"] = {"value": all(runs.values()), "target": True,
                                               "met": all(runs.values()), "runs": runs}
    return checks


def main() -> int:
    parser = Parser(prog="bench/benchmark.py", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=None,
                        help=f"synthetic row counts (default {' '.join(map(str, SIZES))}; with --quick {QUICK_ROWS})")
    parser.add_argument("--no-article", action="store_true", help="skip the article-data measurements")
    parser.add_argument("--no-neighbours", action="store_true", help="skip the neighbour-search comparison")
    parser.add_argument("--concurrent-from", type=int, default=10_000_000,
                        help="from this many rows, run the plain process beside the pipeline")
    parser.add_argument("--update", action="store_true",
                        help="keep the other sizes' (and the article's) figures already in --out")
    parser.add_argument("--quick", action="store_true",
                        help="the smallest settings, to see that it works (no article, no neighbour searches; "
                             "writes only --out)")
    parser.add_argument("--out", type=Path, default=None, help="the JSON file to write (default bench/results.json)")
    options = parser.parse_args()
    quick = options.quick
    sizes = options.sizes if options.sizes is not None else [QUICK_ROWS] if quick else list(SIZES)
    if quick and options.out is None:
        print("--quick: figures printed only (give --out to keep them; bench/results.json is left alone)")
    out = options.out or (None if quick else ROOT / "bench" / "results.json")
    if options.concurrent_from < 1:
        parser.error(f"--concurrent-from {options.concurrent_from}: must be a row count of at least 1")
    if not sizes and (options.no_article or quick):
        parser.error("nothing to measure: give --sizes, or drop --no-article")
    if out is not None:
        writable_file(parser, "--out", out)
    refuse_bad_settings(parser, sizes, quick)
    results: dict = {"machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]}, "sizes": {},
                     "start_up_seconds": start_up_seconds(1 if quick else 3)}
    if not (options.no_neighbours or quick):
        results["neighbour_searches"] = neighbour_searches()
    with tempfile.TemporaryDirectory(prefix="imbalance-bench-") as folder:
        if not (options.no_article or quick):
            results["article"] = measure(None, Path(folder), options.concurrent_from)
        for rows in sizes:
            results["sizes"][str(rows)] = measure(rows, Path(folder), options.concurrent_from, quick)
    if options.update and out is not None and out.exists():
        earlier = json.loads(out.read_text())
        results["sizes"] = {**earlier.get("sizes", {}), **results["sizes"]}
        if "article" not in results and "article" in earlier:
            results["article"] = earlier["article"]
        if "neighbour_searches" not in results and "neighbour_searches" in earlier:
            results["neighbour_searches"] = earlier["neighbour_searches"]
    results["targets"] = verdicts(results)
    if out is not None:
        partial = out.with_name(f".{out.name}.partial")  # no half-written file under the real name
        partial.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        partial.replace(out)
    print(f"\n{'target':45} {'value':>10} {'target':>8}  met")
    for name, check in results["targets"].items():
        print(f"{name:45} {check['value']!s:>10} {check['target']!s:>8}  {'yes' if check['met'] else 'NO'}")
        if not check["met"] and check.get("why"):
            print(f"    why: {check['why']}")
    print(f"\nwritten: {out}" if out is not None else "\nwritten: nothing (--quick without --out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
