"""One metrics dict from (y_true, y_score, threshold); the scorers threshold tuning uses; cross-validation.

Calibration, curve points and permutation importances are in :mod:`.diagnostics` (the evaluate stage's alone).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import ConvergenceWarning

from imbalance_lab.settings.params import ConfigError

METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "balanced_accuracy",
    "roc_auc",
    "average_precision",
    "mcc",
    "g_mean",
    "brier",
    "log_loss",
)
# The article's goals: few enough columns that `dvc metrics show reports/headline` fits a terminal.
HEADLINE_METRICS = ("f1", "accuracy")
# The confusion counts compute_metrics adds after the metrics, in this order.
COUNTS = ("tp", "fp", "tn", "fn")
# A goal on these is a maximum. cost_per_1000 is not in METRICS: it exists only when costs are given.
LOWER_IS_BETTER = frozenset({"brier", "log_loss", "cost_per_1000"})


def predict_labels(y_score, threshold: float) -> np.ndarray:
    """1 where the predicted probability of the positive class is at or above the threshold."""
    return (np.asarray(y_score) >= threshold).astype(int)


def compute_metrics(y_true, y_score, threshold: float, costs=None, amounts=None) -> dict:
    """Threshold metrics, ranking metrics and confusion counts for the positive class 1.

    Undefined ratios (no predicted or no actual positives) count as 0, as in
    scikit-learn with ``zero_division=0``; ranking metrics are None when
    ``y_true`` holds one class only. With ``costs`` ({"missed_default", "false_alarm"})
    also "cost_per_1000", the expected cost of acting on the labels (see expected_cost;
    ``amounts``, one per row, weigh each missed default, and are ignored without costs).
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    y_pred = predict_labels(y_score, threshold)
    # The threshold metrics from the confusion counts, as scikit-learn defines them: its metric
    # functions validate their input at about 3 ms a call, and cross-validation makes 50 calls a cell.
    tn, fp, fn, tp = confusion_counts(y_true, y_pred)
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    mcc_denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    both_classes = tp + fn > 0 and tn + fp > 0
    result = {
        "accuracy": (tp + tn) / len(y_true),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": recall,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "balanced_accuracy": (recall + specificity) / 2,
        "roc_auc": skm.roc_auc_score(y_true, y_score) if both_classes else None,
        "average_precision": skm.average_precision_score(y_true, y_score) if both_classes else None,
        "mcc": (tp * tn - fp * fn) / mcc_denominator if mcc_denominator else 0.0,
        "g_mean": math.sqrt(recall * specificity),
        "brier": float(np.mean((y_true - y_score) ** 2)),
        "log_loss": skm.log_loss(y_true, y_score, labels=[0, 1]),
    }
    if costs is not None:
        result["cost_per_1000"] = expected_cost(y_true, y_pred, missed_default=costs["missed_default"],
                                                false_alarm=costs["false_alarm"], amounts=amounts)
    result |= dict(zip(COUNTS, (tp, fp, tn, fn), strict=True))
    return {key: (float(value) if isinstance(value, (float, np.floating)) else value) for key, value in result.items()}


def confusion_counts(y_true, y_pred) -> tuple[int, int, int, int]:
    """(tn, fp, fn, tp) of the positive class (any true value), as sklearn.metrics.confusion_matrix(...).ravel()
    gives them for 0/1 labels, without its input checks (about 3 ms a call; threshold tuning makes 100 a fold)."""
    truth, predicted = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    tn, fp, fn, tp = np.bincount(2 * truth.astype(np.int64) + predicted, minlength=4)
    return int(tn), int(fp), int(fn), int(tp)


def cost_terms(costs) -> dict[str, float]:
    """The two costs of a decision (a CostSettings) as expected_cost and cost_tuned_threshold take them."""
    return {"missed_default": costs.missed_default, "false_alarm": costs.false_alarm}


def expected_cost(y_true, y_pred, *, missed_default: float, false_alarm: float, amounts=None) -> float:
    """Expected cost per 1,000 rows of acting on the labels ``y_pred``.

    Each missed default (a false negative) costs ``missed_default`` times its row's amount
    (``amounts``, one per row; 1 each without), each false alarm (false positive) costs
    ``false_alarm``. Plain numpy: threshold tuning calls this 100 times per fold.
    """
    y_true, y_pred = np.asarray(y_true) == 1, np.asarray(y_pred) == 1
    missed = y_true & ~y_pred
    missed_total = np.sum(missed) if amounts is None else np.sum(np.asarray(amounts, dtype=float)[missed])
    false_alarms = np.sum(~y_true & y_pred)
    return float(1000 * (missed_default * missed_total + false_alarm * false_alarms) / len(y_true))


def correct_prior_shift(y_score, true_rate: float, fitted_rate: float) -> np.ndarray:
    """Probabilities of a model fitted on rows whose positive share was ``fitted_rate`` (after
    resampling), moved to the real share ``true_rate``: odds x (true odds / fitted odds)
    (Bayes' rule for a prior shift: Elkan 2001, Saerens et al. 2002). Ranking is unchanged."""
    for name, rate in (("true_rate", true_rate), ("fitted_rate", fitted_rate)):
        if not 0 < rate < 1:
            raise ValueError(f"{name} must be a share strictly between 0 and 1, got {rate!r}")
    p = np.asarray(y_score, dtype=float)
    ratio = (true_rate / (1 - true_rate)) / (fitted_rate / (1 - fitted_rate))
    # p r / (p r + 1 - p) is odds r / (1 + odds r) without dividing by 1 - p: 0 and 1 stay 0 and 1.
    return p * ratio / (p * ratio + (1 - p))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


# The same scores as scikit-learn's functions (zero_division=0) from one confusion count:
# threshold tuning evaluates them at 100 thresholds per fold, where sklearn's input
# checking dominates the run time (2.5 s per tuned fit instead of about 0.1 s).
def _f1(y_true, y_pred):
    _, fp, fn, tp = confusion_counts(y_true, y_pred)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _precision(y_true, y_pred):
    _, fp, _, tp = confusion_counts(y_true, y_pred)
    return _ratio(tp, tp + fp)


def _recall(y_true, y_pred):
    _, _, fn, tp = confusion_counts(y_true, y_pred)
    return _ratio(tp, tp + fn)


def _accuracy(y_true, y_pred):
    tn, fp, fn, tp = confusion_counts(y_true, y_pred)
    return _ratio(tp + tn, tp + fp + tn + fn)


def _balanced_accuracy(y_true, y_pred):
    """Mean recall over the classes present in y_true, as scikit-learn computes it."""
    tn, fp, fn, tp = confusion_counts(y_true, y_pred)
    recalls = [_ratio(tp, tp + fn)] * (tp + fn > 0) + [_ratio(tn, tn + fp)] * (tn + fp > 0)
    return sum(recalls) / len(recalls) if recalls else 0.0


def _mcc(y_true, y_pred):
    tn, fp, fn, tp = confusion_counts(y_true, y_pred)
    return _ratio(tp * tn - fp * fn, math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))


FAST_SCORES = {
    "f1": _f1, "precision": _precision, "recall": _recall, "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy, "matthews_corrcoef": _mcc,
}


def threshold_scorer(name: str):
    """A scorer for TunedThresholdClassifierCV: a fast equivalent where one exists, else sklearn's."""
    from sklearn.metrics import make_scorer

    return make_scorer(FAST_SCORES[name]) if name in FAST_SCORES else name


def _negative_cost(y_true, y_pred, *, missed_default: float, false_alarm: float) -> float:
    return -expected_cost(y_true, y_pred, missed_default=missed_default, false_alarm=false_alarm)


def _negative_cost_per_row(y_true, y_pred, amounts, *, missed_default: float, false_alarm: float) -> float:
    return -expected_cost(y_true, y_pred, missed_default=missed_default, false_alarm=false_alarm, amounts=amounts)


def cost_scorer(missed_default: float, false_alarm: float, per_row: bool = False):
    """A scorer whose score is minus the expected cost per 1,000 rows (greater is better) of
    ``predict``'s labels, for TunedThresholdClassifierCV.

    ``per_row``: each missed default also weighs by its row's amount, passed to the scorer as
    the metadata ``amounts`` (requested here; passing it needs metadata routing enabled,
    e.g. inside ``sklearn.config_context(enable_metadata_routing=True)``).
    """
    from sklearn import config_context
    from sklearn.metrics import make_scorer

    terms = {"missed_default": missed_default, "false_alarm": false_alarm}
    if not per_row:
        return make_scorer(_negative_cost, response_method="predict", **terms)
    scorer = make_scorer(_negative_cost_per_row, response_method="predict", **terms)
    with config_context(enable_metadata_routing=True):  # set_score_request exists only with routing on
        return scorer.set_score_request(amounts=True)


def cost_tuned_threshold(estimator, X, y, *, missed_default: float, false_alarm: float, amounts=None,
                         folds: int = 5, seed: int = 0) -> dict:
    """The probability threshold with the lowest expected cost, found on stratified inner folds
    by TunedThresholdClassifierCV, and that cost per 1,000 rows (its mean over the folds).

    ``estimator`` is unfitted and left so (it is cloned). A threshold wrapper around it is
    taken off: it changes ``predict`` only, never the probabilities tuned here. ``amounts``
    (one per row of X) weigh each missed default, and reach only the cost scorer, by metadata
    routing: the pipeline's steps do not ask for them.
    TunedThresholdClassifierCV also refits ``estimator`` on all rows: refit=False is refused
    with more than one fold.
    """
    from sklearn import config_context
    from sklearn.model_selection import FixedThresholdClassifier, StratifiedKFold, TunedThresholdClassifierCV

    if isinstance(estimator, (TunedThresholdClassifierCV, FixedThresholdClassifier)):
        estimator = estimator.estimator
    tuner = TunedThresholdClassifierCV(
        estimator, scoring=cost_scorer(missed_default, false_alarm, per_row=amounts is not None),
        response_method="predict_proba", cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        store_cv_results=True,
    )
    if amounts is None:
        tuner.fit(X, y)
    else:
        with config_context(enable_metadata_routing=True):
            tuner.fit(X, y, amounts=np.asarray(amounts, dtype=float))
    return {"threshold": float(tuner.best_threshold_), "cv_cost_per_1000": float(-tuner.best_score_)}


def _fold_scores(estimator, X, y, fixed_threshold: float, costs=None, amounts=None) -> dict:
    """Every metric on one validation fold (NaN where undefined); the cost too with ``costs``."""
    threshold = getattr(estimator, "best_threshold_", fixed_threshold)
    scores = compute_metrics(y, estimator.predict_proba(X)[:, 1], threshold, costs, amounts)
    scores["threshold"] = float(threshold)
    return {key: (math.nan if value is None else value) for key, value in scores.items()}


def stopped_early(caught) -> bool:
    """Whether a recorded warning says a solver stopped before converging. The Newton solver's
    switch to lbfgs on a nearly separable fold is not one: lbfgs then finishes the fit."""
    return any(issubclass(w.category, ConvergenceWarning) and "resort to lbfgs" not in str(w.message)
               for w in caught)


def _fit_and_score(estimator, X, y, train, test, fixed_threshold: float, costs=None,
                   amounts=None) -> tuple[dict, bool]:
    """One fold, as cross_validate runs it: fit on the training rows, score the validation rows.

    Also says whether a solver stopped early. The warnings are recorded here, in the process
    that fits (a joblib or Dask worker): the caller's warning filters never see a worker's.
    Other warnings are passed on. Work nested in the fit (neighbour queries, the threshold
    tuning's inner folds) stays in this thread: on Dask it would go to other workers, and this
    worker would start another fold meanwhile, in a second thread sharing the process's
    warning state (catch_warnings is not thread-safe: the two folds would lose each other's).
    """
    from joblib import parallel_config
    from sklearn.utils import _safe_indexing

    with parallel_config(backend="sequential"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train))
    for warning in caught:
        if not issubclass(warning.category, ConvergenceWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    scores = _fold_scores(estimator, _safe_indexing(X, test), _safe_indexing(y, test), fixed_threshold, costs,
                          None if amounts is None else amounts[test])
    return scores, stopped_early(caught)


def cv_splitter(folds: int, repeats: int, seed: int):
    """The repeated stratified k-fold every strategy is cross-validated on."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    return RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)


def cross_validated_metrics(estimator, X, y, *, folds: int, repeats: int, seed: int, n_jobs: int,
                            fixed_threshold: float, progress=None, costs=None,
                            amounts=None) -> tuple[dict[str, list], int]:
    """Every metric on each validation fold of a repeated stratified k-fold, and how many
    folds' fits stopped before converging.

    ``estimator`` is the whole strategy (sampler inside an imblearn Pipeline), so
    each training fold is resampled and each validation fold is scored as it is.
    The folds depend only on (folds, repeats, seed) and y, so two strategies with
    the same settings are scored on the same folds and can be compared pair-wise.
    The scores are sklearn's ``cross_validate``'s with the same scorer; the folds run
    on joblib's active backend (local processes or Dask), and ``progress(done, total)``,
    if given, is called here after each fold, in fold order. The count of early stops is
    exact when each worker process fits one fold at a time, as compute_backend's cluster
    does; folds fitted in threads of one process (a multi-threaded Dask worker) share its
    warning state and may be missed.
    With ``costs`` ({"missed_default", "false_alarm"}) each fold also has its cost_per_1000,
    each missed default weighed by ``amounts`` (one per row of X; each fold takes its own).
    """
    from sklearn.base import clone
    from sklearn.utils.parallel import Parallel, delayed
    from sklearn.utils.validation import indexable

    X, y = indexable(X, y)
    if amounts is not None:
        amounts = np.asarray(amounts, dtype=float)
        if amounts.shape != (len(y),):
            raise ValueError(f"amounts must hold one number per row ({len(y)}), got shape {amounts.shape}")
    splitter = cv_splitter(folds, repeats, seed)
    total = splitter.get_n_splits()
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_and_score)(clone(estimator), X, y, train, test, fixed_threshold, costs, amounts)
        for train, test in splitter.split(X, y)
    )
    per_fold, stopped = [], 0
    for done, (scores, early) in enumerate(results, start=1):
        per_fold.append(scores)
        stopped += early
        if progress is not None:
            progress(done, total)
    # As cross_validate aggregates: one array per metric, back to plain Python values.
    return {key: np.asarray([scores[key] for scores in per_fold]).tolist() for key in per_fold[0]}, stopped



def _fold_or_error(estimator, X, y, train, test, fixed_threshold: float, costs) -> tuple[dict, bool] | ValueError:
    """One fold of :func:`cross_validated_cells`: its scores, or the ValueError its fit raised (a sampler or
    classifier that cannot work on these rows), returned so that the other tasks still run."""
    try:
        return _fit_and_score(estimator, X, y, train, test, fixed_threshold, costs)
    except ValueError as err:
        return err


def cross_validated_cells(estimators: Mapping[str, Any], X, y, *, folds: int, repeats: int, seed: int,
                          n_jobs: int | None, fixed_threshold: float, costs=None,
                          progress=None) -> dict[str, tuple[dict[str, list], int] | ValueError]:
    """:func:`cross_validated_metrics` for several estimators on the same folds, run as one flat list of
    (estimator, fold) tasks, so that joblib's backend (local processes or a Dask cluster) can take them all at
    once: {name: (per-fold scores, early stops)}, or {name: the first ValueError of its folds} for an estimator
    that could not be fitted on some fold (the others are still scored). ``progress(name, done, total)`` is
    called as each estimator's last fold comes back."""
    from sklearn.base import clone
    from sklearn.utils.parallel import Parallel, delayed
    from sklearn.utils.validation import indexable

    X, y = indexable(X, y)
    splits = list(cv_splitter(folds, repeats, seed).split(X, y))
    tasks = [(name, train, test) for name in estimators for train, test in splits]
    # max_nbytes=None: the rows go to the workers pickled, not memory-mapped from a temporary folder, which a stage
    # forked by the warm server (it ends with os._exit) would leave behind in /dev/shm
    results = Parallel(n_jobs=n_jobs, return_as="generator", max_nbytes=None)(
        delayed(_fold_or_error)(clone(estimators[name]), X, y, train, test, fixed_threshold, costs)
        for name, train, test in tasks)
    folds_of: dict[str, list] = {name: [] for name in estimators}
    for done, ((name, _, _), result) in enumerate(zip(tasks, results, strict=True), start=1):
        folds_of[name].append(result)
        if progress is not None and len(folds_of[name]) == len(splits):
            progress(name, done, len(tasks))
    scored: dict[str, tuple[dict[str, list], int] | ValueError] = {}
    for name, fold_results in folds_of.items():
        error = next((result for result in fold_results if isinstance(result, ValueError)), None)
        if error is not None:
            scored[name] = error
            continue
        per_fold = [scores for scores, _ in fold_results]
        scored[name] = ({key: np.asarray([scores[key] for scores in per_fold]).tolist() for key in per_fold[0]},
                        sum(early for _, early in fold_results))
    return scored

@contextmanager
def compute_backend(backend: str = "local", scheduler: str | None = None):
    """Run joblib work inside the block locally, or on a Dask cluster (``backend="dask"``).

    With a ``scheduler`` address the work goes to that running cluster; without one a
    LocalCluster of one single-threaded worker process per core is started for the block.
    Yields the number of joblib jobs to ask for: None (the caller's choice) locally, -1
    (every worker) on Dask.
    """
    if backend == "local":
        yield None
        return
    try:
        import joblib
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "params.yaml: 'compute.backend' is dask, but dask.distributed is not installed; install it with "
            "pip install -c requirements.lock -e '.[dask]'"
        ) from None
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="5s")
        else:
            cluster = LocalCluster(threads_per_worker=1, processes=True, dashboard_address=":0")
            client = Client(cluster)
    except OSError as err:
        raise ConfigError(
            f"params.yaml: 'compute.scheduler' is {scheduler!r}, but no Dask scheduler answers there ({err}); "
            "start the cluster or fix the address"
        ) from None
    try:
        with joblib.parallel_backend("dask"):
            yield -1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def mean_and_sd(per_fold: dict[str, list]) -> dict[str, dict]:
    """Mean and sample standard deviation of each metric over the folds (None if undefined)."""
    summary: dict[str, dict] = {}
    for key, scores in per_fold.items():
        values = np.asarray(scores, dtype=float)
        if np.isnan(values).any():
            summary[key] = {"mean": None, "sd": None}
        else:
            summary[key] = {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
    return summary
