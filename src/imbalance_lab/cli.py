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

RAW = Path("data/raw.parquet")
TRAIN = Path("data/split/train.parquet")
TEST = Path("data/split/test.parquet")
SUMMARY_MD = Path("reports/summary.md")
SUMMARY_JSON = Path("reports/summary.json")
BOUNDARIES_PNG = Path("reports/plots/boundaries.png")


def resampled_path(strategy: str) -> Path:
    return Path("data/resampled") / f"{strategy}.parquet"


def resampled_info_path(strategy: str) -> Path:
    return Path("data/resampled") / f"{strategy}.json"


def model_path(strategy: str) -> Path:
    return Path("data/models") / f"{strategy}.json"


def coefficients_path(strategy: str) -> Path:
    return Path("reports/models") / f"{strategy}.json"


def metrics_path(strategy: str) -> Path:
    return Path("reports/metrics") / f"{strategy}.json"


def boundary_png_path(strategy: str) -> Path:
    return Path("reports/plots/boundary") / f"{strategy}.png"


def resampled_png_path(strategy: str) -> Path:
    return Path("reports/plots/resampled") / f"{strategy}.png"


def curve_path(kind: str, strategy: str) -> Path:
    return Path("reports/curves") / kind / f"{strategy}.json"


# --- file I/O -----------------------------------------------------------------


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary sibling path; move it onto ``path`` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def rounded(value, digits: int = 6):
    """Round every float in a nested structure (JSON output stays stable and readable)."""
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    if isinstance(value, float):  # numpy float64 included
        result = round(float(value), digits)
        return 0.0 if result == 0 else result  # no "-0.0"
    return value


def write_json(path: Path, data, *, round_floats: bool = True) -> None:
    if round_floats:
        data = rounded(data)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, sort_keys=True, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_frame(path: Path, frame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_png(path: Path, fig) -> None:
    from .plots import save_png

    with atomic_path(path) as tmp:
        save_png(fig, tmp)


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise P.PipelineError(f"{path}: missing; run `dvc repro` to build the stages before this one") from None


def read_frame(path: Path):
    import pandas as pd

    if not path.exists():
        raise P.PipelineError(f"{path}: missing; run `dvc repro` to build the stages before this one")
    return pd.read_parquet(path)


# --- stages -------------------------------------------------------------------


def cmd_generate(args) -> None:
    from .data import generate_article_data

    settings = P.data_settings(P.load())
    write_frame(RAW, generate_article_data(settings))


def cmd_split(args) -> None:
    from .data import split

    settings = P.split_settings(P.load())
    train, test = split(read_frame(RAW), settings)
    write_frame(TRAIN, train)
    write_frame(TEST, test)


def cmd_resample(args) -> None:
    import pandas as pd

    from .data import FEATURES, TARGET, class_counts, features_and_target
    from .samplers import build_sampler, resample

    strategy = P.strategy_settings(P.load(), args.strategy)
    sampler = build_sampler(strategy)
    X, y = features_and_target(read_frame(TRAIN))
    X_res, y_res, notes = resample(X, y, sampler, f"strategies.{strategy.name}")
    frame = pd.DataFrame(X_res, columns=list(FEATURES)).reset_index(drop=True)
    frame[TARGET] = pd.Series(y_res).to_numpy()
    info = {
        "sampler": strategy.sampler,
        "counts_before": class_counts(y),
        "counts": class_counts(y_res),
        "notes": notes,
    }
    kept = getattr(sampler, "kept_", None)
    if kept is not None:
        info["filter_kept"] = {str(label): count for label, count in kept.items()}
    write_frame(resampled_path(strategy.name), frame)
    write_json(resampled_info_path(strategy.name), info)


def cmd_train(args) -> None:
    from .data import features_and_target
    from .model import build_model, coefficients, fit_model, model_to_dict

    params = P.load()
    strategy = P.strategy_settings(params, args.strategy)
    model = build_model(P.model_settings(params))
    X, y = features_and_target(read_frame(resampled_path(strategy.name)))
    converged = fit_model(model, X, y)
    write_json(model_path(strategy.name), model_to_dict(model, converged), round_floats=False)
    write_json(coefficients_path(strategy.name), {**coefficients(model), "converged": converged})


def cmd_evaluate(args) -> None:
    from .data import features_and_target
    from .metrics import compute_metrics, curves
    from .model import model_from_dict
    from .plots import decision_boundary_figure, resampled_figure

    params = P.load()
    strategy = P.strategy_settings(params, args.strategy)
    settings = P.evaluate_settings(params)
    model = model_from_dict(read_json(model_path(strategy.name)))
    info = read_json(resampled_info_path(strategy.name))
    X_train, y_train = features_and_target(read_frame(TRAIN))
    X_test, y_test = features_and_target(read_frame(TEST))
    X_res, y_res = features_and_target(read_frame(resampled_path(strategy.name)))

    test_score = model.predict_proba(X_test)[:, 1]
    train_score = model.predict_proba(X_train)[:, 1]
    test = compute_metrics(y_test, test_score, settings.threshold)
    train = compute_metrics(y_train, train_score, settings.threshold)
    resampled = {"counts": info["counts"], "rows": sum(info["counts"].values())}
    if "filter_kept" in info:
        resampled["filter_kept"] = info["filter_kept"]
    result = {"threshold": settings.threshold, "resampled": resampled, "test": test, "train": train}
    test_curves = curves(y_test, test_score, settings.curve_points)

    title = (
        f"{strategy.name} ({strategy.sampler}), threshold {settings.threshold:g}\n"
        f"test: accuracy {test['accuracy']:.3f}, F1 {test['f1']:.3f}   "
        f"article protocol (train): accuracy {train['accuracy']:.3f}, F1 {train['f1']:.3f}"
    )
    boundary = decision_boundary_figure(
        model, X_train, y_train, threshold=settings.threshold,
        grid_resolution=settings.grid_resolution, title=title,
    )
    counts = " / ".join(f"{label}: {count}" for label, count in info["counts"].items())
    scatter = resampled_figure(X_res, y_res, title=f"{strategy.name}: training rows after resampling ({counts})")

    write_json(metrics_path(strategy.name), result)
    for kind, rows in test_curves.items():
        write_json(curve_path(kind, strategy.name), rows)
    write_png(boundary_png_path(strategy.name), boundary)
    write_png(resampled_png_path(strategy.name), scatter)


def cmd_compare(args) -> None:
    from .data import features_and_target
    from .metrics import METRICS
    from .model import model_from_dict
    from .plots import boundaries_grid_figure
    from .report import summarize, summary_markdown

    params = P.load()
    names = P.strategy_names(params)
    strategies = {name: P.strategy_settings(params, name) for name in names}
    goals = P.goals(params, METRICS)
    settings = P.evaluate_settings(params)
    metrics = {name: read_json(metrics_path(name)) for name in names}
    models = {name: model_from_dict(read_json(model_path(name))) for name in names}
    X_train, y_train = features_and_target(read_frame(TRAIN))

    summary = summarize(metrics, goals)
    samplers = {name: strategy.sampler for name, strategy in strategies.items()}
    first = metrics[names[0]]["test"]
    markdown = summary_markdown(
        summary, samplers,
        test_rows=first["tp"] + first["fp"] + first["tn"] + first["fn"], test_positives=first["tp"] + first["fn"],
    )
    panels = [
        (f"{name}: test F1 {metrics[name]['test']['f1']:.3f}, acc. {metrics[name]['test']['accuracy']:.3f}", models[name])
        for name in names
    ]
    figure = boundaries_grid_figure(
        panels, X_train, y_train, threshold=settings.threshold, grid_resolution=settings.grid_resolution
    )
    write_json(SUMMARY_JSON, summary)
    write_text(SUMMARY_MD, markdown)
    write_png(BOUNDARIES_PNG, figure)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imbalance-lab", description=__doc__.splitlines()[0])
    stages = parser.add_subparsers(dest="command", required=True, metavar="stage")
    for name, func, help_text, per_strategy in (
        ("generate", cmd_generate, "make the article's data set (data/raw.parquet)", False),
        ("split", cmd_split, "stratified train/test split (data/split/)", False),
        ("resample", cmd_resample, "resample the training split with one strategy", True),
        ("train", cmd_train, "fit the logistic regression on one strategy's resampled rows", True),
        ("evaluate", cmd_evaluate, "metrics, curves and pictures for one strategy", True),
        ("compare", cmd_compare, "the cross-strategy summary (reports/summary.*)", False),
    ):
        stage = stages.add_parser(name, help=help_text, description=help_text)
        if per_strategy:
            stage.add_argument("strategy", help="a key under 'strategies' in params.yaml")
        stage.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except P.PipelineError as err:
        print(f"imbalance-lab {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0
