"""Is a data set fit to rank on? Columns that would make every cell look good for the wrong reason.

A benchmark of many real data sets is only as honest as its least-checked set: a column that restates the
label (loanapp's `approve` beside `reject`; nassCDS's injury severity, where 4 means killed) lets every cell
score near-perfectly, and an identifier or free text (nassCDS's `caseid`, email's `time`) one-hot encoded
becomes thousands of columns that fit the training folds by heart. Each is found from the data alone, before
any fit: a feature that on its own orders the rows by class almost perfectly, and a text column with too
many distinct values to be a category. A restatement need not order every row: VietNamI's `actdays` (days of
activity lost to the injury) is above 0 for 183 of the 269 injured and for nobody else, so one cut of that
column holds only the rare class and most of it. A user then leaves the column out (``drop``), on purpose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from imbalance_lab.settings.params import BenchmarkDataset, ConfigError, SourceSettings

LEAK_AUC = 0.97  # one column's ROC AUC alone (either direction); ISLR/Default's balance, a real signal, is 0.948
ID_LEVELS, ID_SHARE = 100, 0.2  # more distinct texts than this, and than this share of the rows: not a category
PURE_SHARE, PURE_ROWS = 0.5, 20  # one cut of a column holding only rare rows, at least this share and this many


def _pure_cut_share(score: pd.Series, labels: pd.Series) -> float:
    """The largest share of the rare rows that one cut of ``score`` (above or below a value) isolates with
    no other row, or 0 when that is fewer than PURE_ROWS rows."""
    from sklearn.metrics import precision_recall_curve

    rare = int(labels.sum())
    best = 0.0
    for oriented in (score, -score):
        precision, recall, _ = precision_recall_curve(labels, oriented)
        pure = recall[precision >= 1.0]
        if len(pure) and pure.max() * rare >= PURE_ROWS:
            best = max(best, float(pure.max()))
    return best


def suspect_columns(X: pd.DataFrame, y) -> dict[str, str]:
    """{column: why it is suspect} for the columns that look like a leak or an identifier."""
    from sklearn.metrics import roc_auc_score

    y = pd.Series(y, index=X.index).astype(int)
    found = {}
    for name in X.columns:
        column = X[name]
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        if not numeric:
            levels = column.astype("string").fillna("<missing>")
            distinct = int(levels.nunique())
            if distinct > ID_LEVELS and distinct > ID_SHARE * len(levels):
                found[name] = (f"{distinct:,} distinct values in {len(levels):,} rows: an identifier or free "
                               "text, not a category")
                continue
            score = y.groupby(levels).transform("mean")  # each level's share of the rare class
        else:
            known = column.notna()
            score, labels = column[known].astype(float), y[known]
            if labels.nunique() < 2:
                continue
            auc = roc_auc_score(labels, score)
            auc = max(auc, 1 - auc)
            pure = _pure_cut_share(score, labels)
            if auc >= LEAK_AUC:
                found[name] = f"alone orders the rows by class (ROC AUC {auc:.3f}): it may restate the label"
            elif pure >= PURE_SHARE:
                found[name] = (f"one cut of it holds {pure:.0%} of the rare rows and no other row: it may restate "
                               "the label")
            continue
        auc = roc_auc_score(y, score)
        if auc >= LEAK_AUC:
            found[name] = f"its values alone tell the classes apart (ROC AUC {auc:.3f}): it may restate the label"
    return found


def benchmark_frame(raw: pd.DataFrame, dataset: BenchmarkDataset, origin: str,
                    key: str) -> tuple[pd.DataFrame, np.ndarray, dict[str, Any]]:
    """(X, y, facts) of one benchmark set: ``dataset.drop`` left out, the rest read as the generate stage reads a
    user's table (data/tidy.py: every problem a one-line error naming the column and the fix), the columns that
    are not numeric one-hot encoded unless ``dataset.categorical`` says which, and the leak and identifier check
    (:func:`suspect_columns`) passed or the column named under ``key``.keep."""
    from imbalance_lab.data.dataset import DataError, features_and_target
    from imbalance_lab.data.tidy import tidy_frame

    named = [*(dataset.drop or ()), *(dataset.keep or ())]
    absent = [name for name in named if name not in raw.columns]
    if absent:
        part = "drop" if absent[0] in (dataset.drop or ()) else "keep"
        raise ConfigError(f"params.yaml: '{key}.{part}' names {absent[0]!r}, which is not a column of {origin}; "
                          f"its columns are: {', '.join(map(str, raw.columns))}")
    raw = raw.drop(columns=list(dataset.drop or ()))
    features = [str(name) for name in raw.columns if name != dataset.target]
    categorical = (list(dataset.categorical) if dataset.categorical is not None else
                   [name for name in features if not pd.api.types.is_numeric_dtype(raw[name])])
    settings = SourceSettings(source=dataset.source, missing=dataset.missing, features=tuple(features),
                              categorical=tuple(categorical), target=dataset.target, positive=dataset.positive)
    frame, labels = tidy_frame(raw, settings, origin, target=str(dataset.target), positive=dataset.positive)
    X, y = features_and_target(frame)
    suspects = {name: why for name, why in suspect_columns(X, y).items() if name not in (dataset.keep or ())}
    if suspects:
        name, why = next(iter(suspects.items()))
        raise DataError(f"{origin}: column {name!r}: {why}; leave it out ({key}.drop) or keep it on purpose "
                        f"({key}.keep)")
    rare = int(y.sum())
    return X, y, {"rows": len(y), "rare": rare, "rare_share": rare / len(y), "features": len(features),
                  "categorical": categorical, "dropped": list(dataset.drop or ()), **labels}
