"""New rows scored by one cell's model: the score@<file> stage and `imbalance-lab predict`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from imbalance_lab.pipeline.outputs import REBUILD, StageOutputs, read_json, read_model, stage_outputs
from imbalance_lab.settings.params import PipelineError, evaluate_settings, load, score_settings, source_settings
from imbalance_lab.settings.paths import DATA_JSON, PARAMS, cell_file

log = logging.getLogger("imbalance_lab")


def score_file(params, cell: str, path: Path, *, threshold, unseen: str, id_name: str | None):
    """Score the rows of a user's file with the cell's model (predict.py); every check before anything is written."""
    from imbalance_lab.data.dataset import DataError
    from imbalance_lab.data.sources import read_table
    from imbalance_lab.models.scoring import cell_settings, decision_threshold, predict

    strategy, classifier = cell_settings(params, cell)
    model_path = cell_file("model", cell)
    if not model_path.is_file():
        raise PipelineError(f"{model_path}: missing, so cell {cell} cannot score; run `dvc repro` (it trains every "
                              "cell of grid.strategies x grid.classifiers) or `dvc pull`")
    model = read_model(model_path, strategy, classifier)  # identity checked, nothing unpickled
    cost = None
    if threshold == "cost":
        cv_path = cell_file("cv", cell)
        cost = read_json(cv_path).get("cost_tuned", {}).get("threshold")
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not 0 <= cost <= 1:
            raise PipelineError(f"{cv_path}: holds no cost-tuned threshold (cost_tuned.threshold); {REBUILD}")
    chosen = decision_threshold(threshold, model, fixed=evaluate_settings(params).threshold, cost_tuned=cost)
    if not path.is_file():
        raise DataError(f"{path}: no such file; name the .csv or .parquet file of the rows to score")
    scored = predict(model, read_table(path), read_json(DATA_JSON), cell=cell, threshold=chosen,
                     missing=source_settings(params).missing, unseen=unseen, id_name=id_name, origin=str(path))
    for note in scored.notes:
        log.warning("note: %s", note)
    log.info("%s rows scored by cell %s at threshold %.6g (%s)", f"{len(scored.frame):,}", cell,
             chosen.value, chosen.source)
    return scored.frame


def write_scores(outputs: StageOutputs, path: Path, frame) -> None:
    from imbalance_lab.models.scoring import to_csv

    if path.suffix.lower() == ".parquet":
        outputs.frame(path, frame)
    else:
        outputs.text(path, to_csv(frame))


def cmd_predict(args) -> None:
    """Score a user's file with one cell: one row out per row in, to --out or standard output."""
    from imbalance_lab.models.scoring import to_csv

    _, input_path = args.file  # (as typed, where it is)
    out = args.out[1] if args.out else None
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise PipelineError(f"--out {args.out[0]}: scores are written as .csv or .parquet; end the name in one")
    params = load(PARAMS)
    settings = score_settings(params)
    frame = score_file(params, args.cell, shown_path(input_path), threshold=args.threshold or settings.threshold,
                       unseen=args.unseen or settings.unseen, id_name=args.id if args.id is not None else settings.id)
    if out is None:
        sys.stdout.write(to_csv(frame))
        return
    with stage_outputs() as outputs:
        write_scores(outputs, out, frame)


def cmd_score(args) -> None:
    """The score@<file> stage: data/to_score/<file> scored by score.cell, to data/scores/<file>."""
    from imbalance_lab.settings.paths import SCORE_INPUTS, SCORES

    params = load(PARAMS)
    settings = score_settings(params)
    if args.file not in settings.inputs:
        raise PipelineError(f"{args.file!r}: not a file of score.inputs in params.yaml "
                              f"({', '.join(settings.inputs) or 'none'}); add it there, or use `imbalance-lab predict`")
    frame = score_file(params, settings.cell, SCORE_INPUTS / args.file, threshold=settings.threshold,
                       unseen=settings.unseen, id_name=settings.id)
    with stage_outputs() as outputs:
        write_scores(outputs, SCORES / args.file, frame)


def shown_path(path: Path) -> Path:
    """``path`` relative to the project root (the working directory by then) when inside it, as messages show it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
