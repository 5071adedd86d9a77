"""Scoring new rows with one trained cell: `imbalance-lab predict` and the `score@<file>` stages.

The rows go the way the training rows went: the same reader (data.read_table), the same column
shapes (data.tidy_features: categories as text labels, numbers as float64), the same rule for gaps
(data.missing), then the cell's stored prediction path (its imputers, scaler, one-hot encoder and
classifier, or its calibrated classifiers: the probabilities are those the evaluate stage computes).
Every problem is one line naming the file, column or cell and the fix; nothing is written before.

Decisions the user should know (README, "Scoring new data"):
- extra columns are ignored, with a note naming them; a column named like the label is ignored too;
- a category the model never saw in a categorical column is refused, naming it; with ``unseen: ignore``
  such a row is scored as the model's one-hot encoder scores it (handle_unknown="ignore"): all of
  that column's one-hot columns 0, so none of its known categories' effects apply;
- the id column is ``--id`` / ``score.id``, else the first column that is neither a feature nor the
  label, else the row's number in the file (``row``, counting from 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from imbalance_lab.data.dataset import DataError
from imbalance_lab.data.rounding import significant
from imbalance_lab.data.tidy import check_gaps, tidy_features
from imbalance_lab.settings.params import (
    CELL_JOIN,
    ClassifierSettings,
    PipelineError,
    StrategySettings,
    classifier_names,
    classifier_settings,
    grid_settings,
    strategy_names,
    strategy_settings,
)

ROW_NUMBER = "row"  # the id column's name when rows are identified by their number in the file
OUTPUT_COLUMNS = ("probability", "decision")  # then predicted_<label column>, threshold
DIGITS = 6  # significant digits of the probabilities written (the decisions use the unrounded ones)


@dataclass(frozen=True)
class Threshold:
    value: float
    source: str  # how it was chosen, for the log line


def cell_settings(params: Mapping, cell: str) -> tuple[StrategySettings, ClassifierSettings]:
    """The strategy's and classifier's settings of ``cell`` (``<strategy>-<classifier>``, both defined in
    params.yaml; the cell need not be in the grid: its model file says what it was trained with)."""
    strategy, joined, classifier = cell.partition(CELL_JOIN)
    if not joined or strategy not in strategy_names(params) or classifier not in classifier_names(params):
        cells = grid_settings(params).cells()
        raise PipelineError(f"cell {cell!r}: not a cell of params.yaml (<strategy>-<classifier>); name one of "
                              f"{', '.join(cells)} (`imbalance-lab leaderboard` ranks them)")
    return strategy_settings(params, strategy), classifier_settings(params, classifier)


def decision_threshold(choice: str | float, model, *, fixed: float, cost_tuned: float | None) -> Threshold:
    """The threshold ``choice`` names: ``cell`` the evaluate stage's (the tuned one where the strategy tunes one,
    else evaluate.threshold ``fixed``), ``fixed``, ``cost`` (the train stage's cost-tuned one), or a number."""
    if not isinstance(choice, str):
        return Threshold(float(choice), "given")
    if choice == "cell":
        tuned = model.tuned_threshold
        return Threshold(fixed, "evaluate.threshold") if tuned is None else \
            Threshold(float(tuned), "tuned by threshold_tuning.scoring")
    if choice == "fixed":
        return Threshold(fixed, "evaluate.threshold")
    if choice == "cost":
        assert cost_tuned is not None, "threshold choice 'cost' needs the train stage's cost-tuned threshold"
        return Threshold(float(cost_tuned), "tuned to the costs")
    raise ValueError(f"unknown threshold choice {choice!r}")


def known_categories(model) -> dict[str, set[str]]:
    """Per categorical column, the categories every one-hot encoder of ``model`` knows (a calibrated cell holds
    one pipeline per inner fold: a category one of them never saw is unseen to it)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    members = getattr(model, "calibrated_classifiers_", None)
    pipelines = [member.estimator for member in members] if members else [model]
    known: dict[str, set[str]] = {}
    for pipeline in pipelines:
        for _, step in pipeline.steps:
            if not isinstance(step, ColumnTransformer):
                continue
            for _, part, columns in step.transformers_:
                if isinstance(part, OneHotEncoder):
                    for column, categories in zip(columns, part.categories_, strict=True):
                        seen = {str(category) for category in categories}
                        known[column] = known[column] & seen if column in known else seen
    return known


def id_column(frame: pd.DataFrame, features: list[str], target: str, requested: str | None,
              origin: str) -> str | None:
    """The column identifying each row in the output (None: the row's number)."""
    columns = [str(name) for name in frame.columns]
    chosen: str | None
    if requested is not None:
        if requested in columns:
            chosen = requested
        elif requested == ROW_NUMBER:
            return None
        else:
            raise DataError(f"{origin}: no column {requested!r} to identify the rows by (--id / score.id); its "
                            f"columns are: {', '.join(columns)}; or --id {ROW_NUMBER} for the rows' numbers")
    else:
        chosen = next((name for name in columns if name not in features and name != target), None)
    if chosen is not None and (chosen in OUTPUT_COLUMNS or chosen in ("threshold", f"predicted_{target}")):
        raise DataError(f"{origin}: the id column {chosen!r} is named like a column of the scores; rename it in "
                        "the file, or name another with --id (score.id)")
    return chosen


def prepare_rows(frame: pd.DataFrame, *, features: list[str], categorical: list[str], missing: str,
                 known: Mapping[str, set[str]], unseen: str, origin: str, cell: str) -> tuple[pd.DataFrame, list[str]]:
    """The model's feature columns of ``frame`` shaped as the training rows were, and notes for the user.
    A missing feature column, text in a numeric one, a gap (data.missing: reject) or an unseen category
    (``unseen``: refuse) is a DataError naming it."""
    columns = [str(name) for name in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    absent = [name for name in features if name not in columns]
    if absent:
        raise DataError(f"{origin}: no column {absent[0]!r}, which cell {cell}'s model reads; it reads "
                        f"{', '.join(features)}: add the column, named as in the training data")
    X = tidy_features(frame, features, categorical, origin, not_numeric_fix=(
        f"cell {cell}'s model reads it as a number (it was numeric in the training data): fix that value"))
    check_gaps(X, missing, origin, fix=f"the model was trained with data.missing: {missing} and cannot fill "
                                       "them: fill them in the file (or set data.missing: impute and rerun "
                                       "`dvc repro`)")
    notes = []
    for name in categorical:
        values = X[name].astype(object)
        new = values[values.notna() & ~values.isin(sorted(known.get(name, ())))]
        if new.empty:
            continue
        first, rows = str(new.iloc[0]), len(new)
        effect = (f"with unseen: ignore (--unseen ignore, score.unseen) a row is scored as the model's one-hot "
                  f"encoder scores it: all of {name!r}'s one-hot columns 0, none of its known categories' effects")
        if unseen == "refuse":
            known_list = ", ".join(sorted(known.get(name, ())))
            raise DataError(f"{origin}: column {name!r} holds the category {first!r} ({rows} rows), which cell "
                            f"{cell}'s model never saw in training (it knows {known_list}); fix the value, or "
                            f"{effect}")
        notes.append(f"{rows} rows hold categories of {name!r} the model never saw (e.g. {first!r}): scored with "
                     f"all of {name!r}'s one-hot columns 0 (unseen: ignore)")
    return X, notes


def score_rows(model, X: pd.DataFrame) -> np.ndarray:
    """The probability of the positive class, as the evaluate stage computes it (calibrated where the cell
    calibrates: the stored model is then the CalibratedClassifierCV)."""
    return model.predict_proba(X)[:, 1]


def scores_frame(ids: pd.Series | None, id_name: str | None, probability: np.ndarray, threshold: float, *,
                 target: str, positive: Any, negative: Any) -> pd.DataFrame:
    """One row per input row, in input order: id, probability (rounded), decision 0/1, the label it stands for,
    the threshold used."""
    from imbalance_lab.evaluation.metrics import predict_labels

    decision = predict_labels(probability, threshold)  # the unrounded probabilities, as evaluate decides
    rounded = [significant(value, DIGITS) for value in probability]
    labels = np.array([positive, negative], dtype=object)[1 - decision]
    identity = ids.to_numpy() if ids is not None else np.arange(1, len(probability) + 1)
    return pd.DataFrame({id_name or ROW_NUMBER: identity, "probability": rounded, "decision": decision,
                         f"predicted_{target}": labels, "threshold": significant(threshold, DIGITS)})


def to_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


@dataclass(frozen=True)
class Scored:
    frame: pd.DataFrame
    notes: list[str]
    threshold: Threshold


def predict(model, frame: pd.DataFrame, data_info: Mapping, *, cell: str, threshold: Threshold, missing: str,
            unseen: str, id_name: str | None, origin: str) -> Scored:
    """Score the rows of a user's table (``frame`` as data.read_table reads it) with the cell's loaded model.
    ``data_info`` is the generate stage's reports/data.json (label, classes, categorical columns)."""
    features = list(model.feature_names_in_)
    target, categorical = str(data_info["target"]), list(data_info["categorical"])
    described = set(data_info["numeric"]) | set(categorical)
    if described != set(features):
        raise PipelineError(f"cell {cell}: its model reads the columns {', '.join(features)}, but reports/data.json "
                              f"describes {', '.join(sorted(described))}: they come from different runs; run "
                              "`dvc repro` (or `dvc checkout`) so that both are this commit's")
    frame = frame.set_axis([str(name) for name in frame.columns], axis=1)
    chosen = id_column(frame, features, target, id_name, origin)
    X, notes = prepare_rows(frame, features=features, categorical=categorical, missing=missing,
                            known=known_categories(model), unseen=unseen, origin=origin, cell=cell)
    extra = [name for name in frame.columns if name not in features and name not in (target, chosen)]
    if extra:
        notes.insert(0, f"ignoring {len(extra)} column{'s' if len(extra) > 1 else ''} the model does not read: "
                        f"{', '.join(extra)}")
    try:
        probability = score_rows(model, X)
    except ValueError as err:  # what the checks above did not foresee, e.g. gaps a model without imputer meets
        raise DataError(f"{origin}: cell {cell}'s model cannot score these rows ({str(err).splitlines()[0]}); "
                        "check the file against the training data's columns") from None
    ids = frame[chosen] if chosen is not None else None
    negative = data_info.get("negative", 0)  # article and synthetic data: labels 1 and 0
    table = scores_frame(ids, chosen, probability, threshold.value, target=target, positive=data_info["positive"],
                         negative=negative)
    return Scored(table, notes, threshold)
