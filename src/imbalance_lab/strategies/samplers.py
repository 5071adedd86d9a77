"""Strategy name -> imbalanced-learn sampler; resampling the training split; telling a sampler's failure from a bug.

With categorical columns the SMOTE family switches to SMOTENC (see :func:`split_for_categories`), which
interpolates numbers and votes categories. The article's own sampler is in :mod:`.knn_smote`, the neighbour
searches in :mod:`.neighbours`.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from imblearn.over_sampling import SMOTE, SMOTENC
from sklearn.base import clone

from imbalance_lab.data.dataset import class_counts
from imbalance_lab.settings.params import ConfigError, StrategySettings, build_estimator
from imbalance_lab.strategies.knn_smote import KNNFilterSMOTE, SamplerError
from imbalance_lab.strategies.neighbours import neighbour_count

NO_SAMPLER = "none"


def sampler_classes() -> dict[str, type]:
    """Every imbalanced-learn sampler by class name, plus this project's own."""
    import imblearn.combine
    import imblearn.over_sampling
    import imblearn.under_sampling

    classes = {
        name: getattr(module, name)
        for module in (imblearn.over_sampling, imblearn.under_sampling, imblearn.combine)
        for name in module.__all__
    }
    classes[KNNFilterSMOTE.__name__] = KNNFilterSMOTE
    return classes


def build_sampler(strategy: StrategySettings):
    """The configured sampler, or None for ``sampler: none``; settings are validated."""
    key = f"strategies.{strategy.name}"
    if strategy.sampler == NO_SAMPLER:
        if strategy.options:
            raise ConfigError(
                f"params.yaml: '{key}' uses sampler 'none', which takes no settings; "
                f"remove {', '.join(sorted(strategy.options))}"
            )
        return None
    classes = sampler_classes()
    if strategy.sampler not in classes:
        raise ConfigError(
            f"params.yaml: '{key}.sampler' is '{strategy.sampler}', which is not a known sampler; "
            f"use 'none' or one of: {', '.join(sorted(classes))}"
        )
    return build_estimator(classes[strategy.sampler], seeded(classes[strategy.sampler], strategy), key)


def seeded(cls: type, strategy: StrategySettings, settings=None) -> dict:
    """``settings`` (the strategy's options), with random_state set to the global seed where ``cls``
    takes one and the strategy gives none: an unseeded sampler would differ on every run."""
    settings = dict(strategy.options if settings is None else settings)
    if strategy.seed is not None and "random_state" in cls().get_params(deep=False):
        settings.setdefault("random_state", strategy.seed)
    return settings


def split_for_categories(sampler, columns, key: str) -> tuple[list, list]:
    """The samplers to run before one-hot encoding (they see category labels) and after it.

    SMOTE becomes SMOTENC (SMOTEN when every column is categorical); SMOTEENN and SMOTETomek
    become SMOTENC before encoding and their cleaning step after it; KNNFilterSMOTE is told
    which columns are categorical. Under-samplers only pick rows, so they run on the
    encoded numbers. Over-samplers without a categorical variant are refused: they would
    make rows that are 0.3 of one category and 0.7 of another.
    """
    if sampler is None:
        return [], []
    if not columns.categorical:
        return [sampler], []
    from imblearn.combine import SMOTEENN, SMOTETomek
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.under_sampling import ClusterCentroids, EditedNearestNeighbours, TomekLinks
    from imblearn.under_sampling.base import BaseCleaningSampler, BaseUnderSampler

    positions = list(range(len(columns.numeric), len(columns.numeric) + len(columns.categorical)))
    if type(sampler) is SMOTE:
        return [_categorical_smote(sampler, positions, bool(columns.numeric))], []
    if isinstance(sampler, (SMOTEENN, SMOTETomek)):
        smote = sampler.smote or SMOTE(sampling_strategy=sampler.sampling_strategy, random_state=sampler.random_state)
        if isinstance(sampler, SMOTEENN):
            cleaner = sampler.enn or EditedNearestNeighbours(sampling_strategy="all")
        else:
            cleaner = sampler.tomek or TomekLinks(sampling_strategy="all")
        return [_categorical_smote(smote, positions, bool(columns.numeric))], [cleaner]
    if isinstance(sampler, KNNFilterSMOTE):
        return [sampler.set_params(categorical_features=positions)], []
    if isinstance(sampler, RandomOverSampler):
        return [sampler], []
    if isinstance(sampler, (BaseUnderSampler, BaseCleaningSampler)) and not isinstance(sampler, ClusterCentroids):
        return [], [sampler]
    raise ConfigError(
        f"params.yaml: '{key}.sampler' {type(sampler).__name__} cannot handle the categorical columns "
        f"{', '.join(columns.categorical)}; use SMOTE (it becomes SMOTENC), SMOTEENN, SMOTETomek, KNNFilterSMOTE, "
        "RandomOverSampler or an under-sampler, or leave those columns out of data.features"
    )


def _categorical_smote(smote, positions: list[int], numeric: bool):
    """``smote``'s settings as SMOTENC over the categorical ``positions`` (SMOTEN when no column is numeric)."""
    from imblearn.over_sampling import SMOTEN

    neighbours = smote.k_neighbors
    if hasattr(neighbours, "kneighbors"):  # SMOTENC searches one-hot sparse columns: trees cannot
        neighbours = clone(neighbours).set_params(algorithm="brute")
    settings = {"sampling_strategy": smote.sampling_strategy, "random_state": smote.random_state,
                "k_neighbors": neighbours}
    return SMOTENC(categorical_features=positions, **settings) if numeric else SMOTEN(**settings)


def strategy_pipeline(estimator):
    """The strategy's Pipeline inside its unfitted wrappers: TunedThresholdClassifierCV, CalibratedClassifierCV,
    or the one around the other (a calibrated, threshold-tuned strategy)."""
    while not hasattr(estimator, "steps") and hasattr(estimator, "estimator"):
        estimator = estimator.estimator
    return estimator


def inner_splitters(estimator) -> list:
    """The cross-validation splitters of the wrappers around the strategy's Pipeline, outermost first: each
    fits what it wraps on its training folds (the threshold tuning's, then the calibration's)."""
    splitters = []
    while not hasattr(estimator, "steps") and hasattr(estimator, "estimator"):
        if getattr(estimator, "cv", None) is not None:
            splitters.append(estimator.cv)
        estimator = estimator.estimator
    return splitters


def pipeline_samplers(estimator) -> list:
    """The samplers of a strategy's (possibly threshold-tuned and/or calibrated) pipeline, in order."""
    return [step for name, step in strategy_pipeline(estimator).steps if name.startswith("sampler")]


def check_class_sizes(sampler, y, key: str, rows: str = "the training split") -> None:
    """Fail early, with the fix, when a neighbour count exceeds what the training rows allow."""
    counts = class_counts(y)
    params = {name: neighbour_count(value) for name, value in sampler.get_params(deep=False).items()
              if name in ("k_neighbors", "n_neighbors") and value is not None}
    k = params.get("k_neighbors")
    if k is not None:
        smallest = min(counts.values())
        if smallest < k + 1:
            raise ConfigError(
                f"params.yaml: '{key}.k_neighbors' = {k} needs at least {k + 1} rows in every class it "
                f"grows, but {rows} has {counts}; set k_neighbors to at most {max(smallest - 1, 1)}"
            )
    n = params.get("n_neighbors")
    if n is not None and len(y) <= n:
        raise ConfigError(
            f"params.yaml: '{key}.n_neighbors' = {n} needs more than {n} training rows, but {rows} has "
            f"{len(y)}; lower n_neighbors"
        )


def check_fold_sizes(counts: dict[str, int], folds: int, estimators: dict, tuning_folds: int | None) -> None:
    """Fail before any fit when cross-validation cannot work on a training split with these class
    counts: a fold without a row of some class, a sampler's neighbours or the threshold tuning's
    inner folds larger than a cross-validation training fold holds."""
    label, smallest = min(counts.items(), key=lambda item: item[1])
    if folds > smallest:
        raise ConfigError(
            f"params.yaml: 'cv.folds' is {folds}, but the training split has only {smallest} rows of class {label}, "
            f"so some folds would hold none; use at most {smallest} folds"
        )
    fold_counts = {name: count - -(-count // folds) for name, count in counts.items()}  # the smallest training fold
    fold_labels = np.repeat([int(name) for name in fold_counts], list(fold_counts.values()))
    for name, estimator in estimators.items():
        key = f"strategies.{name}"
        for sampler in pipeline_samplers(estimator):
            check_class_sizes(sampler, fold_labels, key, rows=f"a cross-validation training fold ({folds} folds)")
        if tuning_folds is not None and hasattr(estimator, "estimator") and tuning_folds > min(fold_counts.values()):
            raise ConfigError(
                f"params.yaml: 'threshold_tuning.folds' is {tuning_folds}, but a cross-validation training fold "
                f"({folds} folds) has only {min(fold_counts.values())} rows of its smallest class ({key} tunes its "
                f"threshold inside each fold); lower threshold_tuning.folds or cv.folds"
            )


def fit_resample(sampler, X, y, context: str):
    """``sampler.fit_resample(X, y)``; a ValueError it raises (it cannot work on these rows) becomes
    a SamplerError whose message starts with ``context``."""
    try:
        return sampler.fit_resample(X, y)
    except ValueError as err:
        raise SamplerError(f"{context}: {err}") from None


def resample(X, y, sampler, key: str, scale: bool = False):
    """Resample (X, y) with ``sampler`` (None: unchanged); returns X, y and notes.

    With ``scale`` the sampler works on standardised features, as it does inside
    the strategy's pipeline, and the rows come back in the original units.
    """
    if sampler is None:
        return X, y, []
    check_class_sizes(sampler, y, key)
    scaler = None
    if scale:
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().set_output(transform="pandas").fit(X)
        X = scaler.transform(X)
    context = (f"params.yaml: '{key}': {type(sampler).__name__} cannot resample the training split "
               f"(class counts {class_counts(y)})")
    X_res, y_res = fit_resample(sampler, X, y, context)
    if scaler is not None:
        X_res = scaler.inverse_transform(X_res)
    return X_res, y_res, list(getattr(sampler, "notes_", []))


def resample_prepared(pipeline, X, y, key: str):
    """The rows a prepared pipeline (see model.build_pipeline) fits its model on, as features.

    Runs ``prepare``, the samplers before ``encode``, then those after it as ``fit`` does;
    rows that under-samplers keep after encoding are taken back to their feature values
    (``sample_indices_``), numbers are put back in their original units and categories
    back to the data's categories. Returns X, y and the samplers' notes.
    """
    steps = dict(pipeline.steps)
    names = [name for name, _ in pipeline.steps]
    prepare = clone(steps["prepare"])
    rows = prepare.fit_transform(X)
    labels, notes = np.asarray(y), []
    context = f"params.yaml: '{key}': cannot resample the training split (class counts {class_counts(y)})"
    for name in names:
        if not name.startswith("sampler"):
            continue
        sampler = steps[name]
        check_class_sizes(sampler, labels, key)
        if names.index(name) < names.index("encode"):
            rows, labels = fit_resample(sampler, rows, labels, context)
        else:
            encoded = clone(steps["encode"]).fit_transform(rows)
            _, labels = fit_resample(sampler, encoded, labels, context)
            rows = rows.iloc[sampler.sample_indices_]
        notes += list(getattr(sampler, "notes_", []))
    return _in_feature_units(rows.reset_index(drop=True), prepare, X), np.asarray(labels), notes


def _in_feature_units(rows, prepare, X):
    """Resampled ``rows`` as the features ``X`` hold them: numbers unscaled, categories as X's categories."""
    import pandas as pd

    numeric = prepare.named_transformers_["numeric"]
    if hasattr(numeric, "named_steps") and "scale" in numeric.named_steps:
        columns = list(numeric.feature_names_in_)
        rows[columns] = numeric.named_steps["scale"].inverse_transform(rows[columns].to_numpy(dtype=float))
    for column in X.columns:
        if isinstance(X[column].dtype, pd.CategoricalDtype):
            rows[column] = pd.Categorical(rows[column].astype(str), categories=X[column].cat.categories)
        else:
            rows[column] = rows[column].astype(float)
    return rows[list(X.columns)]


# --- telling a sampler that cannot work on a training fold from a bug -------------------------------
#
# Inside a strategy's pipeline imbalanced-learn calls the samplers, so their ValueErrors (too few rows
# of a class for the neighbours, a sampling ratio the class counts do not allow, ...) and the model's
# (a sampler emptied a class) reach the caller of fit or cross-validation among every other ValueError.
# A ValueError the samplers reproduce on the same rows is the data meeting the settings; any other is a bug.


def sampler_failure(estimator, X, y, splits=()) -> str | None:
    """Why the strategy's samplers cannot resample (X, y) or a training fold of ``splits``, or None.

    Replays the steps before the model as the pipeline's fit runs them, on the same rows and,
    for a threshold-tuned or calibrated strategy, on the wrappers' inner training folds too (for one
    that is both, the calibration's folds within each of the tuning's).
    """
    from sklearn.model_selection import check_cv
    from sklearn.utils import _safe_indexing

    if not pipeline_samplers(estimator):
        return None
    pipeline = strategy_pipeline(estimator)
    for rows in [np.arange(len(y)), *(train for train, _ in splits)]:
        subsets = [rows]
        for splitter in inner_splitters(estimator):
            subsets += [subset[train] for subset in subsets for train, _ in
                        check_cv(splitter, _safe_indexing(y, subset), classifier=True)
                        .split(_safe_indexing(X, subset), _safe_indexing(y, subset))]
        for subset in subsets:
            reason = _replay_failure(pipeline, _safe_indexing(X, subset), _safe_indexing(y, subset))
            if reason is not None:
                return reason
    return None


def _replay_failure(pipeline, X, y) -> str | None:
    for _, step in pipeline.steps[:-1]:
        try:
            X, y = _fit_step(clone(step), X, y)
        except ValueError as err:
            if not hasattr(step, "fit_resample"):
                return None  # a transformer's error is not a sampler's doing
            return f"{type(step).__name__} cannot resample {len(y)} rows (class counts {class_counts(y)}): {err}"
    if len(np.unique(y)) < 2:
        return f"the samplers leave only rows of class {np.asarray(y)[0]} ({len(y)} rows) for the model"
    return None


def _fit_step(step, X, y):
    """One step of an imblearn Pipeline's fit: a sampler's rows and labels, or a transformer's output."""
    return step.fit_resample(X, y) if hasattr(step, "fit_resample") else (step.fit_transform(X, y), y)


@contextmanager
def sampler_errors(estimator, X, y, splits=()):
    """Around fitting ``estimator`` on (X, y) and cross-validating it on ``splits``: a ValueError that
    one of its samplers reproduces on those rows (see :func:`sampler_failure`) becomes a SamplerError;
    any other ValueError, a bug, propagates unchanged."""
    try:
        yield
    except SamplerError:
        raise
    except ValueError as err:
        reason = sampler_failure(estimator, X, y, splits)
        if reason is None:
            raise
        raise SamplerError(reason) from err
