"""`imbalance-lab leaderboard`: the ranked cells of the last run (reports/summary.json) in a terminal."""

from __future__ import annotations

import json
import os
import sys

from imbalance_lab.settings.params import PipelineError
from imbalance_lab.settings.paths import SUMMARY_JSON


def cmd_leaderboard(args) -> None:
    """The ranked strategies of the last `dvc repro`, readable in a terminal; a summary.json that is not the
    compare stage's is one line naming it and the fix, never a traceback."""
    from imbalance_lab.reporting.report import LEADERBOARD_WIDTH, SummaryError, terminal_leaderboard

    fix = f"run `dvc repro` to rebuild it, or `git checkout {SUMMARY_JSON.as_posix()}` for the committed one"
    try:
        summary = json.loads(SUMMARY_JSON.read_text(encoding="utf-8"))
        text = terminal_leaderboard(summary, None if args.wide else max(LEADERBOARD_WIDTH, terminal_width()))
    except FileNotFoundError:
        raise PipelineError(f"{SUMMARY_JSON}: missing; {fix}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise PipelineError(f"{SUMMARY_JSON}: not valid JSON ({type(err).__name__}); {fix}") from None
    except SummaryError as err:
        raise PipelineError(f"{SUMMARY_JSON}: not the summary the compare stage writes ({err}); {fix}") from None
    print(text, end="")


def terminal_width() -> int:
    """The columns of the terminal the output goes to: $COLUMNS if set, else the terminal's own width; 0 when
    it goes to a file or a pipe (where the leaderboard keeps to 100 columns, the same every time)."""
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else 0
