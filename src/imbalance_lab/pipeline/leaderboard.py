"""`imbalance-lab leaderboard`: the ranked cells of the last run (reports/summary.json) in a terminal."""

from __future__ import annotations

import json
import os
import sys

from imbalance_lab.settings.params import PipelineError
from imbalance_lab.settings.paths import BENCHMARK_SUMMARY, SUMMARY_JSON


def cmd_leaderboard(args) -> None:
    """The ranked strategies of the last `dvc repro` (with ``--benchmark``: the ranking across data sets),
    readable in a terminal; a summary that is not its stage's is one line naming it and the fix, never a
    traceback."""
    from imbalance_lab.reporting.report import (
        LEADERBOARD_WIDTH,
        SummaryError,
        benchmark_leaderboard,
        terminal_leaderboard,
    )

    path, stage = (BENCHMARK_SUMMARY, "rank") if args.benchmark else (SUMMARY_JSON, "compare")
    draw = benchmark_leaderboard if args.benchmark else terminal_leaderboard
    fix = f"run `dvc repro` to rebuild it, or `git checkout {path.as_posix()}` for the committed one"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        text = draw(summary, None if args.wide else max(LEADERBOARD_WIDTH, terminal_width()))
    except FileNotFoundError:
        raise PipelineError(f"{path}: missing; {fix}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise PipelineError(f"{path}: not valid JSON ({type(err).__name__}); {fix}") from None
    except SummaryError as err:
        raise PipelineError(f"{path}: not the summary the {stage} stage writes ({err}); {fix}") from None
    print(text, end="")


def terminal_width() -> int:
    """The columns of the terminal the output goes to: $COLUMNS if set, else the terminal's own width; 0 when
    it goes to a file or a pipe (where the leaderboard keeps to 100 columns, the same every time)."""
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else 0
