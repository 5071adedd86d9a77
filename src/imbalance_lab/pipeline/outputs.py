"""A stage's files: its inputs read (one line naming the file and the fix when one is missing or unreadable)
and its outputs written all together or not at all, floats rounded so that the JSON stays byte-stable.

Every stage module reads and writes through this one, so it is in every stage's deps.
"""

from __future__ import annotations

import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

from imbalance_lab.data.rounding import rounded
from imbalance_lab.settings.params import ClassifierSettings, PipelineError, StrategySettings


class StageOutputs:
    """A stage's outputs, each written to a temporary sibling first and all moved into place
    together at the end: a stage that fails (bad data, a full disk, a read-only folder) leaves
    its previous outputs as they were, never a mix of old and new."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def path(self, path: Path) -> Path:
        """The temporary file to write for ``path``: beside it (so that os.replace is atomic), hidden and ending
        in .tmp (git ignores `.*.tmp`), and named for this process alone (pid and random), so that two
        stages writing the same output at once never write, move or read each other's file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        self._pending.append((tmp, path))
        return tmp

    def json(self, path: Path, data, *, round_floats: bool = True) -> None:
        if round_floats:
            data = rounded(data)
        text = json.dumps(data, sort_keys=True, indent=2, allow_nan=False) + "\n"
        self.path(path).write_text(text, encoding="utf-8")

    def text(self, path: Path, text: str) -> None:
        self.path(path).write_text(text, encoding="utf-8")

    def frame(self, path: Path, frame) -> None:
        frame.to_parquet(self.path(path), index=False)

    def png(self, path: Path, fig) -> Path:
        from imbalance_lab.reporting.plots import save_png

        tmp = self.path(path)
        save_png(fig, tmp)
        return tmp

    def commit(self) -> None:
        for tmp, path in self._pending:
            os.replace(tmp, path)
        self._pending = []

    def discard(self) -> None:
        for tmp, _ in self._pending:
            tmp.unlink(missing_ok=True)
        self._pending = []


@contextmanager
def stage_outputs():
    outputs = StageOutputs()
    try:
        yield outputs
        outputs.commit()
    finally:
        outputs.discard()


def write_json(path: Path, data, *, round_floats: bool = True) -> None:
    with stage_outputs() as outputs:
        outputs.json(path, data, round_floats=round_floats)


REBUILD = "run `dvc checkout` or `dvc repro` to rebuild it"


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: missing; run `dvc repro` to build the stages before this one") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise PipelineError(f"{path}: not valid JSON ({type(err).__name__}); {REBUILD}") from None


def read_frame(path: Path):
    import pandas as pd

    if not path.exists():
        raise PipelineError(f"{path}: missing; run `dvc repro` to build the stages before this one")
    try:
        return pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several types for a truncated or foreign file
        raise PipelineError(f"{path}: not a readable Parquet file ({type(err).__name__}); {REBUILD}") from None


def read_model(path: Path, strategy: StrategySettings, classifier: ClassifierSettings,
               not_fittable: bool = False):
    """The saved model of the cell (strategy, classifier) as params.yaml gives it: a file that says it is another
    cell, classifier or settings, or that names anything outside the trusted classes, is refused, nothing built.
    The record of a cell that could not be fitted (checked as strictly) is returned as a modelfile.NotFittable
    with ``not_fittable``, else refused in one line."""
    from imbalance_lab.persistence.modelfile import (
        UntrustedModelError,
        is_not_fittable,
        model_from_dict,
        model_identity,
        not_fittable_from_dict,
    )

    try:
        data = read_json(path)
        if is_not_fittable(data):
            record = not_fittable_from_dict(data, model_identity(strategy, classifier))
            if not not_fittable:
                raise PipelineError(f"{path}: cell {record.cell} could not be fitted ({record.reason}, during "
                                      f"{record.during}), so it has no model; use a fitted cell (imbalance-lab "
                                      "leaderboard lists them)")
            return record
        return model_from_dict(data, model_identity(strategy, classifier))
    except UntrustedModelError as err:
        raise PipelineError(f"{path}: {err}; {REBUILD} (never load model files you do not trust)") from None
