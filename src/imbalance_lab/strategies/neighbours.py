"""Neighbour counts and searches: how many neighbours a sampler's setting asks for, and which search finds them.

Every imbalanced-learn sampler (and KNNFilterSMOTE) accepts a neighbours estimator where it takes a count:
that is where the search algorithm plugs in (compute.neighbors).
"""

from __future__ import annotations

import numbers

from imblearn.over_sampling import SMOTE
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

# Measured here (bench/benchmark.py, a 4-neighbour self-query on uniform data): 100,000 rows x 2
# features 0.61 s k-d tree / 0.70 s ball tree / 41 s brute; 20,000 x 8: 1.4 / 2.6 / 2.0 s;
# 20,000 x 20: 25 / 15 / 2.3 s. Trees win at few features, brute force beyond.
TREE_MAX_FEATURES = 8


def neighbour_search(algorithm: str, n_features: int) -> str:
    """The search the samplers use: the configured one, or for ``auto`` one picked by shape."""
    if algorithm != "auto":
        return algorithm
    return "kd_tree" if n_features <= TREE_MAX_FEATURES else "brute"


def neighbour_count(setting) -> int:
    """The neighbours a k_neighbors / n_neighbors setting asks for: the count, or one less than
    its NearestNeighbors' (which count each row as its own first neighbour)."""
    return int(setting) if isinstance(setting, numbers.Integral) else setting.n_neighbors - 1


# Neighbour-count settings -> the estimator the sampler would make of the count, with a search algorithm.
NEIGHBOUR_SETTINGS = {
    "k_neighbors": lambda k, algorithm: NearestNeighbors(n_neighbors=k + 1, algorithm=algorithm),
    "n_neighbors": lambda k, algorithm: NearestNeighbors(n_neighbors=k + 1, algorithm=algorithm),
    "filter_neighbors": lambda k, algorithm: KNeighborsClassifier(n_neighbors=k, algorithm=algorithm),  # KNNFilterSMOTE
}


def with_neighbour_search(sampler, algorithm: str):
    """The sampler with neighbour counts replaced by neighbour estimators using ``algorithm``.

    Exact whichever the algorithm (only ties may be ordered differently); imbalanced-learn
    samplers, and KNNFilterSMOTE, accept a neighbours estimator wherever they take a count
    (a NearestNeighbors of ``k + 1``: each row is its own first neighbour; the filter's
    classifier, fitted and scored on the same rows, counts the row among its ``k``).
    """
    if sampler is None:
        return None
    updates = {}
    for name, value in sampler.get_params(deep=False).items():
        if name in NEIGHBOUR_SETTINGS and isinstance(value, numbers.Integral):
            updates[name] = NEIGHBOUR_SETTINGS[name](value, algorithm)
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
