"""How far from the best possible: ceilings on a large fresh sample of the known process.

The article and synthetic sources come from known generators (:mod:`data`), so the best any
classifier could do is computable. On a large fresh sample of the same process this module
scores three rules, each with the threshold that maximises F1 on that sample:

* ``bayes``: the Bayes-optimal rule, the posterior P(default | age, balance) of the process;
* ``best_line``: the best single straight line, found by an exhaustive search over directions;
* ``logistic_regression``: the article's plain ``LogisticRegression()`` on the raw features.

Thresholds are tuned on the very sample they are scored on. With a sample this large the
optimism that adds is small, and these are ceilings, not estimates of a deployed model.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import exp1, ndtr
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from imbalance_lab.data.dataset import FEATURES, TARGET
from imbalance_lab.data.sources import generate_article_data, generate_synthetic_data, synthetic_groups
from imbalance_lab.evaluation.metrics import compute_metrics
from imbalance_lab.settings.params import ArticleSettings, SyntheticSettings

Process = ArticleSettings | SyntheticSettings

REFINE_DIRECTIONS = 41  # the finer grid around the best coarse angle: steps of 1/20 of a coarse step
FIGURES = ("f1", "accuracy", "precision", "recall")


def fresh_sample(settings: Process, rows: int, seed: int) -> pd.DataFrame:
    """About ``rows`` rows of the process, every group scaled by the same factor.

    Scaling each group keeps the group shares, hence the priors of :func:`bayes_posterior`.
    """
    if isinstance(settings, SyntheticSettings):
        return generate_synthetic_data(settings.replace(rows=rows, seed=seed))
    groups = (settings.pocket_defaulters, settings.scattered_defaulters, settings.payers)
    factor = rows / sum(group.rows for group in groups)
    pocket, scattered, payers = (group.replace(rows=round(group.rows * factor)) for group in groups)
    return generate_article_data(
        settings.replace(seed=seed, pocket_defaulters=pocket, scattered_defaulters=scattered, payers=payers)
    )


def pocket_age_density(age, age_range: tuple[int, int]) -> np.ndarray:
    """Density of a pocket defaulter's age ``a * max(z, 1)``, ``a ~ U[low, high)``, ``z ~ N(0, 1)``.

    With probability Phi(1) (``z <= 1``) the age is ``a`` itself. Otherwise it is ``t = a z``
    with density ``g(t) = 1/(high-low) * integral over a of phi(t/a)/a [t/a > 1] da``.
    Substituting ``u = t/a`` turns that into ``integral of phi(u)/u du`` over
    ``[max(1, t/high), max(1, t/low)]``, and with ``v = u**2 / 2`` into
    ``(E1(v_lo) - E1(v_hi)) / (2 sqrt(2 pi))`` with ``E1`` the exponential integral: exact,
    and vectorised.
    """
    low, high = age_range
    t = np.asarray(age, dtype=float)
    width = high - low
    with np.errstate(divide="ignore"):  # low == 0 (allowed in params.yaml): t/low is inf for t > 0
        u_high = np.where(t > low, t / low, 1.0)  # t <= low: the empty interval [1, 1]
    u_low = np.maximum(1.0, t / high)
    stretched = (exp1(u_low**2 / 2) - exp1(u_high**2 / 2)) / (2 * np.sqrt(2 * np.pi) * width)
    return ndtr(1.0) * _uniform_density(t, age_range) + stretched


def _uniform_density(x: np.ndarray, value_range: tuple[int, int]) -> np.ndarray:
    """Density of U[low, high): the integer draws of the generator treated as continuous."""
    low, high = value_range
    return np.where((x >= low) & (x < high), 1.0 / (high - low), 0.0)


def groups_of(settings: Process) -> list[tuple[int, int, tuple, tuple, bool]]:
    """(rows, label, age range, balance range, stretched ages) of each group of the process."""
    if isinstance(settings, SyntheticSettings):
        return [group[1:] for group in synthetic_groups(settings)]
    return [
        (settings.pocket_defaulters.rows, 1, settings.pocket_defaulters.age, settings.pocket_defaulters.balance, True),
        (settings.scattered_defaulters.rows, 1, settings.scattered_defaulters.age,
         settings.scattered_defaulters.balance, False),
        (settings.payers.rows, 0, settings.payers.age, settings.payers.balance, False),
    ]


def bayes_posterior(X: pd.DataFrame, settings: Process) -> np.ndarray:
    """P(default | age, balance) under the generator, features treated as continuous.

    Priors are the group shares; each group's density is the product of its age and balance
    densities (age and balance are drawn independently). Treating the integer draws as
    uniform on [low, high) is how the reference figures were computed; it ignores that in the
    real generator only a stretched pocket age can be a non-integer. The posterior is
    undefined (nan) where no group can produce the point; samples of the process hold none.
    """
    age = X["age"].to_numpy(dtype=float)
    balance = X["balance"].to_numpy(dtype=float)
    groups = groups_of(settings)
    total = sum(rows for rows, *_ in groups)
    density = {0: np.zeros(len(age)), 1: np.zeros(len(age))}
    for rows, label, age_range, balance_range, stretched in groups:
        age_density = pocket_age_density(age, age_range) if stretched else _uniform_density(age, age_range)
        density[label] = density[label] + rows / total * age_density * _uniform_density(balance, balance_range)
    defaulter, payer = density[1], density[0]
    evidence = defaulter + payer
    with np.errstate(invalid="ignore"):
        return np.where(evidence > 0, defaulter / evidence, np.nan)


def _best_f1_cut(positives: np.ndarray, negatives: np.ndarray) -> tuple[float, float]:
    """(F1, cut) of the rule ``score >= cut`` with the highest F1 over every cut.

    ``positives`` and ``negatives`` are the scores of each class, sorted ascending. Only the
    distinct positive scores need trying: raising any other cut to the next positive score
    drops only negatives, which never lowers F1. Counts come from positions in the sorted
    arrays, so with the sort a search is O(n log n) and never loops over rows. Ties in F1 go
    to the lowest cut.
    """
    if positives.size == 0:
        raise ValueError("the sample holds no positive rows; F1 is undefined")
    starts = np.flatnonzero(np.r_[True, positives[1:] != positives[:-1]])  # first of each distinct score
    cuts = positives[starts]
    tp = positives.size - starts
    fp = negatives.size - np.searchsorted(negatives, cuts, side="left")
    f1 = 2 * tp / (tp + fp + positives.size)  # 2TP / (2TP + FP + FN)
    best = int(np.argmax(f1))
    return float(f1[best]), float(cuts[best])


def _best_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """The threshold on ``score`` (flag at or above) that maximises F1."""
    return _best_f1_cut(np.sort(score[y == 1]), np.sort(score[y == 0]))[1]


def _figures(y: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """The reported figures, computed as in the rest of the project."""
    metrics = compute_metrics(y, score, threshold)
    return {name: metrics[name] for name in FIGURES}


def bayes_ceiling(sample: pd.DataFrame, settings: Process) -> dict:
    """The Bayes-optimal rule: posterior at or above the threshold that maximises F1."""
    y = sample[TARGET].to_numpy()
    posterior = bayes_posterior(sample, settings)
    threshold = _best_threshold(y, posterior)
    return {**_figures(y, posterior, threshold), "threshold": threshold}


def best_line_ceiling(sample: pd.DataFrame, directions: int) -> dict:
    """The best single straight line by F1, by exhaustive search over directions.

    On the standardised features (so evenly spaced angles are evenly spread whatever the
    units) each of ``directions`` angles theta evenly spaced on [0, 2 pi) projects the rows
    on (cos theta, sin theta) and takes the best cut ``projection >= cut``; directions come
    in opposite pairs (see ``_best_angle``), so an odd count is rounded up to even. A finer grid
    spanning one step either side of the best angle then refines the direction. The line is
    put halfway between the cut and the next lower projection, so rounding in the conversion
    to original units cannot move a row across it, and is returned as
    ``w_age * age + w_balance * balance >= offset``.
    """
    X = sample[list(FEATURES)].to_numpy(dtype=float)
    y = sample[TARGET].to_numpy()
    mean, sd = X.mean(axis=0), X.std(axis=0)
    Z = (X - mean) / sd
    positives, negatives = Z[y == 1], Z[y == 0]
    if directions < 1:
        raise ValueError(f"directions must be at least 1, got {directions}")
    pairs = (directions + 1) // 2
    step = np.pi / pairs
    coarse = _best_angle(np.arange(pairs) * step, positives, negatives)
    theta = _best_angle(coarse + np.linspace(-step, step, REFINE_DIRECTIONS), positives, negatives)

    unit = np.array([np.cos(theta), np.sin(theta)])
    projection = Z @ unit
    cut = _best_threshold(y, projection)
    below = projection[projection < cut]
    middle = (cut + below.max()) / 2 if below.size else cut - 1.0  # all flagged: any lower line
    weights = unit / sd
    offset = float(middle + weights @ mean)
    flags = (X @ weights >= offset).astype(float)
    return {
        **_figures(y, flags, 0.5),
        "w_age": float(weights[0]),
        "w_balance": float(weights[1]),
        "offset": offset,
    }



def _best_angle(thetas: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> float:
    """The best angle by F1 among ``thetas`` and their opposites; ties go to the first.

    The opposite direction projects every row to minus its projection, so one sort serves
    both: its sorted projections are the reversed, negated ones.
    """
    best_f1, best_angle = -1.0, 0.0
    for theta in thetas:
        unit = np.array([np.cos(theta), np.sin(theta)])
        pos, neg = np.sort(positives @ unit), np.sort(negatives @ unit)
        for angle, sorted_scores in ((theta, (pos, neg)), (theta + np.pi, (-pos[::-1], -neg[::-1]))):
            f1, _ = _best_f1_cut(*sorted_scores)
            if f1 > best_f1:
                best_f1, best_angle = f1, float(angle)
    return best_angle

def logistic_reference(sample: pd.DataFrame) -> dict:
    """The article's model: ``LogisticRegression()`` on raw features, F1-best threshold.

    On raw, unscaled features the lbfgs solver may stop at its iteration limit, as in the
    article; ``converged`` says whether it did.
    """
    X = sample[list(FEATURES)]
    y = sample[TARGET].to_numpy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = LogisticRegression().fit(X, y)
    probability = model.predict_proba(X)[:, 1]
    threshold = _best_threshold(y, probability)
    return {
        **_figures(y, probability, threshold),
        "threshold": threshold,
        "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
    }


def ceilings(settings: Process, *, rows: int, seed: int, directions: int) -> dict:
    """All three ceilings on one fresh sample; JSON-ready and deterministic for given inputs."""
    sample = fresh_sample(settings, rows, seed)
    return {
        "bayes": bayes_ceiling(sample, settings),
        "best_line": best_line_ceiling(sample, directions),
        "logistic_regression": logistic_reference(sample),
        "rows": len(sample),
        "seed": seed,
    }
