"""Figures (imbalance_lab.reporting.plots): names from the data are drawn as written, never as mathtext; every
picture reads at a glance (legends outside the data, titles, distinguishable curves, contrast)."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.cbook import is_math_text
from matplotlib.colors import to_rgb
from sklearn.linear_model import LogisticRegression

from imbalance_lab.reporting.plots import (
    boundaries_grid_figure,
    calibration_grid_figure,
    curves_figure,
    cv_scores_figure,
    decision_boundary_figure,
    resampled_figure,
    save_png,
)

NAME = "$x^^$"  # invalid mathtext: matplotlib fails to draw it unless the dollars are escaped


def shows_literally(text: str, name: str = NAME) -> bool:
    """Matplotlib draws ``text`` as plain text, with ``name`` in it as written."""
    return not is_math_text(text) and name in text.replace(r"\$", "$")


def rendered(fig) -> plt.Figure:
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    return fig


def legends(fig) -> list:
    """Every legend of the figure: its own and its axes'."""
    return [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]


def legend_texts(fig) -> list[str]:
    return [text.get_text() for legend in legends(fig) for text in legend.get_texts()]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({NAME: rng.normal(size=60), "b": rng.normal(size=60)})
    y = (X[NAME] > 0.5).astype(int).to_numpy()
    return X, y, LogisticRegression().fit(X, y)


def test_names_with_dollars_render_as_written(data):
    X, y, model = data
    names = {0: f"{NAME} not yes", 1: f"{NAME} yes"}
    figures = [
        decision_boundary_figure(model, X, y, threshold=0.5, grid_resolution=20, title=NAME, class_names=names),
        resampled_figure(X, y, title=NAME, class_names=names),
        boundaries_grid_figure([(NAME, model, 0.5)], X, y, grid_resolution=20, class_names=names, note=NAME),
    ]
    for fig in map(rendered, figures):
        ax = fig.axes[0]
        assert len(legends(fig)) == 1
        texts = [ax.get_xlabel(), ax.get_title(), *legend_texts(fig)]
        assert all(shows_literally(text) for text in texts), texts
    assert shows_literally(figures[2].get_suptitle())

    bars = rendered(cv_scores_figure([(NAME, 0.5, 0.1), ("b", 0.4, 0.1)], metric=NAME, references={NAME: 0.6},
                                     goal=0.5)).axes[0]
    assert shows_literally(bars.get_yticklabels()[-1].get_text()) and shows_literally(bars.get_xlabel())
    assert shows_literally(legend_texts(bars.figure)[0])

    points = {"pr": [{"recall": 0.0, "precision": 1.0}, {"recall": 1.0, "precision": 0.5}],
              "roc": [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 1.0, "tpr": 1.0}]}
    curves = rendered(curves_figure({NAME: points}))
    assert shows_literally(legend_texts(curves)[0])


# --- readable at a glance (issue 13) ----------------------------------------------------------------

PR = [{"recall": r, "precision": p} for r, p in [(0, 1), (0.2, 0.8), (0.4, 0.7), (0.6, 0.5), (0.8, 0.3), (1, 0.1)]]
ROC = [{"fpr": f, "tpr": t} for f, t in [(0.0, 0.0), (0.1, 0.5), (0.3, 0.7), (0.6, 0.9), (1.0, 1.0)]]
# Two strategies with the very same curves (one model, another threshold), and a third one.
CURVES = {"baseline": {"pr": PR, "roc": ROC}, "tuned_threshold": {"pr": PR, "roc": ROC},
          "smote": {"pr": PR[::2], "roc": ROC[::2]}}


def test_the_curves_legend_names_each_strategy_once():
    fig = rendered(curves_figure(CURVES))
    assert len(fig.axes) == 2 and len(legends(fig)) == 1
    texts = [text.split("\n")[0] for text in legend_texts(fig)]
    assert all(texts.count(name) == 1 for name in CURVES), texts
    assert legends(fig)[0].get_texts()[0].get_fontsize() >= 9


def test_identical_curves_are_drawn_differently():
    """A curve that coincides with one drawn before it in its panel differs in colour, line style, marker and
    marker size, its markers sit elsewhere, and the legend says which curve it covers: the curve drawn first
    stays visible under an identical one."""
    fig = rendered(curves_figure(CURVES))
    for ax in fig.axes:
        lines = {line.get_label(): line for line in ax.get_lines() if line.get_label() in CURVES}
        a, b = lines["baseline"], lines["tuned_threshold"]
        assert np.array_equal(a.get_xydata(), b.get_xydata())  # the very same points
        assert a.get_linestyle() != b.get_linestyle() and a.get_color() != b.get_color()
        assert a.get_marker() not in (None, "None", "") and a.get_marker() != b.get_marker()
        assert a.get_markersize() > b.get_markersize() and b.get_zorder() > a.get_zorder()  # a's rims show
        assert a.get_markevery() != b.get_markevery()
        assert len({(line.get_color(), line.get_marker()) for line in lines.values()}) == len(CURVES)
    assert "tuned_threshold\n(same curve as baseline)" in legend_texts(fig)
    assert not any("smote\n" in text for text in legend_texts(fig))


def test_cv_scores_figure_has_a_title():
    fig = rendered(cv_scores_figure([("smote", 0.5, 0.1), ("baseline", 0.2, 0.1)], metric="f1",
                                    references={"Bayes-optimal rule": 0.6}, goal=0.5))
    title = fig.axes[0].get_title() or fig.get_suptitle()
    assert "f1" in title and "per cell" in title


def overlaps(a, b) -> bool:
    """Two display boxes share some area."""
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def all_figures(data):
    X, y, model = data
    return {
        "boundary": decision_boundary_figure(model, X, y, threshold=0.5, grid_resolution=20, title="t"),
        "resampled": resampled_figure(X, y, title="t"),
        "grid": boundaries_grid_figure([("a", model, 0.5), ("b", model, 0.3)], X, y, grid_resolution=20),
        "cv_scores": cv_scores_figure([("a", 0.5, 0.1), ("b", 0.4, 0.1)], metric="f1", references={"r": 0.6},
                                      goal=0.5),
        "curves": curves_figure(CURVES),
    }


def test_every_legend_lies_outside_the_data(data):
    """No legend covers any part of any panel's data area."""
    for kind, fig in all_figures(data).items():
        fig.canvas.draw()
        assert legends(fig), kind
        panels = [ax.get_window_extent() for ax in fig.axes if ax.get_visible()]
        for legend in legends(fig):
            box = legend.get_window_extent()
            assert not any(overlaps(box, panel) for panel in panels), (kind, box, panels)
            assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig.bbox.y0 <= box.y0  # not cut off
        plt.close(fig)


def test_boundary_legend_names_the_points_and_the_regions(data):
    X, y, model = data
    fig = rendered(decision_boundary_figure(model, X, y, threshold=0.5, grid_resolution=20, title="t"))
    texts = legend_texts(fig)
    assert texts[:2] == [f"paid ({(y == 0).sum()})", f"defaulted ({(y == 1).sum()})"]
    assert {"region predicted paid", "region predicted defaulted"} <= set(texts)


def relative_luminance(rgb) -> float:
    """WCAG 2 relative luminance of an sRGB colour (components in [0, 1])."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a, b) -> float:
    high, low = sorted([relative_luminance(a), relative_luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_ratio_helper():
    assert contrast_ratio((0, 0, 0), (1, 1, 1)) == pytest.approx(21)
    assert contrast_ratio(to_rgb("#777777"), (1, 1, 1)) == pytest.approx(4.48, abs=0.01)  # WCAG's example


def test_points_stand_out_on_both_regions_and_classes_differ_by_marker(data):
    """As drawn: each class's point colour against each region's colour has a contrast ratio of at
    least 4.5 (WCAG AA for text; the old red on pink had 3.7), and the classes use different markers."""
    X, y, model = data
    fig = rendered(decision_boundary_figure(model, X, y, threshold=0.5, grid_resolution=20, title="t"))
    ax = fig.axes[0]
    points = [c for c in ax.collections if c.get_label() in legend_texts(fig)]
    regions = [c for c in ax.collections if c not in points]
    assert len(points) == 2 and regions
    region_colours = {tuple(colour[:3]) for c in regions for colour in c.get_facecolor()}
    assert len(region_colours) == 2
    for collection in points:
        (colour,) = {tuple(c[:3]) for c in collection.get_facecolor()}
        for region in region_colours:
            assert contrast_ratio(colour, region) >= 4.5, (collection.get_label(), colour, region)
    paid, defaulted = (c.get_paths()[0].vertices for c in points)
    assert paid.shape != defaulted.shape or not np.allclose(paid, defaulted)


def test_pictures_are_byte_stable(data, tmp_path):
    """The same figure saved twice gives the same bytes (DVC would see a change otherwise)."""
    X, y, model = data
    for attempt in range(2):
        save_png(decision_boundary_figure(model, X, y, threshold=0.5, grid_resolution=20, title="t"),
                 tmp_path / f"{attempt}.png")
    assert (tmp_path / "0.png").read_bytes() == (tmp_path / "1.png").read_bytes()


# --- names that mean something elsewhere (issue 21) ----------------------------------------------------------


def test_a_feature_named_self_draws_a_boundary_over_other_features():
    """TwoFeatureView holds the other features at their typical values; one of them named `self` (DataFrame.assign's
    own argument) crashed the evaluate stage."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"age": rng.normal(size=80), "balance": rng.normal(size=80), "self": rng.normal(size=80)})
    y = (X["age"] + X["self"] > 0).astype(int).to_numpy()
    model = LogisticRegression().fit(X, y)
    fig = rendered(decision_boundary_figure(model, X, y, threshold=0.5, grid_resolution=10, title="t",
                                            features=["age", "balance"], others={"self": 2.0}))
    assert fig.axes[0].get_xlabel() == "age"
    from imbalance_lab.reporting.plots import TwoFeatureView

    view = TwoFeatureView(model, ("age", "balance"), {"self": 2.0})
    grid = np.array([[0.0, 0.0], [1.0, -1.0]])
    expected = model.predict_proba(pd.DataFrame({"age": grid[:, 0], "balance": grid[:, 1], "self": 2.0}))
    np.testing.assert_allclose(view.predict_proba(grid), expected)


def test_control_characters_in_names_are_drawn_as_escapes():
    X = pd.DataFrame({"a\x1b[2J": np.linspace(0, 1, 20), "b\x00": np.linspace(1, 0, 20)})
    y = np.array([0, 1] * 10)
    fig = rendered(resampled_figure(X, y, title="rows\x07", class_names={0: "no\r", 1: "yes\x1b"}))
    ax = fig.axes[0]
    texts = [ax.get_xlabel(), ax.get_ylabel(), ax.get_title(), *legend_texts(fig)]
    assert texts[:3] == [r"a\x1b[2J", r"b\x00", r"rows\x07"]
    assert not any(ch in "".join(texts) for ch in "\x00\x07\x1b\r"), texts


# --- pictures at the size of the grid (issue 22) -----------------------------------------------------------------

SHIPPED = ["baseline", "smote", "enn", "smoteenn", "knn_smote", "balanced", "tuned_threshold", "scorecard"]
CLASSIFIERS = ["logreg", "hgb", "random_forest", "balanced_random_forest", "easy_ensemble", "rusboost",
               "balanced_bagging"]
SIZES = {1: (SHIPPED[:1], CLASSIFIERS[:1]), 12: ([*SHIPPED[:5], "tuned_threshold"], CLASSIFIERS[:2]),
         56: (SHIPPED, CLASSIFIERS)}


def grid_inputs(strategies, classifiers):
    """Every cell's curves, calibration points and CV score, drawn from a fixed seed; tuned_threshold's curves
    are its classifier's baseline's, as in a real run (the same model, another threshold)."""
    rng = np.random.default_rng(len(strategies) * 10 + len(classifiers))
    cells, curves, calibration = {}, {}, {}
    for strategy in strategies:
        for classifier in classifiers:
            name = f"{strategy}-{classifier}"
            cells[name] = (strategy, classifier)
            fpr = np.r_[0, np.sort(rng.random(30)), 1]
            recall = np.r_[0, np.sort(rng.random(30)), 1]
            precision, tpr = 1 - 0.9 * recall ** 0.5, fpr ** rng.uniform(0.1, 0.6)
            curves[name] = {"pr": [{"recall": r, "precision": p} for r, p in zip(recall, precision, strict=True)],
                            "roc": [{"fpr": f, "tpr": t} for f, t in zip(fpr, tpr, strict=True)]}
            calibration[name] = (np.sort(rng.random(10)), np.sort(rng.random(10)))
            if strategy == "tuned_threshold" and f"baseline-{classifier}" in curves:
                curves[name] = curves[f"baseline-{classifier}"]
                calibration[name] = calibration[f"baseline-{classifier}"]
    ranked = sorted(((name, float(rng.uniform(0.1, 0.7)), 0.1) for name in cells), key=lambda row: -row[1])
    return cells, curves, calibration, ranked


UNFITTED = "scorecard-balanced_bagging"  # a cell the boundaries picture is not given (as a not-fittable one)


def summary_figures(cells, curves, calibration, ranked, model, X, y):
    """The four summary pictures as the compare stage draws them."""
    classifiers = list(dict.fromkeys(c for _, c in cells.values()))
    fitted = [cell for name, cell in cells.items() if name != UNFITTED]
    return {
        "boundaries": boundaries_grid_figure([(f"test F1 0.{i:03d}", model, 0.5) for i in range(len(fitted))], X, y,
                                             grid_resolution=4, cells=fitted),
        "cv_scores": cv_scores_figure(ranked, metric="f1", references={"Bayes-optimal rule": 0.63}, goal=0.5,
                                      cells=cells),
        "curves": curves_figure(curves, cells),
        "calibration": calibration_grid_figure([
            (f"classifier {classifier}", [(s, *calibration[name]) for name, (s, c) in cells.items() if c == classifier])
            for classifier in classifiers]),
    }


@pytest.fixture(scope="module")
def pictures(data):
    """Every summary picture at 1, 12 and 56 cells, laid out once for the tests below (the layout as
    savefig does it, without rasterising: a third quicker)."""
    X, y, model = data
    drawn = {}
    for count, (strategies, classifiers) in SIZES.items():
        inputs = grid_inputs(strategies, classifiers)
        for kind, fig in summary_figures(*inputs, model, X, y).items():
            fig.draw_without_rendering()
            drawn[kind, count] = (fig, inputs[0])
    yield drawn
    plt.close("all")


def inches(fig) -> tuple[float, float]:
    return tuple(fig.get_size_inches())


def test_pictures_grow_with_the_grid_within_bounds(pictures):
    """Each summary picture is bigger at 12 cells than at 1 and at 56 than at 12, at most 18 x 16 inches
    (1,800 x 1,600 pixels) at the whole shipped grid, and no panel drawn smaller than 1.6 x 1.4 inches."""
    for kind in ("boundaries", "cv_scores", "curves", "calibration"):
        areas = [np.prod(inches(pictures[kind, count][0])) for count in SIZES]
        assert areas[0] < areas[1] < areas[2], (kind, areas)
        width, height = inches(pictures[kind, 56][0])
        assert width <= 18 and height <= 16, (kind, width, height)
        for count in SIZES:
            fig = pictures[kind, count][0]
            for ax in fig.axes:
                if ax.get_visible():
                    box = ax.get_window_extent()
                    assert box.width / fig.dpi >= 1.6 and box.height / fig.dpi >= 1.4, (kind, count, box)


def boxes(fig) -> dict[str, list]:
    """Display boxes of the picture's parts: legends, titles (figure, panels, headers) and visible panels."""
    texts = [fig._suptitle] if fig._suptitle is not None else []
    for ax in fig.axes:
        if ax.get_visible():
            texts += [ax.title] + [child for child in ax.texts if child.get_text()]
    return {"legends": [legend.get_window_extent() for legend in legends(fig)],
            "texts": [text.get_window_extent() for text in texts if text.get_text()],
            "panels": [ax.get_window_extent() for ax in fig.axes if ax.get_visible()]}


def inside(box, fig) -> bool:
    return fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1


def test_legends_and_titles_lie_inside_the_picture_clear_of_each_other(pictures):
    """At every grid size, every legend and title is whole inside the saved picture (save_png saves the figure
    as laid out, no bbox cropping), no legend covers a panel or a title, and no two titles overlap."""
    for (kind, count), (fig, _) in pictures.items():
        parts = boxes(fig)
        assert parts["legends"], (kind, count)
        for box in parts["legends"] + parts["texts"]:
            assert inside(box, fig), (kind, count, box, fig.bbox)
        for legend in parts["legends"]:
            assert not any(overlaps(legend, other) for other in parts["panels"] + parts["texts"]), (kind, count)
        texts = parts["texts"]
        assert not any(overlaps(a, b) for i, a in enumerate(texts) for b in texts[i + 1:]), (kind, count)


def strategy_colours(fig, cells) -> dict[str, set]:
    """strategy -> the colours its cells are drawn in (lines of the panels, or bars of the CV scores)."""
    colours = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_gid():
                colours.setdefault(line.get_gid().split("|")[0], set()).add(to_rgb(line.get_color()))
        labels = [label.get_text() for label in ax.get_yticklabels()]
        for bar, label in zip(ax.patches, labels, strict=False):  # an axes may have more tick labels than bars
            if label in cells:
                colours.setdefault(cells[label][0], set()).add(to_rgb(bar.get_facecolor()))
    return colours


def test_each_strategy_has_one_colour_in_every_picture(pictures):
    """A strategy is drawn in one colour in every panel of every picture at every grid size, and no two
    strategies share a colour."""
    seen = {}
    for (kind, count), (fig, cells) in pictures.items():
        if kind == "boundaries":
            continue
        for strategy, colours in strategy_colours(fig, cells).items():
            seen.setdefault(strategy, set()).update(colours)
        assert {s for s, _ in cells.values()} <= set(seen), (kind, count)
    assert all(len(colours) == 1 for colours in seen.values()), seen
    assert len({next(iter(colours)) for colours in seen.values()}) == len(SHIPPED)


def test_every_cell_is_drawn_once_in_its_classifiers_panels(pictures):
    """At 56 cells: each classifier has one precision-recall, one ROC and one calibration panel; each cell one
    curve in each of its classifier's panels and nowhere else; no two curves of a panel share colour and
    marker; the legend names each strategy once."""
    for kind, per_classifier in (("curves", 2), ("calibration", 1)):
        fig, _ = pictures[kind, 56]
        panels = [ax for ax in fig.axes if ax.get_visible()]
        assert len(panels) == per_classifier * len(CLASSIFIERS)
        for classifier in CLASSIFIERS:
            mine = [ax for ax in panels if classifier in ax.get_title().split(":")[0].split()]
            assert len(mine) == per_classifier, (kind, classifier, [ax.get_title() for ax in panels])
            for ax in mine:
                gids = [line.get_gid() for line in ax.get_lines() if line.get_gid()]
                assert sorted(gid.split("|")[0] for gid in gids) == sorted(SHIPPED), (kind, classifier, gids)
                styles = [(line.get_color(), line.get_marker()) for line in ax.get_lines() if line.get_gid()]
                assert len(set(styles)) == len(styles)
        names = [text.split("\n")[0] for text in legend_texts(fig)]
        assert all(names.count(strategy) == 1 for strategy in SHIPPED), names


def test_summary_titles_say_per_cell(pictures):
    for (kind, _), (fig, _) in pictures.items():
        title = fig.get_suptitle() or fig.axes[0].get_title()
        assert "per cell" in title, (kind, title)


def test_boundaries_of_a_grid_form_a_table_with_empty_slots_named(pictures):
    """Seven classifiers and eight strategies: a table of 7 rows (classifiers) by 8 columns (strategies), each
    headed once by its name; a cell not given (not fitted) is an empty slot that says so. One classifier:
    the panels wrap, each titled with its cell's name."""
    fig, _ = pictures["boundaries", 56]
    assert len(fig.axes) == len(SHIPPED) * len(CLASSIFIERS)
    headers = [text.get_text().replace("\n", "") for ax in fig.axes for text in ax.texts]  # long names broken
    assert all(headers.count(name) == 1 for name in SHIPPED + CLASSIFIERS), headers
    assert headers.count("not fitted") == 1
    assert [text.get_text() for text in fig.axes[-1].texts] == ["not fitted"]  # balanced_bagging x scorecard
    assert all(ax.get_title().startswith("test F1") for ax in fig.axes[:-1])
    fig, _ = pictures["boundaries", 1]
    assert fig.axes[0].get_title().startswith("baseline-logreg: test F1")


def test_strategy_colours_do_not_depend_on_the_grid():
    """A shipped strategy keeps its colour whatever else is in the grid and in which order; strategies of the
    user's own take the colours left over, by name."""
    from imbalance_lab.reporting.plots import strategy_styles

    every = strategy_styles([*SHIPPED, "mine", "alpha"])
    assert strategy_styles(["tuned_threshold"])["tuned_threshold"] == every["tuned_threshold"]
    assert strategy_styles(SHIPPED[::-1]) == strategy_styles(SHIPPED)
    assert strategy_styles(["mine", "alpha"]) == strategy_styles(["alpha", "mine"])
    assert len({style["color"] for style in every.values()}) == len(every)
