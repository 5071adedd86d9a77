"""A strategy's estimator: build it, fit it.

A strategy is one imbalanced-learn ``Pipeline``: an optional ``StandardScaler``,
an optional sampler, an optional feature basis (``KBinsDiscretizer`` bins or
``SplineTransformer`` splines), then the cell's classifier; optionally wrapped in
``CalibratedClassifierCV`` and/or ``TunedThresholdClassifierCV``. The sampler only acts during
``fit``, so the same object serves the final fit and cross-validation without leakage.

Data with categorical columns or gaps to fill take a longer shape (see
:func:`build_pipeline`): ``prepare`` (impute, scale) -> samplers that understand
categories (SMOTENC) -> ``encode`` (one-hot, basis) -> samplers that need numbers
-> model. Imputers and encoders are fitted on the training rows of each fold.

After fitting, only the prediction path matters: ``persistence/modelfile.py`` stores it as JSON;
:mod:`.explain` reads its coefficients and decision boundary.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline as PredictionPipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, SplineTransformer, StandardScaler

from imbalance_lab.data.dataset import Columns
from imbalance_lab.evaluation.metrics import stopped_early
from imbalance_lab.settings.classifiers import classifier_class
from imbalance_lab.settings.params import (
    ClassifierSettings,
    ConfigError,
    StrategySettings,
    TuningSettings,
    build_estimator,
)

BASIS_CLASSES = {"bins": KBinsDiscretizer, "splines": SplineTransformer}


# Bins are one-hot columns for the logistic regression: one coefficient per bin, as in a scorecard.
BASIS_DEFAULTS = {"bins": {"encode": "onehot-dense", "n_bins": 5, "strategy": "quantile"}, "splines": {}}


def build_classifier(classifier: ClassifierSettings, strategy: StrategySettings):
    """The cell's classifier: its class and settings, seeded by ``seed`` when it has a random_state and
    sets none, and the strategy's class_weight (refused for a class without one)."""
    cls, key = classifier_class(classifier.classifier), f"classifiers.{classifier.name}"
    settings = dict(classifier.options)
    allowed = cls().get_params(deep=False)
    if "random_state" in allowed and "random_state" not in settings and strategy.seed is not None:
        settings["random_state"] = strategy.seed
    if strategy.class_weight is not None:
        if class_weight_conflict(classifier, strategy) is not None:  # train makes such a cell not fittable
            raise ConfigError(
                f"params.yaml: 'strategies.{strategy.name}.class_weight' cannot apply to classifier "
                f"'{classifier.name}' ({classifier.classifier} has no class_weight); leave {strategy.name} or "
                f"{classifier.name} out of the grid (grid.strategies / grid.classifiers)")
        settings["class_weight"] = strategy.class_weight
    return build_estimator(cls, settings, key)


def class_weight_conflict(classifier: ClassifierSettings, strategy: StrategySettings) -> str | None:
    """Why the strategy's class_weight cannot apply to the classifier (its class has no class_weight), as the
    reason of the cell's not-fittable record; None when it can (or the strategy sets none)."""
    if strategy.class_weight is None:
        return None
    cls = classifier_class(classifier.classifier)
    if "class_weight" in cls().get_params(deep=False):
        return None
    return (f"{classifier.classifier} has no class_weight, which strategy {strategy.name} weighs classes with "
            f"(strategies.{strategy.name}.class_weight)")


def buildable(strategy: StrategySettings, classifier: ClassifierSettings) -> StrategySettings:
    """The strategy as the cell can build it: without its class_weight when the classifier has none (the cell is
    not fittable, see class_weight_conflict; every other setting of it is still built and checked)."""
    if class_weight_conflict(classifier, strategy) is None:
        return strategy

    return strategy.replace(class_weight=None)


class PriorShiftCorrected(ClassifierMixin, BaseEstimator):
    """A classifier fitted on resampled rows, its probabilities moved back to the real class balance.

    A sampler changes the share of positives the classifier learns from (``fitted_rate_``, seen
    in ``fit``, after the sampler) away from the real share ``prior`` (the training rows' before
    resampling, set by the caller). Bayes' rule for a prior shift (Saerens et al. 2002) undoes
    it: odds x (prior odds / fitted odds). Only probabilities change; their ranking does not.
    """

    def __init__(self, estimator=None, prior: float | None = None):
        self.estimator = estimator
        self.prior = prior

    def fit(self, X, y):
        from sklearn.base import clone

        if self.prior is None or not 0 < self.prior < 1:
            raise ValueError(f"PriorShiftCorrected needs the real positive share in (0, 1), got {self.prior!r}")
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.fitted_rate_ = float(np.mean(np.asarray(y) == 1))
        self.classes_ = self.estimator_.classes_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def predict_proba(self, X):
        from imbalance_lab.evaluation.metrics import correct_prior_shift

        corrected = correct_prior_shift(self.estimator_.predict_proba(X)[:, 1], self.prior, self.fitted_rate_)
        return np.column_stack([1 - corrected, corrected])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


def build_basis(strategy: StrategySettings):
    """The strategy's basis (bins or splines) with its defaults, seeded where it draws at random."""
    key, basis = f"strategies.{strategy.name}.basis", dict(strategy.basis or {})
    kind = basis.pop("kind")
    settings = {**BASIS_DEFAULTS[kind], **basis}
    if kind == "bins" and settings.get("encode") != "onehot-dense":
        raise ConfigError(f"params.yaml: '{key}.encode' must be onehot-dense (one coefficient per bin)")
    from imbalance_lab.strategies.samplers import seeded  # KBinsDiscretizer subsamples its quantiles at random

    return build_estimator(BASIS_CLASSES[kind], seeded(BASIS_CLASSES[kind], strategy, settings), key)


def check_basis_columns(X, strategy: StrategySettings) -> None:
    """A basis cuts each numeric column by its spread: one with a single value cannot be cut."""
    if not strategy.basis:
        return
    for name in X.select_dtypes("number").columns:
        if X[name].nunique() < 2:
            raise ConfigError(
                f"params.yaml: 'strategies.{strategy.name}.basis' cannot cut column {name!r}: it holds a single value "
                "in the training split; drop it from data.features, or remove the basis from this strategy"
            )


def build_prepare(columns: Columns, scale: bool):
    """Fill gaps (median / most frequent) and standardise numbers; categories stay labels."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer

    numeric_steps = [("impute", SimpleImputer(strategy="median"))] if columns.impute else []
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    numeric = PredictionPipeline(numeric_steps) if numeric_steps else "passthrough"
    categorical = SimpleImputer(strategy="most_frequent") if columns.impute else "passthrough"
    return ColumnTransformer(
        [("numeric", numeric, list(columns.numeric)), ("categorical", categorical, list(columns.categorical))],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


def build_encode(columns: Columns, basis):
    """One-hot columns for the categories (unseen ones: all zeros), the basis for the numbers."""
    from sklearn.compose import ColumnTransformer

    return ColumnTransformer(
        [("numeric", basis if basis is not None else "passthrough", list(columns.numeric)),
         ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(columns.categorical))],
        verbose_feature_names_out=False,
    )


def build_pipeline(strategy: StrategySettings, classifier: ClassifierSettings | Mapping[str, Any],
                   tuning: TuningSettings | None, columns: Columns | None = None, neighbors: str = "auto"):
    """The cell's unfitted estimator (strategy x classifier), every setting validated.

    ``classifier`` is a ``classifiers`` entry, or a mapping of LogisticRegression's settings (the
    article's classifier, seeded as an entry would be). ``columns`` describes the data; without categorical
    columns or gaps to impute the pipeline is the article's short one, otherwise the longer one of the module
    docstring. ``neighbors`` is the samplers' neighbour search (compute.neighbors); ``auto`` picks one
    by the number of columns.
    """
    from imblearn.pipeline import Pipeline

    from imbalance_lab.strategies.neighbours import neighbour_search, with_neighbour_search
    from imbalance_lab.strategies.samplers import build_sampler

    sampler = build_sampler(strategy)
    if columns is not None:
        width = len(columns.numeric) + sum(1 for _ in columns.categorical)
        sampler = with_neighbour_search(sampler, neighbour_search(neighbors, width))
    if columns is None or not columns.needs_preparation:
        steps = _short_steps(strategy, sampler)
    else:
        steps = _prepared_steps(strategy, sampler, columns)
    if not isinstance(classifier, ClassifierSettings):
        classifier = ClassifierSettings(name="model", classifier="LogisticRegression", options=dict(classifier))
    model = build_classifier(classifier, strategy)
    steps.append(("model", PriorShiftCorrected(model) if strategy.correct_prior else model))
    return _wrapped(Pipeline(steps), strategy, tuning)


def _short_steps(strategy: StrategySettings, sampler) -> list[tuple[str, Any]]:
    """The article's pipeline before its model: scale, sampler, basis (each if configured)."""
    steps: list[tuple[str, Any]] = []
    if strategy.scale:
        steps.append(("scale", StandardScaler()))
    if sampler is not None:
        steps.append(("sampler", sampler))
    if strategy.basis:
        steps.append(("basis", build_basis(strategy)))
    return steps


def _prepared_steps(strategy: StrategySettings, sampler, columns: Columns) -> list[tuple[str, Any]]:
    """The longer pipeline before its model: prepare, samplers on labels, encode, samplers on numbers."""
    from imbalance_lab.strategies.samplers import split_for_categories

    before, after = split_for_categories(sampler, columns, f"strategies.{strategy.name}")
    samplers = iter(f"sampler_{index}" if index else "sampler" for index in range(3))
    steps: list[tuple[str, Any]] = [("prepare", build_prepare(columns, strategy.scale))]
    steps += [(next(samplers), step) for step in before]
    steps.append(("encode", build_encode(columns, build_basis(strategy) if strategy.basis else None)))
    steps += [(next(samplers), step) for step in after]
    return steps


def _wrapped(estimator, strategy: StrategySettings, tuning: TuningSettings | None):
    """The pipeline inside its calibration and threshold tuning, where the strategy asks for them."""
    from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

    from imbalance_lab.evaluation.metrics import threshold_scorer

    if strategy.calibrate is not None:
        from sklearn.calibration import CalibratedClassifierCV

        folds, seed = (tuning.folds, tuning.seed) if tuning is not None else (5, strategy.seed)
        estimator = CalibratedClassifierCV(estimator, method=strategy.calibrate,
                                           cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed))
    if not strategy.tune_threshold or tuning is None:  # no tuning settings: the untuned pipeline
        return estimator
    folds = StratifiedKFold(n_splits=tuning.folds, shuffle=True, random_state=tuning.seed)
    return TunedThresholdClassifierCV(estimator, scoring=threshold_scorer(tuning.scoring), cv=folds)


def set_prior(estimator, prior: float):
    """The real positive share, for a PriorShiftCorrected step (if any) wherever it sits in ``estimator``."""
    keys = [key for key in estimator.get_params() if key == "model__prior" or key.endswith("__model__prior")]
    return estimator.set_params(**dict.fromkeys(keys, prior)) if keys else estimator


def fit_model(estimator, X, y) -> bool:
    """Fit; says whether every solver run converged (on raw, unscaled features it may not)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y)
    return not stopped_early(caught)


def classifier_fit_failure(err: BaseException, classifier: type) -> str | None:
    """The estimator's own message when ``err`` is a ValueError raised inside the ``fit`` of a ``classifier``
    (the cell's class: RUSBoostClassifier's "worse than random", a forest given rows it cannot split), else
    None: an error anywhere else (a bad setting, a sampler, the project's own code) is not the classifier's.
    Read from the traceback's frames; a fit that failed in a joblib worker process (cv.n_jobs above 1) leaves
    its frames as text, where the classifier's fit is found by its classes' source files."""
    import inspect
    import re
    import traceback

    if not isinstance(err, ValueError):
        return None
    message = " ".join(str(err).split()) or type(err).__name__
    if any(frame.f_code.co_name == "fit" and isinstance(frame.f_locals.get("self"), classifier)
           for frame, _ in traceback.walk_tb(err.__traceback__)):
        return message
    remote = err.__cause__
    if remote is None or type(remote).__name__ != "_RemoteTraceback":
        return None
    files = set()
    for cls in classifier.__mro__:
        try:
            files.add(inspect.getsourcefile(cls))
        except TypeError:  # a built-in class
            continue
    called = re.findall(r'File "(.+)", line \d+, in (\w+)', str(remote))
    return message if any(name == "fit" and path in files for path, name in called) else None


def tuned_threshold(estimator) -> float | None:
    """The tuned threshold of a fitted TunedThresholdClassifierCV or of a loaded model, else None."""
    if hasattr(estimator, "best_threshold_"):
        return float(estimator.best_threshold_)
    return getattr(estimator, "tuned_threshold", None)


def fitted_pipeline(estimator):
    """The fitted imblearn Pipeline inside a (possibly threshold-tuned) estimator."""
    return estimator.estimator_ if hasattr(estimator, "best_threshold_") else estimator
