"""The article's sampler: a KNN filter drops hard-to-classify minority rows, then SMOTE grows the rest."""

from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
from imblearn.over_sampling import SMOTE, SMOTENC
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.base import clone
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from imbalance_lab.settings.params import ConfigError
from imbalance_lab.strategies.neighbours import neighbour_count


class SamplerError(ConfigError, ValueError):
    """A sampler cannot work on the rows it is given (e.g. too few rows of a class for its
    neighbours): the settings do not suit the data. A ValueError too, as imbalanced-learn's own."""


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
    filter_neighbors : int or KNeighborsClassifier, default=3
        The filtering KNN classifier, or its number of neighbours (each row counts
        itself); never more than the rows given.
    threshold : float, default=0.5
        A row of an over-sampled class is kept when its predicted own-class
        probability is strictly above this.
    k_neighbors : int or object, default=5
        SMOTE's neighbours, or as in SMOTE an estimator with ``kneighbors`` (e.g.
        ``NearestNeighbors(n_neighbors=k + 1)``: each row is its own first neighbour).
        SMOTE needs ``k + 1`` rows per class.
    if_too_few : {"raise", "adapt"}, default="raise"
        When the filter keeps fewer than ``k_neighbors + 1`` rows of a class:
        ``"raise"`` stops with a SamplerError (a ValueError); ``"adapt"`` keeps that
        class's ``k + 1`` most confidently classified rows instead and says so in ``notes_``.
    random_state : int, RandomState instance or None, default=None
        Seed of SMOTE's interpolation.
    categorical_features : array-like of int or None, default=None
        Positions of categorical columns. With them the filter measures distances on
        one-hot columns and the growing is done by SMOTENC (with a brute-force
        neighbour search), so new rows hold real categories.

    Attributes
    ----------
    sampling_strategy_ : dict
        Rows to generate per over-sampled class (before filtering).
    kept_ : dict
        Rows of each over-sampled class that passed the filter and fed SMOTE.
    notes_ : list of str
        What the sampler adapted, if anything.
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseOverSampler._parameter_constraints,
        "filter_neighbors": [Interval(numbers.Integral, 1, None, closed="left"), KNeighborsClassifier],
        "threshold": [Interval(numbers.Real, 0, 1, closed="left")],
        "k_neighbors": [Interval(numbers.Integral, 1, None, closed="left"),
                        HasMethods(["kneighbors", "kneighbors_graph"])],
        "if_too_few": [StrOptions({"raise", "adapt"})],
        "categorical_features": ["array-like", None],
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
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.filter_neighbors = filter_neighbors
        self.threshold = threshold
        self.k_neighbors = k_neighbors
        self.if_too_few = if_too_few
        self.random_state = random_state
        self.categorical_features = categorical_features

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

    def _filter(self, n_rows: int) -> KNeighborsClassifier:
        """The filtering classifier, with at most ``n_rows`` neighbours."""
        if isinstance(self.filter_neighbors, numbers.Integral):
            return KNeighborsClassifier(n_neighbors=min(self.filter_neighbors, n_rows))
        knn = clone(self.filter_neighbors)
        return knn.set_params(n_neighbors=min(knn.n_neighbors, n_rows))

    def _smote_neighbours(self):
        """SMOTE's k_neighbors setting; brute force for SMOTENC, whose sparse one-hot columns trees cannot search."""
        if self.categorical_features is None:
            return self.k_neighbors
        if isinstance(self.k_neighbors, numbers.Integral):
            return NearestNeighbors(n_neighbors=self.k_neighbors + 1, algorithm="brute")
        return clone(self.k_neighbors).set_params(algorithm="brute")

    def _fit_resample(self, X, y):
        needed = neighbour_count(self.k_neighbors) + 1
        scaled = self._distance_space(X)
        knn = self._filter(len(y))
        own_class_probability = knn.fit(scaled, y).predict_proba(scaled)
        column = {label: index for index, label in enumerate(knn.classes_)}

        keep = np.ones(len(y), dtype=bool)
        targets, self.kept_, self.notes_ = {}, {}, []
        for label, n_new in self.sampling_strategy_.items():
            rows = np.flatnonzero(y == label)
            kept = self._kept_rows(label, rows, own_class_probability[rows, column[label]], needed)
            keep[rows] = False
            keep[kept] = True
            self.kept_[label] = len(kept)
            targets[label] = len(rows) + n_new
        settings = {"sampling_strategy": targets, "k_neighbors": self._smote_neighbours(),
                    "random_state": self.random_state}
        if self.categorical_features is None:
            return SMOTE(**settings).fit_resample(X[keep], y[keep])
        return SMOTENC(categorical_features=self.categorical_features, **settings).fit_resample(X[keep], y[keep])

    def _kept_rows(self, label, rows: np.ndarray, probability: np.ndarray, needed: int) -> np.ndarray:
        """The ``rows`` of class ``label`` that pass the filter (own-class ``probability`` above threshold);
        fewer than SMOTE's ``needed``: a SamplerError, or with if_too_few='adapt' the ``needed`` most confident."""
        kept = rows[probability > self.threshold]
        if len(kept) >= needed:
            return kept
        if self.if_too_few == "raise" or len(rows) < needed:
            raise SamplerError(
                f"the KNN filter kept {len(kept)} of {len(rows)} rows of class {label}, "
                f"but SMOTE with k_neighbors={needed - 1} needs at least {needed}; "
                "lower k_neighbors or threshold"
                + (", or set if_too_few='adapt'" if len(rows) >= needed else "")
            )
        self.notes_.append(
            f"class {label}: the filter passed fewer than {needed} rows, so the "
            f"{needed} most confidently classified were kept"
        )
        return np.sort(rows[np.argsort(-probability, kind="stable")[:needed]])
