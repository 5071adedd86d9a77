"""Every file the pipeline reads or writes, relative to the project root.

The project root is the nearest folder at or above the working directory that holds
``dvc.yaml`` (DVC runs every stage there); the command line moves there first, so a
stage also works when started from a subfolder. ``dvc.yaml`` declares the same paths,
and a test holds the two to each other exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

PARAMS = Path("params.yaml")
INPUT = Path("data/input")  # the user's own data files (`dvc add`)
BENCHMARK_INPUT = INPUT / "benchmark"  # benchmark sets read from files (every benchmark stage depends on it)
# The data stages' outputs, kept in DVC's cache.
CHECKED, RAW = Path("data/params.checked"), Path("data/raw.parquet")
TRAIN, TEST = Path("data/split/train.parquet"), Path("data/split/test.parquet")
# Reports, kept in git.
REPORTS = Path("reports")
DATA_JSON, CEILING_JSON, CV_SCORES_JSON = Path("reports/data.json"), Path("reports/ceiling.json"), \
    Path("reports/cv_scores.json")
SUMMARY_JSON, SUMMARY_MD, INDEX_HTML = Path("reports/summary.json"), Path("reports/summary.md"), \
    Path("reports/index.html")
# Every cell's test-split curves in one file each (a `strategy` column naming the cell), overlaid by `dvc plots`.
OVERLAYS = {"pr": Path("reports/precision_recall.json"), "roc": Path("reports/roc.json")}
# The comparison's pictures, by their name inside reports/ (the HTML report embeds them by it).
COMPARE_PNGS = {name: REPORTS / name for name in (
    "plots/boundaries.png", "plots/cv_scores.png", "plots/curves.png", "plots/calibration.png")}

# The benchmark across data sets (benchmark/dvc.yaml), in git: one file of per-fold scores per data set of
# benchmark.datasets ({} is its name), then the ranking over them, its metrics and one CD diagram per metric.
BENCHMARK = Path("reports/benchmark")
BENCHMARK_SETS = BENCHMARK / "sets"
BENCHMARK_SUMMARY, BENCHMARK_METRICS = BENCHMARK / "summary.json", BENCHMARK / "metrics.json"


def benchmark_set_file(name: str) -> Path:
    """One data set's scores, e.g. ``benchmark_set_file("default")``."""
    return BENCHMARK_SETS / f"{name}.json"


def benchmark_plot(metric: str) -> Path:
    """One metric's critical-difference diagram."""
    return BENCHMARK / "plots" / f"cd_{metric}.png"

# New rows to score (`score.inputs` names files here, `dvc add` tracks them) and their scores, by the same name.
SCORE_INPUTS, SCORES = Path("data/to_score"), Path("data/scores")
# Each strategy's files (whatever the classifier): the template's {} is the strategy's name.
STRATEGY_FILES = {
    "resampled": "data/resampled/{}.parquet",
    "resampled_info": "data/resampled/{}.json",
    "resampled_png": "reports/plots/resampled/{}.png",
}
# Each cell's files: the template's {} is the cell's name, <strategy>-<classifier> (params.cell_name).
CELL_FILES = {
    "model": "data/models/{}.json",
    "coefficients": "reports/models/{}.json",
    "cv": "reports/cv/{}.json",
    "metrics": "reports/metrics/{}.json",
    "headline": "reports/headline/{}.json",  # a few of the metrics, for `dvc metrics show reports/headline`
    "explain": "reports/explain/{}.json",  # permutation importance and calibration curve on the test split
    "pr": "reports/curves/pr/{}.json",
    "roc": "reports/curves/roc/{}.json",
    "boundary_png": "reports/plots/boundary/{}.png",
    "calibration_png": "reports/plots/calibration/{}.png",
    "dependence_png": "reports/plots/dependence/{}.png",
}


def strategy_file(kind: str, strategy: str) -> Path:
    """One strategy's file of the given kind, e.g. ``strategy_file("resampled", "smote")``."""
    return Path(STRATEGY_FILES[kind].format(strategy))


def cell_file(kind: str, cell: str) -> Path:
    """One cell's file of the given kind, e.g. ``cell_file("model", "smote-hgb")``."""
    return Path(CELL_FILES[kind].format(cell))


def outside_grid(strategies, cells, root: Path = Path(".")) -> list[Path]:
    """The strategy and cell files (STRATEGY_FILES, CELL_FILES) under ``root`` whose strategy or cell is not in
    the grid: left by a larger grid (an experiment discarded with `git checkout`, a classifier taken out). The
    compare stage depends on their folders, and DVC counts every file of a folder. Only names of the form
    the pipeline writes (``smote``, ``smote-hgb``) are listed; hidden files (a stage's temporary output) never."""
    found = []
    for templates, names, form in ((STRATEGY_FILES, set(strategies), re.compile(r"[a-z0-9_]+")),
                                   (CELL_FILES, set(cells), re.compile(r"[a-z0-9_]+-[a-z0-9_]+"))):
        for template in templates.values():
            folder, pattern = template.rsplit("/", 1)
            prefix, suffix = pattern.split("{}")
            for path in sorted((root / folder).glob(f"{prefix}*{suffix}")):
                name = path.name[len(prefix):len(path.name) - len(suffix)]
                if form.fullmatch(name) and name not in names and (path.is_file() or path.is_symlink()):
                    found.append(path)
    return found


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (the working directory) holding dvc.yaml, else ``start``."""
    start = (start or Path.cwd()).resolve()
    return next((folder for folder in (start, *start.parents) if (folder / "dvc.yaml").is_file()), start)
