"""Strategy name -> imbalanced-learn sampler, and the article's KNN-filter + SMOTE sampler."""

from __future__ import annotations

import numbers

import numpy as np
from imblearn.over_sampling import SMOTE
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
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.filter_neighbors = filter_neighbors
        self.threshold = threshold
        self.k_neighbors = k_neighbors
        self.if_too_few = if_too_few
        self.random_state = random_state

    def _fit_resample(self, X, y):
        needed = self.k_neighbors + 1
        scaled = StandardScaler(with_mean=False).fit_transform(X)
        knn = KNeighborsClassifier(n_neighbors=min(self.filter_neighbors, len(y)))
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
        smote = SMOTE(sampling_strategy=targets, k_neighbors=self.k_neighbors, random_state=self.random_state)
        return smote.fit_resample(X[keep], y[keep])


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


def check_class_sizes(sampler, y, key: str) -> None:
    """Fail early, with the fix, when a neighbour count exceeds what the training rows allow."""
    counts = class_counts(y)
    params = sampler.get_params(deep=False)
    k = params.get("k_neighbors")
    if isinstance(k, numbers.Integral):
        smallest = min(counts.values())
        if smallest < k + 1:
            raise ConfigError(
                f"params.yaml: '{key}.k_neighbors' = {k} needs at least {k + 1} rows in every class it "
                f"grows, but the training split has {counts}; set k_neighbors to at most {max(smallest - 1, 1)}"
            )
    n = params.get("n_neighbors")
    if isinstance(n, numbers.Integral) and len(y) <= n:
        raise ConfigError(
            f"params.yaml: '{key}.n_neighbors' = {n} needs more than {n} training rows, but there are "
            f"{len(y)}; lower n_neighbors"
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
