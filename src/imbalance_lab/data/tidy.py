"""A user's table brought to the pipeline's shape (see :mod:`imbalance_lab.data.dataset`), or one line saying why not.

Every problem is a DataError or ConfigError that names the file or data set, the column and the fix;
names, labels and categories that would break a report or a terminal are refused here, before any
message lists them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from imbalance_lab.data.dataset import DataError
from imbalance_lab.settings.params import ConfigError, SourceSettings

# Beyond this size squared distances and variances overflow float64 (SMOTE, scaling, fitting).
LARGEST_VALUE = 1e100

# What YAML 1.1 readers (and people) take for true and false: `positive: yes` may reach us as true.
YES_NO = {True: ("yes", "y", "true", "on"), False: ("no", "n", "false", "off")}


def label_classes(labels: pd.Series, positive, origin: str, target: str) -> tuple[Any, str]:
    """The positive label as the column holds it, and how to name the other class.

    ``positive`` may be YAML's true/false where the column holds yes/no text: it is taken as the one
    label spelled that way. The other class is named by its label when there is one, else "not <positive>".
    """
    values = sorted(map(str, labels.unique()))
    if len(values) < 2:
        raise DataError(f"{origin}: column {target!r} holds only the class {values[0]!r}; both classes are needed")
    if positive is None:
        positive = _implied_positive(values, origin, target)
    if isinstance(positive, bool) and not pd.api.types.is_bool_dtype(labels):
        positive = _spelled_positive(positive, values, origin, target)
    numeric = pd.api.types.is_numeric_dtype(labels) and not isinstance(positive, str)
    if str(positive) not in values and not (numeric and float(positive) in set(labels.astype(float))):
        raise ConfigError(
            f"params.yaml: 'data.positive' is {positive!r}, which {origin}'s column {target!r} never holds; "
            f"use one of: {', '.join(values[:10])}"
        )
    unique = pd.Series(labels.unique())
    others = sorted(map(str, unique[_label_mask(unique, positive) == 0]))
    return positive, others[0] if len(others) == 1 else f"not {positive}"


def _implied_positive(values: list[str], origin: str, target: str) -> int:
    """1 when the labels are 0 and 1; any other labels need data.positive."""
    if set(values) <= {"0", "1", "0.0", "1.0"}:
        return 1
    raise ConfigError(
        f"params.yaml: 'data.positive' is needed: which value of {origin}'s column {target!r} is the rare "
        f"class? Its values: {', '.join(values[:10])}"
    )


def _spelled_positive(positive: bool, values: list[str], origin: str, target: str) -> str:
    """The one label of ``values`` spelled as YAML's ``positive`` (yes/y/true/on or no/n/false/off)."""
    spelled = [value for value in values if value.lower() in YES_NO[positive]]
    if len(spelled) != 1:
        raise ConfigError(
            f"params.yaml: 'data.positive' is {str(positive).lower()} (YAML's yes/no value), which {origin}'s "
            f"column {target!r} never holds; its values: {', '.join(values[:10])}. Quote the label: "
            f"positive: '{values[-1]}' in params.yaml, or -S \"data.positive='{values[-1]}'\""
        )
    return spelled[0]


def _label_mask(values: pd.Series, positive) -> np.ndarray:
    """1 where the label is the positive class, compared as numbers when both are numbers."""
    if pd.api.types.is_numeric_dtype(values) and not isinstance(positive, str):
        return (values.to_numpy(dtype=float) == float(positive)).astype(np.int64)
    return (values.astype(str).to_numpy() == str(positive)).astype(np.int64)


# Characters a name must not hold: control characters (NUL, newline, CR, ESC, BEL, ...), Unicode line breaks and
# the bidirectional overrides that reorder text on screen. Any of them would break a report's table, make git see
# summary.md as binary, or reach a terminal as a command.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Markdown link or image syntax, inline ([x](url), ![x](url)) or by reference ([x][ref]); with a space between
# (`[x] (y)`) it is text.
MARKDOWN_LINK = re.compile(r"\[[^\]]*\][(\[]")


def unsafe_character(text: str) -> str | None:
    """The first character of ``text`` that must not reach a report or a terminal, or None."""
    return next((ch for ch in text if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in BIDI_CONTROLS), None)


def name_problem(text: str) -> str | None:
    """Why ``text`` (a column name, a label, a category) cannot be shown in the reports as written, or None."""
    character = unsafe_character(text)
    if character is not None:
        return f"holds the control character {character!r}"
    if MARKDOWN_LINK.search(text):
        return "is Markdown link or image syntax (a live link or a remote image in reports/summary.md)"
    return None


def check_names(frame: pd.DataFrame, origin: str) -> None:
    """Every column name of a user's table, before any message lists them."""
    for name in frame.columns:
        problem = name_problem(str(name))
        if problem:
            raise DataError(f"{origin}: the column name {str(name)!r} {problem}; rename the column in the file "
                            "(letters, digits, spaces and plain punctuation)")


def check_values(values, origin: str, column: str, what: str) -> None:
    """Labels or categories of ``column`` that the reports and pictures show."""
    for value in values:
        problem = name_problem(str(value))
        if problem:
            raise DataError(f"{origin}: column {column!r} holds the {what} {str(value)!r}, which {problem}; "
                            "rename that value in the file")


def check_encoded_names(frame: pd.DataFrame, categorical: Sequence[str], origin: str) -> None:
    """No one-hot column may take the name of a numeric column or of another one-hot column: ``region=north`` (a
    number) beside the category ``north`` of ``region`` would share a coefficient in the model's explanation. The
    names are the encoder's own (get_feature_names_out, as the pipeline's OneHotEncoder names its columns) and the
    reports' ``name=value`` (model.py's explanation)."""
    from sklearn.preprocessing import OneHotEncoder

    shown = [name for name in categorical if len(frame[name].cat.categories)]
    if not shown:
        return
    categories = [[str(c) for c in frame[name].cat.categories] for name in shown]
    encoder = OneHotEncoder(categories=categories, handle_unknown="ignore")
    encoder.fit(pd.DataFrame({name: values[:1] for name, values in zip(shown, categories, strict=True)}))
    owners = {name: f"column {name!r}" for name in frame.columns if name not in categorical}  # kept as named
    for combiner in ("concat", lambda feature, category: f"{feature}={category}"):
        encoded = encoder.set_params(feature_name_combiner=combiner).get_feature_names_out(shown)
        sources = [(name, value) for name, values in zip(shown, categories, strict=True) for value in values]
        seen = dict(owners)
        for label, (name, value) in zip(encoded, sources, strict=True):
            source = f"category {value!r} of the categorical column {name!r}"
            if label in seen:
                raise DataError(
                    f"{origin}: once one-hot encoded, {source} is named {str(label)!r}, as is the {seen[label]}; "
                    "their coefficients would be mixed up: rename one of the two columns (or that category)")
            seen[label] = source


def tidy_frame(frame: pd.DataFrame, settings: SourceSettings, origin: str, *, target: str, positive=None,
               categorical: Sequence[str] = ()) -> tuple[pd.DataFrame, dict]:
    """Check a user's table and bring it to the pipeline's shape (see the module docstring), with its
    two classes' labels ({"positive": ..., "negative": ...}).

    ``origin`` names the file or data set in messages; ``categorical`` are the data set's own categorical
    columns (data.categorical overrides them). Every problem is a DataError or ConfigError that says which
    column and what would fix it; nothing is written before.
    """
    check_names(frame, origin)
    frame = frame.set_axis([str(column) for column in frame.columns], axis=1)
    y, classes = _target(frame, target, positive, origin)
    features = _feature_names(settings, list(frame.columns), target, origin)
    chosen = list(settings.categorical) if settings.categorical is not None else list(categorical)
    _check_categorical(chosen, features, origin)
    result = tidy_features(frame, features, chosen, origin)
    check_encoded_names(result, chosen, origin)
    check_gaps(result, settings.missing, origin)
    result[target] = y
    return result, classes


def _target(frame: pd.DataFrame, target: str, positive, origin: str) -> tuple[np.ndarray, dict]:
    """The 0/1 label of column ``target`` and its two classes' labels; every class needs 2 rows (the split)."""
    if target not in frame.columns:
        raise DataError(f"{origin}: no column {target!r} (data.target); its columns are: {', '.join(frame.columns)}")
    labels = frame[target]
    if labels.isna().any():
        raise DataError(
            f"{origin}: column {target!r} (the label) is missing in {int(labels.isna().sum())} rows; "
            "remove those rows or fill in their labels"
        )
    check_values(sorted(map(str, labels.dropna().unique())), origin, target, "label")
    positive, negative = label_classes(labels, positive, origin, target)
    y = _label_mask(labels, positive)
    for rows, kind in ((y.sum(), f"the positive class ({positive!r})"),
                       (len(y) - y.sum(), f"the other class ({negative!r})")):
        if rows < 2:  # label_classes leaves at least 1
            raise DataError(
                f"{origin}: column {target!r} holds only 1 row of {kind}; the stratified train/test split needs "
                "at least 2 rows of each class; add rows of that class"
            )
    return y, {"positive": positive, "negative": negative}


def _feature_names(settings: SourceSettings, columns: list[str], target: str, origin: str) -> list[str]:
    """data.features, each a column of the table and not the target; by default every column but the target."""
    features = list(settings.features) if settings.features is not None else [c for c in columns if c != target]
    absent = [name for name in features if name not in columns]
    if absent or target in features:
        problem = f"names {absent[0]!r}, which is not a column" if absent else f"includes the target {target!r}"
        raise ConfigError(f"params.yaml: 'data.features' {problem} of {origin}; its columns are: {', '.join(columns)}")
    if not features:
        raise ConfigError(f"params.yaml: 'data.features' leaves no feature column in {origin}")
    return features


def _check_categorical(categorical: list[str], features: list[str], origin: str) -> None:
    for name in categorical:
        if name not in features:
            raise ConfigError(
                f"params.yaml: 'data.categorical' names {name!r}, which is not among the features of {origin}; "
                f"its features are: {', '.join(features)}"
            )


NOT_NUMERIC_FIX = "add it to data.categorical in params.yaml to one-hot encode it, or leave it out of data.features"
GAPS_FIX = ("set data.missing: impute in params.yaml to fill them (median / most frequent value, learnt on the "
            "training rows only), or fill them in the file")


def tidy_features(frame: pd.DataFrame, features: Sequence[str], categorical: Sequence[str], origin: str, *,
                  not_numeric_fix: str = NOT_NUMERIC_FIX) -> pd.DataFrame:
    """The ``features`` columns of ``frame`` in the pipeline's shape: those in ``categorical`` as pandas
    categories of their labels as text, the others as finite float64 numbers (a column of text that are not
    numbers is a ConfigError naming it, with ``not_numeric_fix``). The generate stage and `predict` share it."""
    tidy = {}
    for name in features:
        column = frame[name]
        if name in categorical:
            tidy[name] = pd.Categorical(column.where(column.isna(), column.astype(str)))  # labels as text
        elif pd.api.types.is_numeric_dtype(column) or column.isna().all():
            tidy[name] = _finite(column.astype("float64"), origin, name)
        else:
            text = column.dropna()
            not_numbers = text[pd.to_numeric(text.astype(str), errors="coerce").isna()]
            example = (not_numbers if len(not_numbers) else text).iloc[0]
            raise ConfigError(f"{origin}: column {name!r} is not numeric (e.g. {example!r}); {not_numeric_fix}")
    result = pd.DataFrame(tidy)
    for name in categorical:
        check_values(result[name].cat.categories, origin, name, "category")
    return result


def check_gaps(X: pd.DataFrame, missing: str, origin: str, fix: str = GAPS_FIX) -> None:
    """With data.missing: reject, a missing feature value is a DataError naming the columns and their rows."""
    gaps = {name: int(count) for name, count in X.isna().sum().items() if count}
    if gaps and missing == "reject":
        listed = ", ".join(f"{name!r} ({count} rows)" for name, count in gaps.items())
        raise DataError(f"{origin}: missing values in {listed}; {fix}")


def _finite(values: pd.Series, origin: str, name: str) -> pd.Series:
    """``values`` unchanged, unless one is infinite or so large that the arithmetic overflows."""
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError(f"{origin}: column {name!r} holds an infinite value ({values[infinite].iloc[0]}) in "
                        f"{int(infinite.sum())} rows; remove or replace it")
    huge = values.abs() > LARGEST_VALUE
    if huge.any():
        raise DataError(f"{origin}: column {name!r} holds {values[huge].iloc[0]:g}, beyond {LARGEST_VALUE:g} in "
                        "size, where squared distances and variances overflow; rescale the column (e.g. to "
                        "thousands or millions)")
    return values
