"""Reading and validating params.yaml (imbalance_lab.params)."""

from __future__ import annotations

import re

import pytest

from imbalance_lab import params as P
from imbalance_lab.metrics import METRICS


def raises_naming(key: str):
    """pytest.raises for a ConfigError whose message quotes the full dotted key."""
    return pytest.raises(P.ConfigError, match=rf"'{re.escape(key)}'")


# --- load / section -------------------------------------------------------------------


def test_load_reads_the_project_params(params_path):
    """load() returns the sections of params.yaml as a dict."""
    params = P.load(params_path)
    assert {"data", "split", "strategies", "model", "evaluate", "goals"} <= set(params)


def test_load_missing_file_names_the_path(tmp_path):
    """A missing file is a ConfigError naming its path."""
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(P.ConfigError, match=re.escape(str(path))):
        P.load(path)


def test_load_invalid_yaml_names_the_path(tmp_path):
    """Unparsable YAML is a ConfigError naming the path."""
    path = tmp_path / "params.yaml"
    path.write_text("data: [1, 2\nsplit: {\n", encoding="utf-8")
    with pytest.raises(P.ConfigError, match=re.escape(str(path))):
        P.load(path)


@pytest.mark.parametrize("text", ["- data\n- split\n", "just a string\n", ""])
def test_load_non_mapping_names_the_path(tmp_path, text):
    """A file that is not a mapping of sections (a list, a scalar, empty) is a ConfigError."""
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(P.ConfigError, match=re.escape(str(path))):
        P.load(path)


def test_section_returns_the_nested_value():
    """section() walks a dotted key."""
    assert P.section({"a": {"b": {"c": 3}}}, "a.b.c") == 3


def test_section_missing_key_names_the_dotted_key_so_far(article_params):
    """A missing key is named down to the first missing part."""
    with raises_naming("data.nope"):
        P.section(article_params, "data.nope.rows")


def test_section_through_a_non_mapping_names_the_key(article_params):
    """Walking past a leaf value is reported as a missing key, not a TypeError."""
    with raises_naming("data.source.more"):
        P.section(article_params, "data.source.more")


# --- data -------------------------------------------------------------------------------


def test_article_settings_of_the_article(article_params):
    """params.yaml's data section gives the article's groups and seed 42."""
    settings = P.article_settings(article_params)
    assert settings.seed == 42
    assert settings.pocket_defaulters == P.Group(rows=25, age=(12, 18), balance=(50000, 100000))
    assert settings.scattered_defaulters == P.Group(rows=10, age=(12, 100), balance=(0, 90000))
    assert settings.payers == P.Group(rows=500, age=(12, 100), balance=(0, 90000))


@pytest.mark.parametrize("value", [-1, "ten", True, 2.5, None])
def test_data_rows_must_be_a_non_negative_whole_number(article_params, value):
    """Negative, text, boolean, fractional or empty row counts name data.payers.rows."""
    article_params["data"]["article"]["payers"]["rows"] = value
    with raises_naming("data.article.payers.rows"):
        P.article_settings(article_params)


@pytest.mark.parametrize("value", [[50, 50], [60, 50]])
def test_data_range_needs_low_below_high(article_params, value):
    """A range with low >= high names the range key."""
    article_params["data"]["article"]["pocket_defaulters"]["age"] = value
    with raises_naming("data.article.pocket_defaulters.age"):
        P.article_settings(article_params)


@pytest.mark.parametrize("value", [[1, 2, 3], 12, "12-18"])
def test_data_range_must_be_a_pair(article_params, value):
    """A range that is not a [low, high) pair names the range key."""
    article_params["data"]["article"]["payers"]["balance"] = value
    with raises_naming("data.article.payers.balance"):
        P.article_settings(article_params)


def test_data_range_low_must_not_be_negative(article_params):
    """A negative low end names the element key."""
    article_params["data"]["article"]["payers"]["balance"] = [-5, 10]
    with raises_naming("data.article.payers.balance[0]"):
        P.article_settings(article_params)


def test_data_unknown_key_is_named(article_params):
    """An unknown key directly under data is named data.<key>."""
    article_params["data"]["article"]["extra"] = 1
    with raises_naming("data.article.extra"):
        P.article_settings(article_params)


def test_data_group_unknown_key_is_named(article_params):
    """An unknown key inside a group is named data.<group>.<key>."""
    article_params["data"]["article"]["payers"]["colour"] = "blue"
    with raises_naming("data.article.payers.colour"):
        P.article_settings(article_params)


def test_data_missing_group_is_named(article_params):
    """A missing group names it."""
    del article_params["data"]["article"]["scattered_defaulters"]
    with raises_naming("data.article.scattered_defaulters"):
        P.article_settings(article_params)


@pytest.mark.parametrize("value", [-1, "42", 1.5])
def test_data_seed_must_be_a_non_negative_whole_number(article_params, value):
    """A bad seed names data.seed."""
    article_params["data"]["article"]["seed"] = value
    with raises_naming("data.article.seed"):
        P.article_settings(article_params)


def test_data_needs_two_rows_of_each_class(article_params):
    """Fewer than 2 defaulters in all is rejected, naming the row settings."""
    article_params["data"]["article"]["pocket_defaulters"]["rows"] = 1
    article_params["data"]["article"]["scattered_defaulters"]["rows"] = 0
    with pytest.raises(P.ConfigError, match=r"data\.article\.pocket_defaulters\.rows"):
        P.article_settings(article_params)


# --- split --------------------------------------------------------------------------------


def test_split_settings_of_the_article(article_params):
    """params.yaml's split is 30 % held out with seed 42."""
    assert P.split_settings(article_params) == P.SplitSettings(test_size=0.3, seed=42)


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.2, "a", True])
def test_split_test_size_must_be_a_share(article_params, value):
    """test_size outside (0, 1) or not a number names split.test_size."""
    article_params["split"]["test_size"] = value
    with raises_naming("split.test_size"):
        P.split_settings(article_params)


def test_split_unknown_key_is_named(article_params):
    """An unknown key under split is named."""
    article_params["split"]["shuffle"] = False
    with raises_naming("split.shuffle"):
        P.split_settings(article_params)


# --- strategies ------------------------------------------------------------------------


def test_strategy_names_in_file_order(article_params):
    """The strategies of params.yaml, in their order."""
    assert P.strategy_names(article_params) == [
        "baseline", "smote", "enn", "smoteenn", "knn_smote", "balanced", "tuned_threshold", "scorecard",
    ]


@pytest.mark.parametrize("name", ["knn-smote", "Smote", "knn smote", 3])
def test_strategy_name_must_be_a_stage_name(article_params, name):
    """Dashes, upper case, spaces and non-strings are refused, quoting the name."""
    article_params["strategies"][name] = {"sampler": "none"}
    with pytest.raises(P.ConfigError, match=re.escape(repr(name))):
        P.strategy_names(article_params)


def test_empty_strategies_is_refused(article_params):
    """An empty strategies section is a ConfigError."""
    article_params["strategies"] = {}
    with pytest.raises(P.ConfigError, match="strategies"):
        P.strategy_names(article_params)


def test_strategy_settings_split_sampler_from_options(article_params):
    """A strategy's sampler is separated from its keyword settings."""
    settings = P.strategy_settings(article_params, "knn_smote")
    assert settings == P.StrategySettings(
        name="knn_smote",
        sampler="KNNFilterSMOTE",
        options={"filter_neighbors": 3, "threshold": 0.5, "k_neighbors": 5, "if_too_few": "adapt",
                 "random_state": 42},
    )


def test_unknown_strategy_lists_the_known_ones(article_params):
    """Asking for a strategy not in params names it and lists the known strategies."""
    with pytest.raises(P.ConfigError, match="nope") as caught:
        P.strategy_settings(article_params, "nope")
    for known in ("baseline", "smote", "enn", "smoteenn", "knn_smote"):
        assert known in str(caught.value)


def test_strategy_without_sampler_is_named(article_params):
    """A strategy with no sampler key names strategies.<name>.sampler."""
    del article_params["strategies"]["smote"]["sampler"]
    with raises_naming("strategies.smote.sampler"):
        P.strategy_settings(article_params, "smote")


def test_strategy_sampler_must_be_text(article_params):
    """A non-string sampler names strategies.<name>.sampler."""
    article_params["strategies"]["smote"]["sampler"] = 5
    with raises_naming("strategies.smote.sampler"):
        P.strategy_settings(article_params, "smote")


# --- model --------------------------------------------------------------------------------


def test_model_settings_are_the_section_as_written(article_params):
    """model_settings returns the model section's keyword settings unchanged."""
    article_params["model"] = {"C": 0.5, "solver": "liblinear"}
    assert P.model_settings(article_params) == {"C": 0.5, "solver": "liblinear"}


def test_model_settings_must_be_a_mapping(article_params):
    """A model section that is not a mapping names 'model'."""
    article_params["model"] = ["C", 1.0]
    with raises_naming("model"):
        P.model_settings(article_params)


# --- evaluate -------------------------------------------------------------------------------


def test_evaluate_settings_of_the_project(article_params):
    """params.yaml's evaluate section: threshold 0.5, 200 curve points, grid 200."""
    assert P.evaluate_settings(article_params) == P.EvaluateSettings(
        threshold=0.5, curve_points=200, grid_resolution=200
    )


@pytest.mark.parametrize(
    "key, value",
    [
        ("threshold", 0),
        ("threshold", 1),
        ("threshold", "half"),
        ("curve_points", 1),
        ("curve_points", 2.5),
        ("grid_resolution", 9),
        ("grid_resolution", "fine"),
    ],
)
def test_evaluate_rejects_bad_values(article_params, key, value):
    """Out-of-range or wrongly typed evaluate settings name evaluate.<key>."""
    article_params["evaluate"][key] = value
    with raises_naming(f"evaluate.{key}"):
        P.evaluate_settings(article_params)


def test_evaluate_unknown_key_is_named(article_params):
    """An unknown key under evaluate is named."""
    article_params["evaluate"]["colour"] = "red"
    with raises_naming("evaluate.colour"):
        P.evaluate_settings(article_params)


# --- goals ------------------------------------------------------------------------------------


def test_goals_of_the_project(article_params):
    """params.yaml's goals: accuracy 0.90 and f1 0.50."""
    assert P.goals(article_params, METRICS) == {"accuracy": 0.90, "f1": 0.50}


def test_goal_on_unknown_metric_is_named(article_params):
    """A goal on a metric that does not exist names goals.<metric>."""
    article_params["goals"]["speed"] = 0.5
    with raises_naming("goals.speed"):
        P.goals(article_params, METRICS)


@pytest.mark.parametrize("value", [1.5, -2, "high", True])
def test_goal_value_must_be_a_reachable_number(article_params, value):
    """A goal above 1, below -1 or not a number names goals.<metric>."""
    article_params["goals"]["f1"] = value
    with raises_naming("goals.f1"):
        P.goals(article_params, METRICS)


def test_goal_of_one_is_allowed(article_params):
    """A perfect score (1.0) is a valid goal."""
    article_params["goals"]["f1"] = 1.0
    assert P.goals(article_params, METRICS)["f1"] == 1.0


# --- a whole file round trip ------------------------------------------------------------------


def test_settings_read_from_a_small_yaml_file(tmp_path):
    """A tiny params file on disk is loaded and validated end to end."""
    path = tmp_path / "params.yaml"
    path.write_text(
        "data:\n"
        "  article:\n"
        "    seed: 3\n"
        "    pocket_defaulters: {rows: 2, age: [12, 18], balance: [50000, 100000]}\n"
        "    scattered_defaulters: {rows: 1, age: [12, 100], balance: [0, 90000]}\n"
        "    payers: {rows: 4, age: [12, 100], balance: [0, 90000]}\n"
        "split: {test_size: 0.25, seed: 1}\n",
        encoding="utf-8",
    )
    params = P.load(path)
    assert P.article_settings(params).payers == P.Group(rows=4, age=(12, 100), balance=(0, 90000))
    assert P.split_settings(params) == P.SplitSettings(test_size=0.25, seed=1)


# --- strategy keys: class_weight, tune_threshold, scale, basis -----------------------------------


def test_new_strategy_keys_of_the_project(article_params):
    """params.yaml's balanced, tuned_threshold and scorecard strategies: their keys are settings of the
    strategy, not of a sampler."""
    assert P.strategy_settings(article_params, "balanced") == P.StrategySettings(
        name="balanced", sampler="none", options={}, class_weight="balanced")
    assert P.strategy_settings(article_params, "tuned_threshold") == P.StrategySettings(
        name="tuned_threshold", sampler="none", options={}, tune_threshold=True)
    assert P.strategy_settings(article_params, "scorecard") == P.StrategySettings(
        name="scorecard", sampler="none", options={}, class_weight="balanced",
        basis={"kind": "bins", "n_bins": 5})


def test_strategy_keys_default_to_off(article_params):
    """Without the optional keys: no class weights, fixed threshold, no scaling, no basis."""
    settings = P.strategy_settings(article_params, "smote")
    assert (settings.class_weight, settings.tune_threshold, settings.scale, settings.basis) == (
        None, False, False, None)


def test_strategy_keys_next_to_sampler_settings(article_params):
    """All strategy keys together with a sampler's own settings are split apart correctly."""
    article_params["strategies"]["x"] = {
        "sampler": "SMOTE", "k_neighbors": 3, "class_weight": {0: 1, 1: 10}, "tune_threshold": False,
        "scale": True, "basis": {"kind": "splines", "n_knots": 4},
    }
    assert P.strategy_settings(article_params, "x") == P.StrategySettings(
        name="x", sampler="SMOTE", options={"k_neighbors": 3}, class_weight={0: 1, 1: 10},
        tune_threshold=False, scale=True, basis={"kind": "splines", "n_knots": 4})


@pytest.mark.parametrize(
    "key, value, named",
    [
        ("tune_threshold", "yes", "tune_threshold"),
        ("tune_threshold", 1, "tune_threshold"),
        ("scale", 1, "scale"),
        ("scale", "true", "scale"),
        ("class_weight", 3, "class_weight"),
        ("class_weight", "balanced_subsample", "class_weight"),
        ("basis", {"kind": "poly"}, "basis.kind"),
        ("basis", {"n_bins": 5}, "basis.kind"),
        ("basis", "bins", "basis"),
    ],
)
def test_strategy_keys_reject_bad_values(article_params, key, value, named):
    """A bad strategy key is a ConfigError naming strategies.<name>.<key>."""
    article_params["strategies"]["x"] = {"sampler": "none", key: value}
    with raises_naming(f"strategies.x.{named}"):
        P.strategy_settings(article_params, "x")


# --- cv -----------------------------------------------------------------------------------------------


def test_cv_settings_of_the_project(article_params):
    assert P.cv_settings(article_params) == P.CVSettings(folds=5, repeats=10, seed=42, n_jobs=1)


def test_cv_all_cores_is_allowed(article_params):
    article_params["cv"]["n_jobs"] = -1
    assert P.cv_settings(article_params).n_jobs == -1


@pytest.mark.parametrize(
    "key, value",
    [("folds", 1), ("folds", 2.5), ("folds", True), ("repeats", 0), ("seed", -1),
     ("n_jobs", 0), ("n_jobs", -2), ("n_jobs", True), ("n_jobs", 1.5), ("n_jobs", "all")],
)
def test_cv_rejects_bad_values(article_params, key, value):
    article_params["cv"][key] = value
    with raises_naming(f"cv.{key}"):
        P.cv_settings(article_params)


def test_cv_unknown_key_is_named(article_params):
    article_params["cv"]["shuffle"] = True
    with raises_naming("cv.shuffle"):
        P.cv_settings(article_params)


# --- threshold_tuning -------------------------------------------------------------------------------


def test_tuning_settings_of_the_project(article_params):
    assert P.tuning_settings(article_params) == P.TuningSettings(scoring="f1", folds=5, seed=42)


@pytest.mark.parametrize("key, value", [("scoring", "nope"), ("scoring", 3), ("folds", 1), ("seed", "x")])
def test_tuning_rejects_bad_values(article_params, key, value):
    article_params["threshold_tuning"][key] = value
    with raises_naming(f"threshold_tuning.{key}"):
        P.tuning_settings(article_params)


def test_tuning_accepts_any_sklearn_scorer(article_params):
    article_params["threshold_tuning"]["scoring"] = "balanced_accuracy"
    assert P.tuning_settings(article_params).scoring == "balanced_accuracy"


# --- leaderboard ------------------------------------------------------------------------------------


def test_leaderboard_settings_of_the_project(article_params):
    assert P.leaderboard_settings(article_params, METRICS) == P.LeaderboardSettings(
        primary="f1", confidence=0.95, baseline="baseline")


def test_leaderboard_baseline_may_be_null(article_params):
    article_params["leaderboard"]["baseline"] = None
    assert P.leaderboard_settings(article_params, METRICS).baseline is None


@pytest.mark.parametrize(
    "key, value",
    [("primary", "nope"), ("primary", "tp"), ("baseline", "nope"), ("confidence", 1.0), ("confidence", 0),
     ("confidence", "high")],
)
def test_leaderboard_rejects_bad_values(article_params, key, value):
    article_params["leaderboard"][key] = value
    with raises_naming(f"leaderboard.{key}"):
        P.leaderboard_settings(article_params, METRICS)


# --- ceiling ----------------------------------------------------------------------------------------------


def test_ceiling_settings_of_the_project(article_params):
    """The ceiling section's values come through as read (they are still being tuned: not pinned here)."""
    raw = article_params["ceiling"]
    assert set(raw) == {"rows", "directions", "seed"}
    assert P.ceiling_settings(article_params) == P.CeilingSettings(
        rows=raw["rows"], directions=raw["directions"], seed=raw["seed"])
    assert all(type(value) is int for value in (raw["rows"], raw["directions"], raw["seed"]))


@pytest.mark.parametrize("key, value", [("rows", 10), ("rows", 999), ("rows", 1e6), ("directions", 4), ("seed", -1)])
def test_ceiling_rejects_bad_values(article_params, key, value):
    article_params["ceiling"][key] = value
    with raises_naming(f"ceiling.{key}"):
        P.ceiling_settings(article_params)


def test_ceiling_unknown_key_is_named(article_params):
    article_params["ceiling"]["grid"] = 5
    with raises_naming("ceiling.grid"):
        P.ceiling_settings(article_params)
