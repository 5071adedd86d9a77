"""Strategy name -> imbalanced-learn sampler, and the article's KNN-filter + SMOTE sampler.

With categorical columns the SMOTE family switches to SMOTENC (see
:func:`split_for_categories`), which interpolates numbers and votes categories.
"""

from __future__ import annotations

import numbers

import numpy as np
from imblearn.over_sampling import SMOTE, SMOTENC
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions

from .data import class_counts
from .params import ConfigError, StrategySettings, build_estimator

NO_SAMPLER = "none"


class KNNFilterSMOTE(BaseOverSampler):
    """Drop hard-to-classify minority rows with a KNN filter, then apply SMOTE.

    The article's own sampler. Features are scaled to unit variance (centring,
    which the article also did, leaves distances unchanged and would break
    sparse input), a k-nearest-neighbours
    classifier is fitted on them and scores the same rows (so each row is its
    own first neighbour). Of every class being over-sampled, only the rows whose
    predicted probability of their own class is above ``threshold`` are kept;
    other classes are kept whole. SMOTE then grows the kept, unscaled rows to
    the counts ``sampling_strategy`` asks for (by default: as many as the
    majority class).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As in :class:`imblearn.over_sampling.SMOTE`, computed on the unfiltered data.
    filter_neighbors : int, default=3
        Neighbours of the filtering KNN classifier.
    threshold : float, default=0.5
        A row of an over-sampled class is kept when its predicted own-class
        probability is strictly above this.
    k_neighbors : int, default=5
        SMOTE's neighbours; SMOTE needs ``k_neighbors + 1`` rows per class.
    if_too_few : {"raise", "adapt"}, default="raise"
        When the filter keeps fewer than ``k_neighbors + 1`` rows of a class:
        ``"raise"`` stops with a ValueError; ``"adapt"`` keeps that class's
        ``k_neighbors + 1`` most confidently classified rows instead and says so
        in ``notes_``.
    random_state : int, RandomState instance or None, default=None
        Seed of SMOTE's interpolation.
    algorithm : {"auto", "kd_tree", "ball_tree", "brute"}, default="auto"
        Neighbour search of the filter and of SMOTE (exact in every case).
    categorical_features : array-like of int or None, default=None
        Positions of categorical columns. With them the filter measures distances on
        one-hot columns and the growing is done by SMOTENC, so new rows hold real
        categories.

    Attributes
    ----------
    sampling_strategy_ : dict
        Rows to generate per over-sampled class (before filtering).
    kept_ : dict
        Rows of each over-sampled class that passed the filter and fed SMOTE.
    notes_ : list of str
        What the sampler adapted, if anything.
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "filter_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "threshold": [Interval(numbers.Real, 0, 1, closed="left")],
        "k_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "if_too_few": [StrOptions({"raise", "adapt"})],
        "categorical_features": ["array-like", None],
        "algorithm": [StrOptions({"auto", "kd_tree", "ball_tree", "brute"})],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        filter_neighbors=3,
        threshold=0.5,
        k_neighbors=5,
        if_too_few="raise",
        random_state=None,
        categorical_features=None,
        algorithm="auto",
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.filter_neighbors = filter_neighbors
        self.threshold = threshold
        self.k_neighbors = k_neighbors
        self.if_too_few = if_too_few
        self.random_state = random_state
        self.categorical_features = categorical_features
        self.algorithm = algorithm

    def _check_X_y(self, X, y):
        if self.categorical_features is None:
            return super()._check_X_y(X, y)
        from imblearn.utils import check_target_type
        from sklearn.utils.validation import validate_data

        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(self, X=X, y=y, reset=True, dtype=None)  # categories stay labels
        return X, y, binarize_y

    def _distance_space(self, X):
        """Unit-variance numbers, plus one-hot categories when there are any."""
        if self.categorical_features is None:
            return StandardScaler(with_mean=False).fit_transform(X)
        from sklearn.preprocessing import OneHotEncoder

        categorical = np.zeros(X.shape[1], dtype=bool)
        categorical[np.asarray(self.categorical_features, dtype=int)] = True
        numbers = StandardScaler(with_mean=False).fit_transform(X[:, ~categorical].astype(float))
        labels = OneHotEncoder(sparse_output=False).fit_transform(X[:, categorical].astype(str))
        return np.hstack([numbers, labels])

    def _fit_resample(self, X, y):
        needed = self.k_neighbors + 1
        scaled = self._distance_space(X)
        knn = KNeighborsClassifier(n_neighbors=min(self.filter_neighbors, len(y)), algorithm=self.algorithm)
        own_class_probability = knn.fit(scaled, y).predict_proba(scaled)
        column = {label: index for index, label in enumerate(knn.classes_)}

        keep = np.ones(len(y), dtype=bool)
        targets, self.kept_, self.notes_ = {}, {}, []
        for label, n_new in self.sampling_strategy_.items():
            rows = np.flatnonzero(y == label)
            probability = own_class_probability[rows, column[label]]
            kept = rows[probability > self.threshold]
            if len(kept) < needed:
                if self.if_too_few == "raise" or len(rows) < needed:
                    raise ValueError(
                        f"the KNN filter kept {len(kept)} of {len(rows)} rows of class {label}, "
                        f"but SMOTE with k_neighbors={self.k_neighbors} needs at least {needed}; "
                        "lower k_neighbors or threshold"
                        + (", or set if_too_few='adapt'" if len(rows) >= needed else "")
                    )
                kept = np.sort(rows[np.argsort(-probability, kind="stable")[:needed]])
                self.notes_.append(
                    f"class {label}: the filter passed fewer than {needed} rows, so the "
                    f"{needed} most confidently classified were kept"
                )
            keep[rows] = False
            keep[kept] = True
            self.kept_[label] = len(kept)
            targets[label] = len(rows) + n_new
        from sklearn.neighbors import NearestNeighbors

        # SMOTENC searches sparse one-hot columns, where only brute force works.
        search = self.algorithm if self.categorical_features is None else "brute"
        neighbours = NearestNeighbors(n_neighbors=self.k_neighbors + 1, algorithm=search)
        settings = {"sampling_strategy": targets, "k_neighbors": neighbours, "random_state": self.random_state}
        if self.categorical_features is None:
            return SMOTE(**settings).fit_resample(X[keep], y[keep])
        return SMOTENC(categorical_features=self.categorical_features, **settings).fit_resample(X[keep], y[keep])


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
    return build_estimator(classes[strategy.sampler], strategy.options, key)


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
    from imblearn.over_sampling import SMOTEN, RandomOverSampler
    from sklearn.base import clone
    from imblearn.under_sampling import ClusterCentroids, EditedNearestNeighbours, TomekLinks
    from imblearn.under_sampling.base import BaseCleaningSampler, BaseUnderSampler

    positions = list(range(len(columns.numeric), len(columns.numeric) + len(columns.categorical)))

    def categorical_smote(smote):
        neighbours = smote.k_neighbors
        if hasattr(neighbours, "kneighbors"):  # SMOTENC searches one-hot sparse columns: trees cannot
            neighbours = clone(neighbours).set_params(algorithm="brute")
        settings = {"sampling_strategy": smote.sampling_strategy, "random_state": smote.random_state,
                    "k_neighbors": neighbours}
        return SMOTENC(categorical_features=positions, **settings) if columns.numeric else SMOTEN(**settings)

    if type(sampler) is SMOTE:
        return [categorical_smote(sampler)], []
    if isinstance(sampler, (SMOTEENN, SMOTETomek)):
        smote = sampler.smote or SMOTE(sampling_strategy=sampler.sampling_strategy, random_state=sampler.random_state)
        if isinstance(sampler, SMOTEENN):
            cleaner = sampler.enn or EditedNearestNeighbours(sampling_strategy="all")
        else:
            cleaner = sampler.tomek or TomekLinks(sampling_strategy="all")
        return [categorical_smote(smote)], [cleaner]
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


# Measured here (bench/benchmark.py, a 4-neighbour self-query on uniform data): 100,000 rows x 2
# features 0.61 s k-d tree / 0.70 s ball tree / 41 s brute; 20,000 x 8: 1.4 / 2.6 / 2.0 s;
# 20,000 x 20: 25 / 15 / 2.3 s. Trees win at few features, brute force beyond.
TREE_MAX_FEATURES = 8


def neighbour_search(algorithm: str, n_features: int) -> str:
    """The search the samplers use: the configured one, or for ``auto`` one picked by shape."""
    if algorithm != "auto":
        return algorithm
    return "kd_tree" if n_features <= TREE_MAX_FEATURES else "brute"


def with_neighbour_search(sampler, algorithm: str):
    """The sampler with neighbour counts replaced by NearestNeighbors using ``algorithm``.

    Exact whichever the algorithm (only ties may be ordered differently); imbalanced-learn
    samplers accept a neighbours estimator wherever they take a count (``k + 1``: each row
    is its own first neighbour).
    """
    from sklearn.neighbors import NearestNeighbors

    if sampler is None:
        return None
    if isinstance(sampler, KNNFilterSMOTE):
        return sampler.set_params(algorithm=algorithm)
    updates = {}
    for name, value in sampler.get_params(deep=False).items():
        if name in ("k_neighbors", "n_neighbors") and isinstance(value, numbers.Integral):
            updates[name] = NearestNeighbors(n_neighbors=value + 1, algorithm=algorithm)
        elif name in ("smote", "enn", "tomek") and value is None:
            updates[name] = _default_part(sampler, name, algorithm)
    return sampler.set_params(**updates)


def _default_part(sampler, name: str, algorithm: str):
    """SMOTEENN's / SMOTETomek's own default SMOTE or cleaner, with the neighbour search set."""
    from imblearn.under_sampling import EditedNearestNeighbours, TomekLinks

    if name == "smote":
        part = SMOTE(sampling_strategy=sampler.sampling_strategy, random_state=sampler.random_state)
    elif name == "enn":
        part = EditedNearestNeighbours(sampling_strategy="all")
    else:
        return TomekLinks(sampling_strategy="all")  # pairs of mutual nearest neighbours: no count to set
    return with_neighbour_search(part, algorithm)


def pipeline_samplers(estimator) -> list:
    """The samplers of a strategy's (possibly threshold-tuned) pipeline, in order."""
    pipeline = getattr(estimator, "estimator", estimator)
    return [step for name, step in pipeline.steps if name.startswith("sampler")]


def check_class_sizes(sampler, y, key: str, rows: str = "the training split") -> None:
    """Fail early, with the fix, when a neighbour count exceeds what the training rows allow."""
    counts = class_counts(y)
    params = {name: value.n_neighbors - 1 if hasattr(value, "kneighbors") else value  # a NearestNeighbors(k + 1)
              for name, value in sampler.get_params(deep=False).items()}
    k = params.get("k_neighbors")
    if isinstance(k, numbers.Integral):
        smallest = min(counts.values())
        if smallest < k + 1:
            raise ConfigError(
                f"params.yaml: '{key}.k_neighbors' = {k} needs at least {k + 1} rows in every class it "
                f"grows, but {rows} has {counts}; set k_neighbors to at most {max(smallest - 1, 1)}"
            )
    n = params.get("n_neighbors")
    if isinstance(n, numbers.Integral) and len(y) <= n:
        raise ConfigError(
            f"params.yaml: '{key}.n_neighbors' = {n} needs more than {n} training rows, but {rows} has "
            f"{len(y)}; lower n_neighbors"
        )


def check_fold_sizes(counts: dict[str, int], folds: int, estimators: dict, tuning_folds: int | None) -> None:
    """Fail before any fit when cross-validation cannot work on a training split with these class
    counts: a fold without a row of some class, a sampler's neighbours or the threshold tuning's
    inner folds larger than a cross-validation training fold holds."""
    import numpy as np

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
    try:
        X_res, y_res = sampler.fit_resample(X, y)
    except ValueError as err:
        raise ConfigError(
            f"params.yaml: '{key}': {type(sampler).__name__} cannot resample the training split "
            f"(class counts {class_counts(y)}): {err}"
        ) from None
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
    import pandas as pd
    from sklearn.base import clone

    steps = dict(pipeline.steps)
    names = [name for name, _ in pipeline.steps]
    prepare = clone(steps["prepare"])
    rows = prepare.fit_transform(X)
    labels, notes = np.asarray(y), []
    try:
        for name in names:
            if not name.startswith("sampler"):
                continue
            sampler = steps[name]
            check_class_sizes(sampler, labels, key)
            if names.index(name) < names.index("encode"):
                rows, labels = sampler.fit_resample(rows, labels)
            else:
                encoded = clone(steps["encode"]).fit_transform(rows)
                _, labels = sampler.fit_resample(encoded, labels)
                rows = rows.iloc[sampler.sample_indices_]
            notes += list(getattr(sampler, "notes_", []))
    except ValueError as err:
        raise ConfigError(
            f"params.yaml: '{key}': cannot resample the training split (class counts {class_counts(y)}): {err}"
        ) from None
    rows = rows.reset_index(drop=True)
    numeric = prepare.named_transformers_["numeric"]
    if hasattr(numeric, "named_steps") and "scale" in numeric.named_steps:
        columns = list(numeric.feature_names_in_)
        rows[columns] = numeric.named_steps["scale"].inverse_transform(rows[columns].to_numpy(dtype=float))
    for column in X.columns:
        if isinstance(X[column].dtype, pd.CategoricalDtype):
            rows[column] = pd.Categorical(rows[column].astype(str), categories=X[column].cat.categories)
        else:
            rows[column] = rows[column].astype(float)
    return rows[list(X.columns)], np.asarray(labels), notes
