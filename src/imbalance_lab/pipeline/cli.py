"""`python -m imbalance_lab <stage> [strategy [classifier]]`: one command per pipeline stage.

Only the parser, logging, error handling and dispatch live here. Each command is a function of its own module
(check, prepare, resample, train, evaluate, ceiling, compare, score, benchmark, rank; leaderboard and remote
are not stages), imported only when it runs: a stage imports the code it runs and no other, so dvc.yaml's deps
can list exactly that code and an edit of one stage's module reruns that stage alone. Each stage module reads
its inputs, calls its pure step and writes what it returns through ``outputs`` (all outputs or none).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path


# Pin BLAS/OpenMP threads before numpy loads: on two cores, idle spinning threads slow small fits ~50x
# when another stage or test runs beside this one. threadpoolctl cannot do this here: it limits only the
# libraries already loaded, and scipy loads its own OpenBLAS later, inside a stage.
def pin_threads() -> None:
    from imbalance_lab import THREAD_PINS

    for variable in THREAD_PINS:
        os.environ.setdefault(variable, "1")


pin_threads()  # also in each warm stage, whose environment is its caller's (see warm.py)

from imbalance_lab.pipeline.stage_names import STAGES  # noqa: E402
from imbalance_lab.settings.params import UNSEEN_CATEGORIES, PipelineError  # noqa: E402  (after the thread pins)
from imbalance_lab.settings.paths import project_root  # noqa: E402

log = logging.getLogger("imbalance_lab")


STRATEGY = ("strategy", "a key under 'strategies' in params.yaml")
CLASSIFIER = ("classifier", "a key under 'classifiers' in params.yaml")
# Each stage of stage_names.STAGES: the "module:function" of this package that runs it, its help, its arguments.
STAGE_COMMANDS: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "check": ("check:cmd_check", "check every setting in params.yaml (first stage: a bad value loses nothing)", ()),
    "generate": ("prepare:cmd_generate", "read or make the data set that data.source names (data/raw.parquet)", ()),
    "split": ("prepare:cmd_split", "stratified train/test split (data/split/)", ()),
    "resample": ("resample:cmd_resample", "resample the training split with one strategy", (STRATEGY,)),
    "train": ("train:cmd_train", "fit one cell, a strategy with a classifier (sampler inside the pipeline), on the "
              "training split and cross-validate it with the sampler inside each training fold",
              (STRATEGY, CLASSIFIER)),
    "evaluate": ("evaluate:cmd_evaluate", "metrics, calibration, costs, curves and pictures for one cell",
                 (STRATEGY, CLASSIFIER)),
    "ceiling": ("ceiling:cmd_ceiling", "best possible scores on the known data process (reports/ceiling.json)", ()),
    "compare": ("compare:cmd_compare", "leaderboard and summary (reports/summary.*, reports/index.html)", ()),
    "score": ("score:cmd_score", "the score@<file> stage: data/to_score/<file> scored by score.cell "
              "(data/scores/<file>)", (("file", "a file name of score.inputs in params.yaml"),)),
    "benchmark": ("benchmark:cmd_benchmark", "the benchmark@<set> stage: every cell of benchmark.strategies x "
                  "benchmark.classifiers cross-validated on one data set (reports/benchmark/sets/<set>.json)",
                  (("dataset", "a key under benchmark.datasets in params.yaml"),)),
    "rank": ("rank:cmd_rank", "rank the cells over every benchmark data set: Friedman, post-hoc tests, "
             "critical-difference diagrams (reports/benchmark/)", ()),
}


def run(command: str, args: argparse.Namespace) -> None:
    """Run ``command`` ("module:function" of this package) with ``args``, importing its module only now."""
    module, function = command.split(":")
    getattr(importlib.import_module(f"imbalance_lab.pipeline.{module}"), function)(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imbalance-lab", description=__doc__.splitlines()[0],
                                     epilog="imbalance-lab server status|stop: the warm stage runner's server "
                                            "of this checkout (README, 'Warm stages').")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="log only warnings and errors, no progress (also IMBALANCE_LAB_QUIET=1)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="stage")
    for name in STAGES:
        command, help_text, arguments = STAGE_COMMANDS[name]
        stage = commands.add_parser(name, help=help_text, description=help_text)
        for argument, argument_help in arguments:
            stage.add_argument(argument, help=argument_help)
        stage.set_defaults(func=command, pipeline_stage=True)
    board = commands.add_parser("leaderboard",
                                help="print the ranked strategies of the last run (reports/summary.json)",
                                description="Print the ranked strategies of the last run, within 100 columns: CV "
                                "mean ± sd of the primary metric, the difference to the baseline, test F1 and "
                                "accuracy, and whether each meets the goals. A wider terminal ($COLUMNS) gets its "
                                "width; what does not fit is left out (test accuracy, then test F1, then the goals) "
                                "or wrapped, as a last line says.")
    board.add_argument("--wide", action="store_true", help="print every column whatever the width")
    board.add_argument("--benchmark", action="store_true", help="the cells ranked across data sets instead "
                       "(reports/benchmark/summary.json, the rank stage's): mean rank per metric, wins/ties/losses "
                       "against the baseline")
    board.set_defaults(func="leaderboard:cmd_leaderboard")
    report = commands.add_parser(
        "compare-with", help="markdown report of the workspace against a git revision (for a pull request)",
        description="Print a markdown report of the workspace against REV: which strategies meet the goals "
        "now and at REV, the headline metrics that changed, and the settings that changed.",
    )
    report.add_argument("rev", help="a git branch, tag or commit, e.g. main")
    report.set_defaults(func="remote:cmd_compare_with")
    pull = commands.add_parser(
        "pull", help="`dvc pull` from the team's DVC remote; says how to set it up if its folder does not exist yet")
    pull.add_argument("-r", "--remote", help="a DVC remote's name (default: the project's default remote)")
    pull.set_defaults(func="remote:cmd_pull")
    predict = commands.add_parser(
        "predict", help="score a .csv or .parquet file of new rows with one cell's model (README, 'Scoring new data')",
        description="Score new rows with one cell's trained model (data/models/<cell>.json, loaded with its identity "
        "checks): the training rows' preparation, the cell's probabilities (calibrated where it calibrates) and a "
        "decision at its threshold. One row out per row in, in input order: the id column, probability, decision "
        "(0/1), predicted_<label column> (the label it stands for) and threshold.")
    predict.add_argument("cell", help="<strategy>-<classifier>, e.g. knn_smote-hgb (`imbalance-lab leaderboard`)")
    predict.add_argument("file", type=user_path, help="the rows to score: a .csv or .parquet file with the model's "
                         "feature columns (other columns are ignored, with a note)")
    predict.add_argument("--out", type=user_path, help="write the scores here (.csv or .parquet; written whole or "
                         "not at all); default: CSV on standard output")
    predict.add_argument("--threshold", type=threshold_choice, help="cell (the evaluate stage's: tuned where the "
                         "strategy tunes, else evaluate.threshold), fixed (evaluate.threshold), cost (tuned to the "
                         "costs by the train stage) or a number from 0 to 1; default: score.threshold")
    predict.add_argument("--unseen", choices=UNSEEN_CATEGORIES, help="a category the model never saw: refuse "
                         "(name it) or ignore (score it with that column's one-hot columns all 0); default: "
                         "score.unseen")
    predict.add_argument("--id", help="the column identifying each row in the output (`row`: the row's number); "
                         "default: score.id, else the first column that is neither a feature nor the label, else row")
    predict.set_defaults(func="score:cmd_predict")
    return parser


def user_path(text: str) -> tuple[str, Path]:
    """A path as the user typed it, and where it is: the command line moves to the project root before it runs."""
    return text, Path(os.path.abspath(text))


def threshold_choice(text: str):
    from imbalance_lab.settings.params import SCORE_THRESHOLDS

    if text in SCORE_THRESHOLDS:
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: use {', '.join(SCORE_THRESHOLDS)} or a number from 0 to 1")
    return value


def fail(args, message: str) -> int:
    print(f"imbalance-lab {args.command}: error: {message}", file=sys.stderr)
    return 2


@contextmanager
def stage_logging(stage: str, quiet: bool):
    """Progress lines ``imbalance-lab <stage> [strategy]: ...`` on stderr (only warnings when ``quiet``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"imbalance-lab {stage}: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stage = " ".join([args.command, *(value for key in ("strategy", "classifier", "dataset", "file")
                                      if isinstance(value := getattr(args, key, None), str) and value)])
    quiet = args.quiet or os.environ.get("IMBALANCE_LAB_QUIET", "") not in ("", "0")
    debug = os.environ.get("IMBALANCE_LAB_DEBUG", "") not in ("", "0")
    started = time.perf_counter()
    with stage_logging(stage, quiet):
        try:
            os.chdir(project_root())  # the paths are the project root's; DVC runs stages there
            if getattr(args, "pipeline_stage", False):  # before any work: a cut dvc.lock would rerun stages
                from imbalance_lab.pipeline.dvclock import cut_short  # a few ms (dvclock.py)

                if problem := cut_short(Path.cwd()):
                    raise PipelineError(problem)
            try:
                run(args.func, args)
            finally:
                end_worker_processes()
        except (PipelineError, MemoryError, OSError) as err:
            if debug:
                log.exception("traceback (IMBALANCE_LAB_DEBUG is set):")
            return fail(args, error_message(err))
        if getattr(args, "pipeline_stage", False):
            log.info("done in %.1f s", time.perf_counter() - started)
    return 0


def end_worker_processes() -> None:
    """End joblib's worker processes with the command. joblib keeps them for reuse and ends them after 300 s idle,
    or at a normal exit; a stage the warm server forked ends with os._exit, and its workers would hold the
    caller's output streams open (whoever reads them, DVC or a test, would wait) for those 300 s. loky has no
    public way to ask whether it started an executor without starting one: its module's ``_executor``."""
    module = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(module, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True)


def error_message(err: BaseException) -> str:
    """The one line a user sees for an error they can fix."""
    if isinstance(err, MemoryError):
        return ("out of memory; lower data.synthetic.rows, ceiling.rows or evaluate.grid_resolution in "
                "params.yaml, or run on a machine with more memory (no output was changed)")
    if isinstance(err, OSError):  # a read-only folder, a full disk, a file that vanished
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror or err}; free disk space or fix the folder's permissions and run again " \
               "(no output was changed)"
    return str(err)
