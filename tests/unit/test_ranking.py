"""The ranking statistics (benchmark/ranking.py) against Demšar (2006), "Statistical comparisons of classifiers
over multiple data sets", JMLR 7: its worked example (Table 6, section 3.2.4) and its tables of critical values."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from imbalance_lab.benchmark import ranking

matplotlib.use("Agg")

# Table 6: AUC of C4.5 with its parameters tuned (m, cf, both) on 14 UCI data sets. The paper's ranks come from
# unrounded AUCs: in the voting row C4.5+cf is just above C4.5+m+cf (0.97501), as every reproduction writes it.
DEMSAR = pd.DataFrame(
    [[0.763, 0.768, 0.771, 0.798], [0.599, 0.591, 0.590, 0.569], [0.954, 0.971, 0.968, 0.967],
     [0.628, 0.661, 0.654, 0.657], [0.882, 0.888, 0.886, 0.898], [0.936, 0.931, 0.916, 0.931],
     [0.661, 0.668, 0.609, 0.685], [0.583, 0.583, 0.563, 0.625], [0.775, 0.838, 0.866, 0.875],
     [1.000, 1.000, 1.000, 1.000], [0.940, 0.962, 0.965, 0.962], [0.619, 0.666, 0.614, 0.669],
     [0.972, 0.981, 0.97501, 0.975], [0.957, 0.978, 0.946, 0.970]],
    index=["adult", "breast cancer", "breast cancer wisconsin", "cmc", "ionosphere", "iris", "liver disorders",
           "lung cancer", "lymphography", "mushroom", "primary tumor", "rheum", "voting", "wine"],
    columns=["C4.5", "C4.5+m", "C4.5+cf", "C4.5+m+cf"])


def test_the_worked_example_gives_the_papers_mean_ranks_and_friedman_statistics():
    mean = ranking.mean_ranks(DEMSAR)
    assert list(mean.index) == ["C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5"]
    assert mean.round(3).to_dict() == {"C4.5": 3.143, "C4.5+m": 2.000, "C4.5+cf": 2.893, "C4.5+m+cf": 1.964}
    result = ranking.friedman(DEMSAR)
    assert round(result["statistic_uncorrected"], 2) == 9.28  # chi2_F in the paper
    assert round(result["iman_davenport_f"], 2) == 3.69  # F_F in the paper, above F(3, 39) = 2.85 at 0.05
    assert 0.01 < result["iman_davenport_p_value"] < 0.05
    # scipy corrects chi2_F for tied ranks: four rows hold ties (three pairs, one row of four equal AUCs)
    tie_terms = 3 * (2**3 - 2) + (4**3 - 4)
    assert result["statistic"] == pytest.approx(result["statistic_uncorrected"] / (1 - tie_terms / (14 * 4 * 15)))
    assert result["p_value"] == pytest.approx(stats.chi2.sf(result["statistic"], 3))


@pytest.mark.parametrize(("cells", "datasets", "alpha", "expected"), [
    (4, 14, 0.05, 1.25), (4, 14, 0.10, 1.12),  # the worked example (section 3.2.4)
])
def test_the_critical_difference_is_the_papers(cells, datasets, alpha, expected):
    assert round(ranking.critical_difference(cells, datasets, alpha), 2) == expected


@pytest.mark.parametrize(("cells", "q_005", "q_010"), [(2, 1.960, 1.645), (3, 2.343, 2.052), (4, 2.569, 2.291),
                                                        (6, 2.850, 2.589), (10, 3.164, 2.920)])
def test_the_critical_values_are_demsars_table_5(cells, q_005, q_010):
    """CD = q_alpha sqrt(k (k + 1) / 6N): with 6N = k (k + 1) the CD is q_alpha itself (the table's three
    decimals, truncated)."""
    n = cells * (cells + 1) / 6
    assert ranking.critical_difference(cells, n, 0.05) == pytest.approx(q_005, abs=1e-3)
    assert ranking.critical_difference(cells, n, 0.10) == pytest.approx(q_010, abs=1e-3)


def test_nemenyi_draws_the_papers_conclusions():
    """At 0.05 no pair of variants differs; at 0.10 C4.5+m and C4.5+m+cf are better than plain C4.5 (mean
    ranks 1.143 and 1.179 apart, CD 1.12), and nothing else is told apart."""
    p = ranking.nemenyi(DEMSAR)
    assert (p.to_numpy() >= 0.05).all()
    below_010 = {tuple(sorted((a, b))) for a in p.index for b in p.columns if a != b and p.loc[a, b] < 0.10}
    assert below_010 == {("C4.5", "C4.5+m"), ("C4.5", "C4.5+m+cf")}
    assert (p.to_numpy() == p.to_numpy().T).all() and (np.diag(p.to_numpy()) == 1).all()


def test_lower_is_better_ranks_the_other_way():
    brier = pd.DataFrame({"a": [0.10, 0.20, 0.30], "b": [0.20, 0.30, 0.40], "c": [0.30, 0.25, 0.50]})
    assert ranking.mean_ranks(brier, higher_is_better=False).to_dict() == {"a": 1.0, "b": 7 / 3, "c": 8 / 3}
    assert ranking.mean_ranks(brier).to_dict() == {"c": 4 / 3, "b": 5 / 3, "a": 3.0}


def test_the_pairwise_tests_separate_a_cell_better_everywhere_and_not_equal_cells():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.8, 16)
    scores = pd.DataFrame({"base": base, "same": base.copy(), "noise": base + rng.normal(0, 0.01, 16),
                           "better": base + rng.uniform(0.05, 0.1, 16)})
    for table in (ranking.wilcoxon(scores), ranking.conover(scores)):
        assert table.loc["better", "base"] < 0.01 and table.loc["base", "better"] == table.loc["better", "base"]
        assert table.loc["base", "same"] > 0.5, table
    # Holm's correction: no p-value below the pair's own uncorrected signed-rank test's
    raw = stats.wilcoxon(scores["better"], scores["noise"]).pvalue
    assert ranking.wilcoxon(scores).loc["better", "noise"] >= raw


def test_the_report_holds_every_figure_and_refuses_what_it_cannot_rank():
    report = ranking.rank_report(DEMSAR)
    assert report["datasets"] == list(DEMSAR.index)
    assert list(report["mean_rank"]) == ["C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5"]
    assert round(report["critical_difference"], 2) == 1.25
    for test in ("nemenyi", "conover_holm", "wilcoxon_holm"):
        assert set(report[test]) == set(DEMSAR.columns) and set(report[test]["C4.5"]) == set(DEMSAR.columns)
    with pytest.raises(ValueError, match="at least 2 data sets and 3 cells"):
        ranking.rank_report(DEMSAR.iloc[:, :2])
    gap = DEMSAR.copy()
    gap.iloc[3, 1] = np.nan
    with pytest.raises(ValueError, match="every cell scored on every data set"):
        ranking.rank_report(gap)


def test_the_critical_difference_diagram_names_every_cell():
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    try:
        ranking.draw_critical_difference(ax, ranking.mean_ranks(DEMSAR), ranking.nemenyi(DEMSAR), alpha=0.10)
        texts = " ".join(text.get_text() for text in ax.texts)
        assert all(cell in texts for cell in DEMSAR.columns), texts
    finally:
        plt.close(figure)
