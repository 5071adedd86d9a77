"""The one registry of the classifiers a cell may use: ``classifiers.<name>.classifier`` names one of them.

Settings check names against it, models build from it, and the model-file loader trusts exactly these
classes by their full names (where the class is defined): a class is imported from its module as written
here, never from a name in params.yaml or a file.
"""

from __future__ import annotations

import importlib
from functools import cache

# class name -> (the module to import it from, the module that defines it: its full name in a model file)
CLASSIFIERS: dict[str, tuple[str, str]] = {
    "LogisticRegression": ("sklearn.linear_model", "sklearn.linear_model._logistic"),
    "HistGradientBoostingClassifier": (
        "sklearn.ensemble", "sklearn.ensemble._hist_gradient_boosting.gradient_boosting"),
    "RandomForestClassifier": ("sklearn.ensemble", "sklearn.ensemble._forest"),
    "BalancedRandomForestClassifier": ("imblearn.ensemble", "imblearn.ensemble._forest"),
    "EasyEnsembleClassifier": ("imblearn.ensemble", "imblearn.ensemble._easy_ensemble"),
    "RUSBoostClassifier": ("imblearn.ensemble", "imblearn.ensemble._weight_boosting"),
    "BalancedBaggingClassifier": ("imblearn.ensemble", "imblearn.ensemble._bagging"),
}
# Each classifier's full name, as a model file names its class.
FULL_NAMES: dict[str, str] = {name: f"{defined}.{name}" for name, (_, defined) in CLASSIFIERS.items()}


@cache
def classifier_class(name: str) -> type:
    """The class registered as ``name`` (a KeyError for any other name)."""
    module, _ = CLASSIFIERS[name]
    return getattr(importlib.import_module(module), name)


def classifier_classes() -> dict[str, type]:
    """Every registered classifier class, by class name (imports scikit-learn and imbalanced-learn)."""
    return {name: classifier_class(name) for name in CLASSIFIERS}
