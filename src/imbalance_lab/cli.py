"""`python -m imbalance_lab <stage> [strategy]`: one command per pipeline stage.

Only argument parsing and file I/O live here; the science is in the other
modules. Heavy libraries are imported inside the stage that needs them, and
every output is written to a temporary file first and moved into place, so a
failing stage leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

# Pin BLAS/OpenMP threads before numpy loads: on two cores, idle spinning threads
# slow small fits ~50x when another stage or test runs beside this one.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from . import params as P  # noqa: E402  (after the thread pins)

CHECKED = Path("data/params.checked")
RAW = Path("data/raw.parquet")
DATA_JSON = Path("reports/data.json")
TRAIN = Path("data/split/train.parquet")
TEST = Path("data/split/test.parquet")
REPORTS = Path("reports")
SUMMARY_MD = REPORTS / "summary.md"
SUMMARY_JSON = REPORTS / "summary.json"
INDEX_HTML = REPORTS / "index.html"
CV_SCORES_JSON = REPORTS / "cv_scores.json"
CEILING_JSON = REPORTS / "ceiling.json"


# Each strategy's files; dvc.yaml declares the same paths.
STRATEGY_FILES = {
    "resampled": "data/resampled/{}.parquet",
    "resampled_info": "data/resampled/{}.json",
    "model": "data/models/{}.json",
    "coefficients": "reports/models/{}.json",
    "cv": "reports/cv/{}.json",
    "metrics": "reports/metrics/{}.json",
    "boundary_png": "reports/plots/boundary/{}.png",
    "resampled_png": "reports/plots/resampled/{}.png",
    "pr": "reports/curves/pr/{}.json",
    "roc": "reports/curves/roc/{}.json",
}


def strategy_file(kind: str, strategy: str) -> Path:
    return Path(STRATEGY_FILES[kind].format(strategy))


# --- file I/O -----------------------------------------------------------------


class StageOutputs:
    """A stage's outputs, each written to a temporary sibling first and all moved into place
    together at the end: a stage that fails (bad data, a full disk, a read-only folder) leaves
    its previous outputs as they were, never a mix of old and new."""

    def __init__(self):
        self._pending: list[tuple[Path, Path]] = []

    def path(self, path: Path) -> Path:
        """The temporary file to write for ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
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
        from .plots import save_png

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


def read_model(path: Path):
    """A saved model; a file naming anything outside the trusted classes is refused, nothing built."""
    from .model import UntrustedModelError, model_from_dict

    try:
        return model_from_dict(read_json(path))
    except UntrustedModelError as err:
        raise P.PipelineError(f"{path}: {err}; {REBUILD} (never load model files you do not trust)") from None


# --- stages -------------------------------------------------------------------


def cmd_check(args) -> None:
    """Every setting of params.yaml, before any stage that could lose an output runs."""
    P.check_all(P.load())
    with stage_outputs() as outputs:  # constant: it only orders the stages after this one
        outputs.text(CHECKED, "params.yaml passed `python -m imbalance_lab check`\n")


def cmd_generate(args) -> None:
    from .data import describe, load_source, plot_features

    params = P.load()
    settings = P.source_settings(params)
    article = P.article_settings(params) if settings.source == "article" else None
    synthetic = P.synthetic_settings(params) if settings.source == "synthetic" else None
    frame, origin = load_source(settings, article, synthetic)
    features, reason = plot_features(frame, settings.plot_features)
    info = {**describe(frame, origin, settings.missing, features), "plot_features_reason": reason}
    with stage_outputs() as outputs:
        outputs.frame(RAW, frame)
        outputs.json(DATA_JSON, info)


def data_info() -> dict:
    return read_json(DATA_JSON)


def class_names(info: dict) -> dict[int, str]:
    if info["source"] in ("article", "synthetic"):
        return {0: "paid", 1: "defaulted"}
    return {0: f"{info['target']} not {info['positive']}", 1: f"{info['target']} {info['positive']}"}


def picture_note(info: dict, columns) -> str:
    """What a two-feature picture leaves out, when the data have more features."""
    features = info["plot_features"] or []
    if len(columns) <= 2 or len(features) < 2:
        return ""
    return (f"\n{features[0]} and {features[1]}: {info['plot_features_reason']}; "
            "other features at their median / most frequent value")


def cmd_split(args) -> None:
    from .data import split

    settings = P.split_settings(P.load())
    train, test = split(read_frame(RAW), settings)
    with stage_outputs() as outputs:
        outputs.frame(TRAIN, train)
        outputs.frame(TEST, test)


def cmd_resample(args) -> None:
    import pandas as pd

    from .data import class_counts, columns_of, features_and_target, target_name

    params = P.load()
    strategy = P.strategy_settings(params, args.strategy)
    key = f"strategies.{strategy.name}"
    missing, neighbors = P.source_settings(params).missing, P.compute_settings(params).neighbors
    no_sampler = strategy.sampler == "none" and not strategy.options  # needs no imbalanced-learn
    if not no_sampler:
        from .model import build_pipeline
        from .samplers import (
            build_sampler, neighbour_search, pipeline_samplers, resample, resample_prepared, with_neighbour_search,
        )

        build_sampler(strategy)  # settings checked before any data is read
    train = read_frame(TRAIN)
    X, y = features_and_target(train)
    columns = columns_of(X, missing)
    sampler = None
    if no_sampler:
        X_res, y_res, notes = X, y, []
    elif columns.needs_preparation:
        pipeline = build_pipeline(strategy, {}, None, columns, neighbors)
        samplers = pipeline_samplers(pipeline)
        sampler = samplers[0] if samplers else None
        X_res, y_res, notes = resample_prepared(pipeline, X, y, key) if samplers else (X, y, [])
    else:
        sampler = with_neighbour_search(build_sampler(strategy), neighbour_search(neighbors, X.shape[1]))
        X_res, y_res, notes = resample(X, y, sampler, key, scale=strategy.scale)
    frame = pd.DataFrame(X_res, columns=list(X.columns)).reset_index(drop=True)
    frame[target_name(train)] = pd.Series(y_res).to_numpy()
    info = {
        "sampler": strategy.sampler,
        "counts_before": class_counts(y),
        "counts": class_counts(y_res),
        "notes": notes,
    }
    kept = getattr(sampler, "kept_", None)
    if kept is not None:
        info["filter_kept"] = {str(label): count for label, count in kept.items()}
    with stage_outputs() as outputs:
        outputs.frame(strategy_file("resampled", strategy.name), frame)
        outputs.json(strategy_file("resampled_info", strategy.name), info)


def cmd_train(args) -> None:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from .data import class_counts, columns_of, features_and_target
    from .metrics import compute_backend, cross_validated_metrics
    from .model import (
        build_pipeline, check_basis_columns, coefficients, fit_model, model_from_dict, model_to_dict, stopped_early,
    )
    from .samplers import check_fold_sizes

    params = P.load()
    strategy = P.strategy_settings(params, args.strategy)
    key = f"strategies.{strategy.name}"
    cv = P.cv_settings(params)
    fixed_threshold = P.evaluate_settings(params).threshold
    missing, compute = P.source_settings(params).missing, P.compute_settings(params)
    model_settings, tuning = P.model_settings(params), P.tuning_settings(params)
    build_pipeline(strategy, model_settings, tuning)  # settings checked before any data is read
    X, y = features_and_target(read_frame(TRAIN))
    estimator = build_pipeline(strategy, model_settings, tuning, columns_of(X, missing), compute.neighbors)
    # Every sampler and the tuning's inner folds against the smallest cross-validation training fold.
    check_fold_sizes(class_counts(y), cv.folds, {strategy.name: estimator}, tuning.folds)
    check_basis_columns(X, strategy)
    try:
        converged = fit_model(estimator, X, y)
        with warnings.catch_warnings(record=True) as caught:  # one line below instead of one per fold
            warnings.simplefilter("always", ConvergenceWarning)
            with compute_backend(compute.backend, compute.scheduler) as jobs:
                per_fold = cross_validated_metrics(
                    estimator, X, y, folds=cv.folds, repeats=cv.repeats, seed=cv.seed,
                    n_jobs=cv.n_jobs if jobs is None else jobs, fixed_threshold=fixed_threshold,
                )
    except ValueError as err:  # a sampler that cannot work on a (cross-validation) training fold
        raise P.ConfigError(
            f"params.yaml: '{key}' cannot be fitted on the training split or on a cross-validation "
            f"training fold ({cv.folds} folds; each holds about {(cv.folds - 1) / cv.folds:.0%} of the rows): {err}"
        ) from None
    if not converged or stopped_early(caught):
        print(f"imbalance-lab train {strategy.name}: note: the logistic regression stopped at model.max_iter "
              "before converging (in the final fit or a fold); standardise the features (scale: true in the "
              "strategy) or raise model.max_iter", file=sys.stderr)
    folds_info = {"folds": cv.folds, "repeats": cv.repeats, "seed": cv.seed, "rows": len(y)}
    saved = json.loads(json.dumps(model_to_dict(estimator, X.columns, converged)))
    stored = model_from_dict(saved)  # explained as stored (rounded), as every later stage uses it
    with stage_outputs() as outputs:
        outputs.json(strategy_file("model", strategy.name), saved, round_floats=False)
        outputs.json(strategy_file("coefficients", strategy.name), {**coefficients(stored, X), "converged": converged})
        outputs.json(strategy_file("cv", strategy.name), {**folds_info, "scores": per_fold})


def cmd_evaluate(args) -> None:
    from .data import features_and_target, typical_values
    from .metrics import compute_metrics, curves, mean_and_sd
    from .plots import decision_boundary_figure, resampled_figure

    params = P.load()
    data = data_info()
    strategy = P.strategy_settings(params, args.strategy)
    settings = P.evaluate_settings(params)
    model = read_model(strategy_file("model", strategy.name))
    threshold = settings.threshold if model.tuned_threshold is None else model.tuned_threshold
    cv = read_json(strategy_file("cv", strategy.name))
    info = read_json(strategy_file("resampled_info", strategy.name))
    X_train, y_train = features_and_target(read_frame(TRAIN))
    X_test, y_test = features_and_target(read_frame(TEST))
    X_res, y_res = features_and_target(read_frame(strategy_file("resampled", strategy.name)))

    test_score = model.predict_proba(X_test)[:, 1]
    train_score = model.predict_proba(X_train)[:, 1]
    test = compute_metrics(y_test, test_score, threshold)
    train = compute_metrics(y_train, train_score, threshold)
    resampled = {"counts": info["counts"], "rows": sum(info["counts"].values())}
    if "filter_kept" in info:
        resampled["filter_kept"] = info["filter_kept"]
    result = {
        "threshold": threshold, "resampled": resampled, "test": test, "train": train,
        "cv": mean_and_sd(cv["scores"]),
    }
    test_curves = curves(y_test, test_score, settings.curve_points)

    title = (
        f"{strategy.name} ({strategy.sampler}), threshold {threshold:.3g}\n"
        f"test: accuracy {test['accuracy']:.3f}, F1 {test['f1']:.3f}   "
        f"article protocol (train): accuracy {train['accuracy']:.3f}, F1 {train['f1']:.3f}"
        + picture_note(data, X_train.columns)
    )
    features, names = data["plot_features"] or [], class_names(data)
    boundary = decision_boundary_figure(
        model, X_train, y_train, threshold=threshold, grid_resolution=settings.grid_resolution, title=title,
        features=features, others=typical_values(X_train), class_names=names,
    )
    counts = " / ".join(f"{label}: {count}" for label, count in info["counts"].items())
    scatter = resampled_figure(X_res, y_res, title=f"{strategy.name}: training rows after resampling ({counts})",
                               features=features, class_names=names)

    with stage_outputs() as outputs:
        outputs.json(strategy_file("metrics", strategy.name), result)
        for kind, rows in test_curves.items():
            outputs.json(strategy_file(kind, strategy.name), rows)
        outputs.png(strategy_file("boundary_png", strategy.name), boundary)
        outputs.png(strategy_file("resampled_png", strategy.name), scatter)


def cmd_ceiling(args) -> None:
    params = P.load()
    source, settings = P.source_settings(params).source, P.ceiling_settings(params)
    if source not in ("article", "synthetic"):
        write_json(CEILING_JSON, {"available": False, "reason": f"data.source {source} has no known generating "
                                  "process, so the best possible scores are unknown"})
        return
    from .ceiling import ceilings

    process = P.article_settings(params) if source == "article" else P.synthetic_settings(params)
    result = ceilings(process, rows=settings.rows, seed=settings.seed, directions=settings.directions)
    write_json(CEILING_JSON, {"available": True, **result})


def cmd_compare(args) -> None:
    import numpy as np

    from .data import features_and_target, typical_values
    from .metrics import METRICS
    from .model import boundary_at
    from .plots import boundaries_grid_figure, curves_figure, cv_scores_figure
    from .report import CEILING_NAMES, build_sections, build_summary, render_html, render_markdown

    params = P.load()
    names = P.strategy_names(params)
    samplers = {name: P.strategy_settings(params, name).sampler for name in names}
    goals = P.goals(params, METRICS)
    board = P.leaderboard_settings(params, METRICS)
    settings = P.evaluate_settings(params)
    metrics = {name: read_json(strategy_file("metrics", name)) for name in names}
    cv = {name: read_json(strategy_file("cv", name)) for name in names}
    explained = {name: read_json(strategy_file("coefficients", name)) for name in names}
    models = {name: read_model(strategy_file("model", name)) for name in names}
    curves = {name: {kind: read_json(strategy_file(kind, name)) for kind in ("pr", "roc")} for name in names}
    ceilings = read_json(CEILING_JSON)
    ceilings = {k: v for k, v in ceilings.items() if k != "available"} if ceilings.get("available") else None
    data = data_info()
    X_train, y_train = features_and_target(read_frame(TRAIN))
    others = typical_values(X_train)

    summary = build_summary(metrics, cv, goals, primary=board.primary, confidence=board.confidence,
                            baseline=board.baseline, ceilings=ceilings)
    features = data["plot_features"] or []
    boundary = None
    if len(features) == 2:
        at_name, scan_name = features
        at_values = [float(v) for v in np.round(np.quantile(X_train[at_name].dropna(), [0.1, 0.5, 0.9]))]
        low, high = X_train[scan_name].min(), X_train[scan_name].max()
        span = high - low
        scan_values = np.linspace(0 if low >= 0 else low - span, 2 * high if high > 0 else high + span, 2001)
        boundary = {
            "at_name": at_name, "at": at_values, "scan": scan_name,
            "strategies": {
                name: boundary_at(models[name], metrics[name]["threshold"], (at_name, at_values),
                                  (scan_name, scan_values), others)
                for name in names
            },
        }
    summary["boundary"] = boundary
    summary["data"] = data
    first = metrics[names[0]]["test"]
    sections = build_sections(
        summary, samplers, explained, boundary,
        test_rows=first["tp"] + first["fp"] + first["tn"] + first["fn"], test_positives=first["tp"] + first["fn"],
    )

    primary = board.primary
    ranked = [(name, e["cv"][primary]["mean"], e["cv"][primary]["sd"]) for name, e in summary["strategies"].items()
              if primary in e["cv"] and e["cv"][primary]["mean"] is not None]
    references = {CEILING_NAMES[k].split(" (")[0]: ceilings[k][primary] for k in ("bayes", "best_line")
                  if ceilings and primary in ceilings[k]}
    figures = {
        "plots/boundaries.png": boundaries_grid_figure(
            [(f"{name}: test F1 {metrics[name]['test']['f1']:.3f}, acc. {metrics[name]['test']['accuracy']:.3f}",
              models[name], metrics[name]["threshold"]) for name in names],
            X_train, y_train, grid_resolution=settings.grid_resolution, features=features, others=others,
            class_names=class_names(data), note=picture_note(data, X_train.columns)),
        "plots/cv_scores.png": cv_scores_figure(ranked, metric=primary, references=references, goal=goals.get(primary)),
        "plots/curves.png": curves_figure(curves),
    }
    with stage_outputs() as outputs:
        images = {}
        for relative, figure in figures.items():
            images[relative] = outputs.png(REPORTS / relative, figure).read_bytes()
        outputs.json(CV_SCORES_JSON, [{"strategy": n, "mean": m, "sd": s} for n, m, s in ranked])
        outputs.json(SUMMARY_JSON, summary)
        outputs.text(SUMMARY_MD, render_markdown(sections))
        outputs.text(INDEX_HTML, render_html(sections, images))


def cmd_compare_with(args) -> None:
    """Markdown report of the workspace against a git revision, for a pull request."""
    import subprocess

    from .report import comparison_markdown

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


def fail(args, message: str) -> int:
    print(f"imbalance-lab {args.command}: error: {message}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imbalance-lab", description=__doc__.splitlines()[0])
    stages = parser.add_subparsers(dest="command", required=True, metavar="stage")
    for name, func, help_text, per_strategy in (
        ("check", cmd_check, "check every setting in params.yaml (first stage: a bad value loses nothing)", False),
        ("generate", cmd_generate, "make the article's data set (data/raw.parquet)", False),
        ("split", cmd_split, "stratified train/test split (data/split/)", False),
        ("resample", cmd_resample, "resample the training split with one strategy", True),
        ("train", cmd_train, "fit the logistic regression on one strategy's resampled rows", True),
        ("evaluate", cmd_evaluate, "metrics, curves and pictures for one strategy", True),
        ("ceiling", cmd_ceiling, "best possible scores on the known data process (reports/ceiling.json)", False),
        ("compare", cmd_compare, "leaderboard and summary (reports/summary.*, reports/index.html)", False),
    ):
        stage = stages.add_parser(name, help=help_text, description=help_text)
        if per_strategy:
            stage.add_argument("strategy", help="a key under 'strategies' in params.yaml")
        stage.set_defaults(func=func)
    report = stages.add_parser(
        "compare-with", help="markdown report of the workspace against a git revision (for a pull request)",
        description="Print a markdown report of the workspace against REV: which strategies meet the goals "
        "now and at REV, the headline metrics that changed, and the settings that changed.",
    )
    report.add_argument("rev", help="a git branch, tag or commit, e.g. main")
    report.set_defaults(func=cmd_compare_with)
    return parser


def process_seconds() -> float:
    """Wall time since this process started (interpreter start-up and imports included); Linux."""
    import time

    ticks = os.sysconf("SC_CLK_TCK")
    started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
    return time.time() - boot - started


def record_profile(args, path: str) -> None:
    """Append this stage's wall time and peak memory to ``path`` (one JSON line; for bench/)."""
    import resource

    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    stage = args.command + (f"@{args.strategy}" if getattr(args, "strategy", None) else "")
    line = {"stage": stage, "seconds": round(process_seconds(), 3), "peak_mb": round(peak / 1024, 1)}
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except P.PipelineError as err:
        return fail(args, str(err))
    except MemoryError:
        return fail(args, "out of memory; lower data.synthetic.rows, ceiling.rows or evaluate.grid_resolution in "
                          "params.yaml, or run on a machine with more memory (no output was changed)")
    except OSError as err:  # a read-only folder, a full disk, a file that vanished
        where = f"{err.filename}: " if err.filename else ""
        return fail(args, f"{where}{err.strerror or err}; free disk space or fix the folder's permissions and "
                          "run again (no output was changed)")
    if os.environ.get("IMBALANCE_LAB_PROFILE"):
        record_profile(args, os.environ["IMBALANCE_LAB_PROFILE"])
    return 0
