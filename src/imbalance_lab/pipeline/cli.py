"""`python -m imbalance_lab <stage> [strategy]`: one command per pipeline stage.

Argument parsing, logging and file I/O live here: each stage reads its inputs, calls one
function of ``stages`` and writes what it returns. Every output is written to a
temporary file first and all are moved into place together, so a failing stage leaves
nothing half-written.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
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

from imbalance_lab.pipeline import stages  # noqa: E402
from imbalance_lab.settings import params as P  # noqa: E402  (after the thread pins)
from imbalance_lab.settings.paths import (  # noqa: E402
    CEILING_JSON,
    CHECKED,
    COMPARE_PNGS,
    CV_SCORES_JSON,
    DATA_JSON,
    INDEX_HTML,
    OVERLAYS,
    PARAMS,
    RAW,
    REPORTS,
    SUMMARY_JSON,
    SUMMARY_MD,
    TEST,
    TRAIN,
    cell_file,
    project_root,
    strategy_file,
)

log = logging.getLogger("imbalance_lab")


# --- file I/O -----------------------------------------------------------------


class StageOutputs:
    """A stage's outputs, each written to a temporary sibling first and all moved into place
    together at the end: a stage that fails (bad data, a full disk, a read-only folder) leaves
    its previous outputs as they were, never a mix of old and new."""

    def __init__(self):
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


def rounded(value, digits: int = 6):
    """Round every float to ``digits`` significant digits (JSON output stays stable and readable)."""
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    if isinstance(value, float):  # numpy float64 included
        result = float(f"{value:.{digits}g}")
        return 0.0 if result == 0 else result  # no "-0.0"
    return value


def write_json(path: Path, data, *, round_floats: bool = True) -> None:
    with stage_outputs() as outputs:
        outputs.json(path, data, round_floats=round_floats)


REBUILD = "run `dvc checkout` or `dvc repro` to rebuild it"


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise P.PipelineError(f"{path}: missing; run `dvc repro` to build the stages before this one") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise P.PipelineError(f"{path}: not valid JSON ({type(err).__name__}); {REBUILD}") from None


def read_frame(path: Path):
    import pandas as pd

    if not path.exists():
        raise P.PipelineError(f"{path}: missing; run `dvc repro` to build the stages before this one")
    try:
        return pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several types for a truncated or foreign file
        raise P.PipelineError(f"{path}: not a readable Parquet file ({type(err).__name__}); {REBUILD}") from None


def read_model(path: Path, strategy: P.StrategySettings, classifier: P.ClassifierSettings,
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
                raise P.PipelineError(f"{path}: cell {record.cell} could not be fitted ({record.reason}, during "
                                      f"{record.during}), so it has no model; use a fitted cell (imbalance-lab "
                                      "leaderboard lists them)")
            return record
        return model_from_dict(data, model_identity(strategy, classifier))
    except UntrustedModelError as err:
        raise P.PipelineError(f"{path}: {err}; {REBUILD} (never load model files you do not trust)") from None


# --- stages: read, compute (stages.*), write ----------------------------------


def cmd_check(args) -> None:
    """Every setting of params.yaml, before any stage that could lose an output runs."""
    stages.check(P.load(PARAMS))
    with stage_outputs() as outputs:  # constant: it only orders the stages after this one
        outputs.text(CHECKED, "params.yaml passed `python -m imbalance_lab check`\n")


def cmd_generate(args) -> None:
    frame, info = stages.generate(P.load(PARAMS))
    with stage_outputs() as outputs:
        outputs.frame(RAW, frame)
        outputs.json(DATA_JSON, info)


def cmd_split(args) -> None:
    train, test = stages.split_rows(P.split_settings(P.load(PARAMS)), read_frame(RAW))
    with stage_outputs() as outputs:
        outputs.frame(TRAIN, train)
        outputs.frame(TEST, test)


def cmd_resample(args) -> None:
    params, name = P.load(PARAMS), args.strategy
    stages.check_strategy(params, name)  # before any data is read
    frame, info, picture = stages.resample_strategy(params, name, read_frame(TRAIN), read_json(DATA_JSON))
    with stage_outputs() as outputs:
        outputs.frame(strategy_file("resampled", name), frame)
        outputs.json(strategy_file("resampled_info", name), info)
        outputs.png(strategy_file("resampled_png", name), picture)


def cmd_train(args) -> None:
    params, name, classifier = P.load(PARAMS), args.strategy, args.classifier
    stages.check_strategy(params, name, classifier)  # before any data is read
    trained = stages.train_cell(params, name, classifier, read_frame(TRAIN))
    cell = P.cell_name(name, classifier)
    with stage_outputs() as outputs:
        outputs.json(cell_file("model", cell), trained.model, round_floats=False)
        outputs.json(cell_file("coefficients", cell), trained.coefficients)
        outputs.json(cell_file("cv", cell), trained.cv)


def cmd_evaluate(args) -> None:
    params, name, classifier = P.load(PARAMS), args.strategy, args.classifier
    cell = P.cell_name(name, classifier)
    strategy, classifier_settings = P.strategy_settings(params, name), P.classifier_settings(params, classifier)
    evaluated = stages.evaluate_cell(  # settings first: checked before any file is read
        strategy, classifier_settings, P.evaluate_settings(params), P.cost_settings(params),
        read_model(cell_file("model", cell), strategy, classifier_settings, not_fittable=True),
        cv=read_json(cell_file("cv", cell)),
        resampled_info=read_json(strategy_file("resampled_info", name)), data_info=read_json(DATA_JSON),
        train=read_frame(TRAIN), test=read_frame(TEST),
    )
    with stage_outputs() as outputs:
        outputs.json(cell_file("metrics", cell), evaluated.metrics)
        outputs.json(cell_file("headline", cell), evaluated.headline)
        outputs.json(cell_file("explain", cell), evaluated.explain)
        for kind, points in evaluated.curves.items():
            outputs.json(cell_file(kind, cell), points)
        outputs.png(cell_file("boundary_png", cell), evaluated.boundary)
        outputs.png(cell_file("calibration_png", cell), evaluated.calibration)
        outputs.png(cell_file("dependence_png", cell), evaluated.dependence)


def cmd_ceiling(args) -> None:
    write_json(CEILING_JSON, stages.ceiling(P.load(PARAMS)))


def cmd_compare(args) -> None:
    from imbalance_lab.reporting.report import render_html, render_markdown

    params = P.load(PARAMS)
    settings = stages.compare_settings(params)  # before any file is read
    names = list(settings.cells)
    compared = stages.compare(
        settings, metrics={n: read_json(cell_file("metrics", n)) for n in names},
        cv={n: read_json(cell_file("cv", n)) for n in names},
        explained={n: read_json(cell_file("coefficients", n)) for n in names},
        models={n: read_model(cell_file("model", n), P.strategy_settings(params, settings.cells[n][0]),
                              P.classifier_settings(params, settings.cells[n][1]), not_fittable=True) for n in names},
        curves={n: {kind: read_json(cell_file(kind, n)) for kind in ("pr", "roc")} for n in names},
        calibration={n: read_json(cell_file("explain", n)).get("calibration_curve") for n in names},  # None: unfit
        ceilings=read_json(CEILING_JSON), data_info=read_json(DATA_JSON), train=read_frame(TRAIN),
    )
    # The pictures of the evaluate stages the report also shows, by their name inside reports/.
    images = {path: (REPORTS / path).read_bytes() for section in compared.sections for path, _ in section.images
              if path not in compared.figures}
    with stage_outputs() as outputs:
        images |= {name: outputs.png(COMPARE_PNGS[name], fig).read_bytes() for name, fig in compared.figures.items()}
        for kind, points in compared.curves.items():
            outputs.json(OVERLAYS[kind], points)
        outputs.json(CV_SCORES_JSON, compared.cv_scores)
        outputs.json(SUMMARY_JSON, compared.summary)
        outputs.text(SUMMARY_MD, render_markdown(compared.sections))
        outputs.text(INDEX_HTML, render_html(compared.sections, images))
    remove_outside_grid({strategy for strategy, _ in settings.cells.values()}, names)


def remove_outside_grid(strategies, cells) -> None:
    """Delete the files of strategies and cells outside the grid (a larger grid's: an experiment thrown away with
    `git checkout .`, a classifier taken out). No stage of dvc.yaml writes them any more, DVC would count them in
    the folders `compare` depends on, and `dvc metrics show` would list them as if current (see dvc.yaml)."""
    from imbalance_lab.settings.paths import outside_grid

    stale = outside_grid(strategies, cells)
    for path in stale:
        path.unlink()
    if stale:
        log.info("removed %d files of cells and strategies outside the grid: %s", len(stale),
                 ", ".join(sorted({path.name.split(".")[0] for path in stale})))


def cmd_leaderboard(args) -> None:
    """The ranked strategies of the last `dvc repro`, readable in a terminal; a summary.json that is not the
    compare stage's is one line naming it and the fix, never a traceback."""
    from imbalance_lab.reporting.report import LEADERBOARD_WIDTH, SummaryError, terminal_leaderboard

    fix = f"run `dvc repro` to rebuild it, or `git checkout {SUMMARY_JSON.as_posix()}` for the committed one"
    try:
        summary = json.loads(SUMMARY_JSON.read_text(encoding="utf-8"))
        text = terminal_leaderboard(summary, None if args.wide else max(LEADERBOARD_WIDTH, terminal_width()))
    except FileNotFoundError:
        raise P.PipelineError(f"{SUMMARY_JSON}: missing; {fix}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise P.PipelineError(f"{SUMMARY_JSON}: not valid JSON ({type(err).__name__}); {fix}") from None
    except SummaryError as err:
        raise P.PipelineError(f"{SUMMARY_JSON}: not the summary the compare stage writes ({err}); {fix}") from None
    print(text, end="")


def terminal_width() -> int:
    """The columns of the terminal the output goes to: $COLUMNS if set, else the terminal's own width; 0 when
    it goes to a file or a pipe (where the leaderboard keeps to 100 columns, the same every time)."""
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else 0


def score_file(params, cell: str, path: Path, *, threshold, unseen: str, id_name: str | None):
    """Score the rows of a user's file with the cell's model (predict.py); every check before anything is written."""
    from imbalance_lab.data.dataset import DataError
    from imbalance_lab.data.sources import read_table
    from imbalance_lab.models.scoring import cell_settings, decision_threshold, predict

    strategy, classifier = cell_settings(params, cell)
    model_path = cell_file("model", cell)
    if not model_path.is_file():
        raise P.PipelineError(f"{model_path}: missing, so cell {cell} cannot score; run `dvc repro` (it trains every "
                              "cell of grid.strategies x grid.classifiers) or `dvc pull`")
    model = read_model(model_path, strategy, classifier)  # identity checked, nothing unpickled
    cost = None
    if threshold == "cost":
        cv_path = cell_file("cv", cell)
        cost = read_json(cv_path).get("cost_tuned", {}).get("threshold")
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not 0 <= cost <= 1:
            raise P.PipelineError(f"{cv_path}: holds no cost-tuned threshold (cost_tuned.threshold); {REBUILD}")
    chosen = decision_threshold(threshold, model, fixed=P.evaluate_settings(params).threshold, cost_tuned=cost)
    if not path.is_file():
        raise DataError(f"{path}: no such file; name the .csv or .parquet file of the rows to score")
    scored = predict(model, read_table(path), read_json(DATA_JSON), cell=cell, threshold=chosen,
                     missing=P.source_settings(params).missing, unseen=unseen, id_name=id_name, origin=str(path))
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

    given_input, input_path = args.file
    out = args.out[1] if args.out else None
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise P.PipelineError(f"--out {args.out[0]}: scores are written as .csv or .parquet; end the name in one")
    params = P.load(PARAMS)
    settings = P.score_settings(params)
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

    params = P.load(PARAMS)
    settings = P.score_settings(params)
    if args.file not in settings.inputs:
        raise P.PipelineError(f"{args.file!r}: not a file of score.inputs in params.yaml "
                              f"({', '.join(settings.inputs) or 'none'}); add it there, or use `imbalance-lab predict`")
    frame = score_file(params, settings.cell, SCORE_INPUTS / args.file, threshold=settings.threshold,
                       unseen=settings.unseen, id_name=settings.id)
    with stage_outputs() as outputs:
        write_scores(outputs, SCORES / args.file, frame)


def user_path(text: str) -> tuple[str, Path]:
    """A path as the user typed it, and where it is: the command line moves to the project root before it runs."""
    return text, Path(os.path.abspath(text))


def shown_path(path: Path) -> Path:
    """``path`` relative to the project root (the working directory by then) when inside it, as messages show it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


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


def cmd_compare_with(args) -> None:
    """Markdown report of the workspace against a git revision, for a pull request."""
    import subprocess

    from imbalance_lab.reporting.report import comparison_markdown

    # Only a revision, never an option (e.g. --output=FILE); git and dvc are given its commit hash.
    found = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{args.rev}^{{commit}}"],
                           capture_output=True, text=True)
    if args.rev.startswith("-") or found.returncode != 0:
        raise P.PipelineError(f"unknown git revision {args.rev!r}; name a branch, tag or commit")
    commit = found.stdout.strip()

    def dvc_json(*command: str) -> dict:
        result = subprocess.run([sys.executable, "-m", "dvc", *command, commit, "--json"],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise P.PipelineError(f"`dvc {' '.join(command)} {args.rev}` failed: {result.stderr.strip()}")
        return json.loads(result.stdout or "{}")

    then = subprocess.run(["git", "show", f"{commit}:{SUMMARY_JSON.as_posix()}"], capture_output=True, text=True)
    summary_then = json.loads(then.stdout) if then.returncode == 0 else None
    summary_now = json.loads(SUMMARY_JSON.read_text(encoding="utf-8")) if SUMMARY_JSON.exists() else None
    print(comparison_markdown(args.rev, dvc_json("metrics", "diff"), dvc_json("params", "diff"),
                              summary_now, summary_then))


def missing_remote_folder(remote: str | None) -> str | None:
    """Why `dvc pull` from ``remote`` (None: the default) cannot work, or None if it may: DVC itself
    only lists missing hashes when the remote's folder does not exist."""
    from dvc.repo import Repo

    with Repo(os.curdir) as repo:
        config = repo.config  # a relative local url comes back absolute (resolved from .dvc/)
    name = remote or config["core"].get("remote")
    if not name:
        return ("no default DVC remote is set: point one at the team's folder or bucket with "
                "`dvc remote add -d --local shared <path-or-url>`")
    url = str(config["remote"].get(name, {}).get("url", ""))
    if not url or re.match(r"\w+://", url) or os.path.isdir(url):  # unknown names and URLs: DVC says
        return None
    return (f"the shared folder {url} (DVC remote '{name}') does not exist yet: whoever has the data creates it "
            f"with `dvc push` (after `dvc repro`), or point the remote at the team's folder or bucket with "
            f"`dvc remote modify --local {name} url <path-or-url>` (see README, \"Working as a team\")")


def workspace_objects(remote: str | None) -> dict[str, str]:
    """The DVC objects (md5 -> the path they hold) that the workspace's dvc.lock and .dvc files name, with the
    files of each folder whose listing is in the cache; as many as DVC can list (for the messages only)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(os.curdir) as repo:
            return {info.value: info.obj_name for infos in repo.used_objs(remote=remote).values() for info in infos
                    if info.name == "md5" and info.value}
    except DvcException:  # a folder's listing missing or corrupt
        return {}


def cached_objects() -> tuple[str, set[str]]:
    """The local DVC cache's folder and every object in it."""
    from dvc.repo import Repo

    with Repo(os.curdir) as repo:
        return repo.cache.local.path, set(repo.cache.local.all())


@contextmanager
def corrupt_objects_found_by_dvc():
    """The paths of the objects DVC itself finds corrupt while it works (a folder remote's copy whose content does
    not match its hash: DVC deletes it, then only calls it missing). DVC says so in a debug line only: it is
    caught here, and the logger's other debug lines stay hidden as before."""
    paths: list[str] = []
    found = re.compile(r"corrupted cache file '(.+)'\.$")

    def keep(record: logging.LogRecord) -> bool:
        match = found.match(record.getMessage()) if record.levelno < logging.INFO else None
        if match:
            paths.append(match[1])
        return record.levelno >= logging.INFO

    logger = logging.getLogger("dvc_data.hashfile.db")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addFilter(keep)
    try:
        yield paths
    finally:
        logger.removeFilter(keep)
        logger.setLevel(level)


def corrupt_in_cache(oids) -> list[str]:
    """Of the objects ``oids`` in the local cache, those whose content does not match their md5; each is
    removed from the cache (so that nothing is checked out from it)."""
    import hashlib

    from dvc.repo import Repo

    corrupt = []
    with Repo(os.curdir) as repo:
        cache = repo.cache.local
        for oid in oids:
            path = Path(cache.oid_to_path(oid))
            if not path.is_file():
                continue
            digest = hashlib.md5(usedforsecurity=False)
            with path.open("rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
            if digest.hexdigest() != oid.split(".")[0]:
                path.unlink()
                corrupt.append(oid)
    return corrupt


def corrupt_listings(remote: str | None) -> list[tuple[str, str]]:
    """(md5, path) of each folder listing (a .dir object) the workspace names that is neither in the local cache nor
    sound on the remote: DVC cannot read a corrupt one ("object ... is corrupted") and fetches nothing of its
    folder. Read from the remote here, on failure only (listings are small)."""
    import hashlib

    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    corrupt = []
    try:
        with Repo(os.curdir) as repo:
            odb, cache = repo.cloud.get_remote_odb(remote), repo.cache.local
            for out in repo.index.outs:
                oid = out.hash_info.value if out.use_cache and out.hash_info else None
                if not oid or not oid.endswith(".dir") or cache.exists(oid) or not odb.exists(oid):
                    continue
                with odb.fs.open(odb.oid_to_path(oid), "rb") as file:
                    if hashlib.md5(file.read(), usedforsecurity=False).hexdigest() != oid.split(".")[0]:
                        corrupt.append((oid, str(out)))
    except DvcException:  # DVC's own message stands
        return []
    return corrupt


def corrupt_object_error(remote: str | None, oid: str, what: str | None) -> P.PipelineError:
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(os.curdir) as repo:
            where = f"object {repo.cloud.get_remote_odb(remote).oid_to_path(oid)}"
    except DvcException:
        where = f"copy of the object {oid}"
    held = f" (it holds {what})" if what else ""
    return P.PipelineError(
        f"the DVC remote's {where}{held} is corrupt: its content does not match its hash {oid}; nothing was "
        "checked out. Delete that file from the remote if it is still there, then whoever has the data (or reruns "
        "`dvc repro`) runs `dvc push` to upload a good copy")


def cmd_pull(args) -> None:
    """`dvc pull` as `dvc fetch` then `dvc checkout`, once the remote's folder is known to exist, with every
    fetched object checked against its hash in between: a corrupt copy on the remote is named, never checked
    out, and never reported as a missing push."""
    from dvc.cli import main as dvc_main

    problem = missing_remote_folder(args.remote)
    if problem:
        raise P.PipelineError(problem)
    cache, cached = cached_objects()
    with corrupt_objects_found_by_dvc() as found:
        code = dvc_main(["fetch", *(["--remote", args.remote] if args.remote else [])])  # in-process: no shell
    # DVC's own finding on the remote (a corrupt local copy it fetches again): <db>/xx/rest is the object xxrest.
    corrupt = ["".join(path.replace("\\", "/").split("/")[-2:]) for path in found if not path.startswith(cache)]
    corrupt += corrupt_in_cache(sorted(cached_objects()[1] - cached))
    if corrupt:
        raise corrupt_object_error(args.remote, corrupt[0], workspace_objects(args.remote).get(corrupt[0]))
    for oid, what in corrupt_listings(args.remote) if code else []:
        raise corrupt_object_error(args.remote, oid, what)
    if code:
        raise P.PipelineError(f"`dvc fetch` failed (exit code {code}, DVC's message above); if it lists missing "
                              "cache files, this commit's data was never pushed: whoever ran `dvc repro` for it "
                              "runs `dvc push`")
    code = dvc_main(["checkout"])
    if code:
        raise P.PipelineError(f"`dvc checkout` failed (exit code {code}, DVC's message above)")


def fail(args, message: str) -> int:
    print(f"imbalance-lab {args.command}: error: {message}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imbalance-lab", description=__doc__.splitlines()[0],
                                     epilog="imbalance-lab server status|stop: the warm stage runner's server "
                                            "of this checkout (README, 'Warm stages').")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="log only warnings and errors, no progress (also IMBALANCE_LAB_QUIET=1)")
    stages = parser.add_subparsers(dest="command", required=True, metavar="stage")
    for name, func, help_text, takes in (
        ("check", cmd_check, "check every setting in params.yaml (first stage: a bad value loses nothing)", False),
        ("generate", cmd_generate, "read or make the data set that data.source names (data/raw.parquet)", False),
        ("split", cmd_split, "stratified train/test split (data/split/)", False),
        ("resample", cmd_resample, "resample the training split with one strategy", "strategy"),
        ("train", cmd_train, "fit one cell, a strategy with a classifier (sampler inside the pipeline), on the "
                             "training split and cross-validate it with the sampler inside each training fold",
         "cell"),
        ("evaluate", cmd_evaluate, "metrics, calibration, costs, curves and pictures for one cell", "cell"),
        ("ceiling", cmd_ceiling, "best possible scores on the known data process (reports/ceiling.json)", False),
        ("compare", cmd_compare, "leaderboard and summary (reports/summary.*, reports/index.html)", False),
    ):
        stage = stages.add_parser(name, help=help_text, description=help_text)
        if takes:
            stage.add_argument("strategy", help="a key under 'strategies' in params.yaml")
        if takes == "cell":
            stage.add_argument("classifier", help="a key under 'classifiers' in params.yaml")
        stage.set_defaults(func=func, pipeline_stage=True)
    board = stages.add_parser("leaderboard", help="print the ranked strategies of the last run (reports/summary.json)",
                              description="Print the ranked strategies of the last run, within 100 columns: CV "
                              "mean ± sd of the primary metric, the difference to the baseline, test F1 and "
                              "accuracy, and whether each meets the goals. A wider terminal ($COLUMNS) gets its "
                              "width; what does not fit is left out (test accuracy, then test F1, then the goals) "
                              "or wrapped, as a last line says.")
    board.add_argument("--wide", action="store_true", help="print every column whatever the width")
    board.set_defaults(func=cmd_leaderboard)
    report = stages.add_parser(
        "compare-with", help="markdown report of the workspace against a git revision (for a pull request)",
        description="Print a markdown report of the workspace against REV: which strategies meet the goals "
        "now and at REV, the headline metrics that changed, and the settings that changed.",
    )
    report.add_argument("rev", help="a git branch, tag or commit, e.g. main")
    report.set_defaults(func=cmd_compare_with)
    pull = stages.add_parser(
        "pull", help="`dvc pull` from the team's DVC remote; says how to set it up if its folder does not exist yet")
    pull.add_argument("-r", "--remote", help="a DVC remote's name (default: the project's default remote)")
    pull.set_defaults(func=cmd_pull)
    predict = stages.add_parser(
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
    predict.add_argument("--unseen", choices=P.UNSEEN_CATEGORIES, help="a category the model never saw: refuse "
                         "(name it) or ignore (score it with that column's one-hot columns all 0); default: "
                         "score.unseen")
    predict.add_argument("--id", help="the column identifying each row in the output (`row`: the row's number); "
                         "default: score.id, else the first column that is neither a feature nor the label, else row")
    predict.set_defaults(func=cmd_predict)
    score = stages.add_parser("score", help="the score@<file> stage: data/to_score/<file> scored by score.cell "
                              "(data/scores/<file>)")
    score.add_argument("file", help="a file name of score.inputs in params.yaml")
    score.set_defaults(func=cmd_score, pipeline_stage=True)
    return parser


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
    stage = " ".join([args.command, *(getattr(args, key) for key in ("strategy", "classifier")
                                      if getattr(args, key, None))])
    quiet = args.quiet or os.environ.get("IMBALANCE_LAB_QUIET", "") not in ("", "0")
    debug = os.environ.get("IMBALANCE_LAB_DEBUG", "") not in ("", "0")
    started = time.perf_counter()
    with stage_logging(stage, quiet):
        try:
            os.chdir(project_root())  # the paths are the project root's; DVC runs stages there
            if getattr(args, "pipeline_stage", False):  # before any work: a cut dvc.lock would rerun stages
                from imbalance_lab.pipeline.dvclock import cut_short  # a few ms (dvclock.py)

                if problem := cut_short(Path.cwd()):
                    raise P.PipelineError(problem)
            args.func(args)
        except (P.PipelineError, MemoryError, OSError) as err:
            if debug:
                log.exception("traceback (IMBALANCE_LAB_DEBUG is set):")
            return fail(args, error_message(err))
        if getattr(args, "pipeline_stage", False):
            log.info("done in %.1f s", time.perf_counter() - started)
    return 0


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
