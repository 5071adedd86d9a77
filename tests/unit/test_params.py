"""Reading and validating params.yaml (imbalance_lab.settings.params)."""

from __future__ import annotations

import copy
import re
import warnings

import pytest
from imblearn.over_sampling import SMOTE

from imbalance_lab.evaluation.metrics import METRICS
from imbalance_lab.settings import params as config

# Fixed params, unlike the live params.yaml (which users edit): every value differs from the defaults.
FIXED = {
    "data": {
        "source": "article", "missing": "impute", "plot_features": ["balance", "age"], "categorical": ["region"],
        "article": {
            "seed": 3,
            "pocket_defaulters": {"rows": 20, "age": [12, 18], "balance": [50000, 100000]},
            "scattered_defaulters": {"rows": 8, "age": [12, 100], "balance": [0, 90000]},
            "payers": {"rows": 400, "age": [20, 90], "balance": [0, 80000]},
        },
        "synthetic": {
            "rows": 1000, "default_rate": 0.1, "noise_share": 0.25,
            "pocket": {"age": [12, 18], "balance": [50000, 100000], "purity": 0.8},
            "age": [15, 95], "balance": [0, 70000], "extra_features": 2, "seed": 5,
        },
    },
    "split": {"test_size": 0.25, "seed": 1},
    "seed": 9,
    "strategies": {
        "baseline": {"sampler": "none"},
        "smote": {"sampler": "SMOTE", "k_neighbors": 4, "random_state": 2},
        "knn_smote": {"sampler": "KNNFilterSMOTE", "threshold": 0.4, "if_too_few": "adapt"},
        "balanced": {"sampler": "none", "class_weight": "balanced"},
        "tuned_threshold": {"sampler": "none", "tune_threshold": True},
        "scorecard": {"sampler": "none", "class_weight": "balanced", "basis": {"kind": "bins", "n_bins": 4}},
    },
    "model": {"scale": False},
    "classifiers": {
        "logreg": {"classifier": "LogisticRegression", "C": 0.5, "max_iter": 200},
        "hgb": {"classifier": "HistGradientBoostingClassifier", "max_iter": 20},
        "easy": {"classifier": "EasyEnsembleClassifier", "n_estimators": 3},
    },
    "grid": {"strategies": ["baseline", "smote", "tuned_threshold"], "classifiers": ["logreg", "hgb"]},
    "costs": {"missed_default": 500, "false_alarm": 20, "missed_default_column": "balance"},
    "evaluate": {"threshold": 0.4, "curve_points": 50, "grid_resolution": 30},
    "compute": {"backend": "dask", "scheduler": "tcp://scheduler:8786", "neighbors": "brute"},
    "threshold_tuning": {"scoring": "recall", "folds": 3, "seed": 4},
    "cv": {"folds": 4, "repeats": 2, "seed": 6, "n_jobs": 2},
    "leaderboard": {"primary": "recall", "confidence": 0.9, "baseline": "smote"},
    "ceiling": {"rows": 5000, "directions": 16, "seed": 8},
    "goals": {"accuracy": 0.8, "recall": 0.6},
}


@pytest.fixture
def params() -> dict:
    """A fresh copy of FIXED, safe to modify in a test."""
    return copy.deepcopy(FIXED)


def raises_naming(key: str):
    """pytest.raises for a ConfigError whose message quotes the full dotted key."""
    return pytest.raises(config.ConfigError, match=rf"'{re.escape(key)}'")


def raises_exactly(message: str):
    return pytest.raises(config.ConfigError, match=rf"^{re.escape(message)}$")


# --- load / section -------------------------------------------------------------------


def test_load_missing_file_names_the_path(tmp_path):
    """A missing file is a ConfigError naming its path."""
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(config.ConfigError, match=re.escape(str(path))):
        config.load(path)


def test_load_invalid_yaml_names_the_path(tmp_path):
    """Unparsable YAML is a ConfigError naming the path."""
    path = tmp_path / "params.yaml"
    path.write_text("data: [1, 2\nsplit: {\n", encoding="utf-8")
    with pytest.raises(config.ConfigError, match=re.escape(str(path))):
        config.load(path)


@pytest.mark.parametrize("text", ["- data\n- split\n", "just a string\n", ""])
def test_load_non_mapping_names_the_path(tmp_path, text):
    """A file that is not a mapping of sections (a list, a scalar, empty) is a ConfigError."""
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(config.ConfigError, match=re.escape(str(path))):
        config.load(path)


def test_section_returns_the_nested_value():
    """section() walks a dotted key."""
    assert config.section({"a": {"b": {"c": 3}}}, "a.b.c") == 3


def test_section_missing_key_names_the_dotted_key_so_far(params):
    """A missing key is named down to the first missing part."""
    with raises_naming("data.nope"):
        config.section(params, "data.nope.rows")


def test_section_through_a_non_mapping_names_the_key(params):
    """Walking past a leaf value is reported as a missing key, not a TypeError."""
    with raises_naming("data.source.more"):
        config.section(params, "data.source.more")


# --- data -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "read, expected",
    [
        (config.article_settings, config.ArticleSettings(
            seed=3, pocket_defaulters=config.Group(rows=20, age=(12, 18), balance=(50000, 100000)),
            scattered_defaulters=config.Group(rows=8, age=(12, 100), balance=(0, 90000)),
            payers=config.Group(rows=400, age=(20, 90), balance=(0, 80000)))),
        (config.synthetic_settings, config.SyntheticSettings(
            rows=1000, default_rate=0.1, noise_share=0.25, pocket_age=(12, 18), pocket_balance=(50000, 100000),
            purity=0.8, age=(15, 95), balance=(0, 70000), extra_features=2, seed=5)),
        (config.source_settings,
         config.SourceSettings(source="article", missing="impute", plot_features=("balance", "age"),
                                             categorical=("region",))),
        (config.split_settings, config.SplitSettings(test_size=0.25, seed=1)),
        (config.cv_settings, config.CVSettings(folds=4, repeats=2, seed=6, n_jobs=2)),
        (config.compute_settings,
         config.ComputeSettings(backend="dask", scheduler="tcp://scheduler:8786", neighbors="brute")),
        (config.tuning_settings, config.TuningSettings(scoring="recall", folds=3, seed=4)),
        (config.ceiling_settings, config.CeilingSettings(rows=5000, directions=16, seed=8)),
        (config.evaluate_settings, config.EvaluateSettings(threshold=0.4, curve_points=50, grid_resolution=30)),
        (lambda params: config.classifier_settings(params, "logreg"),
         config.ClassifierSettings(name="logreg", classifier="LogisticRegression",
                                   options={"C": 0.5, "max_iter": 200})),
        (config.grid_settings,
         config.GridSettings(strategies=("baseline", "smote", "tuned_threshold"), classifiers=("logreg", "hgb"))),
        (config.cost_settings,
         config.CostSettings(missed_default=500.0, false_alarm=20.0, missed_default_column="balance")),
        (config.strategy_names, ["baseline", "smote", "knn_smote", "balanced", "tuned_threshold", "scorecard"]),
        (lambda params: config.leaderboard_settings(params, METRICS),
         config.LeaderboardSettings(primary="recall", confidence=0.9, baseline="smote")),
        (lambda params: config.goals(params, METRICS), {"accuracy": 0.8, "recall": 0.6}),
    ],
)
def test_settings_are_read_into_their_dataclass(params, read, expected):
    """Each section comes back converted (ranges and name lists as tuples), the pocket's keys flattened."""
    assert read(params) == expected


def test_optional_data_keys_default_to_none(params):
    """data's file keys may be left out; present ones are kept."""
    params["data"] = {"source": "file", "missing": "reject", "path": "data/input/x.csv", "target": "y", "positive": 2}
    assert config.source_settings(params) == config.SourceSettings(source="file", path="data/input/x.csv", target="y",
                                                         positive=2)


@pytest.mark.parametrize("value", [-1, "ten", True, 2.5, None])
def test_data_rows_must_be_a_non_negative_whole_number(params, value):
    """Negative, text, boolean, fractional or empty row counts name data.payers.rows."""
    params["data"]["article"]["payers"]["rows"] = value
    with raises_naming("data.article.payers.rows"):
        config.article_settings(params)


@pytest.mark.parametrize("value", [[50, 50], [60, 50]])
def test_data_range_needs_low_below_high(params, value):
    """A range with low >= high names the range key."""
    params["data"]["article"]["pocket_defaulters"]["age"] = value
    with raises_naming("data.article.pocket_defaulters.age"):
        config.article_settings(params)


@pytest.mark.parametrize("value", [[1, 2, 3], 12, "12-18"])
def test_data_range_must_be_a_pair(params, value):
    """A range that is not a [low, high) pair names the range key."""
    params["data"]["article"]["payers"]["balance"] = value
    with raises_naming("data.article.payers.balance"):
        config.article_settings(params)


def test_data_range_low_must_not_be_negative(params):
    """A negative low end names the element key."""
    params["data"]["article"]["payers"]["balance"] = [-5, 10]
    with raises_naming("data.article.payers.balance[0]"):
        config.article_settings(params)


def test_data_unknown_key_is_named(params):
    """An unknown key directly under data is named data.<key>."""
    params["data"]["article"]["extra"] = 1
    with raises_naming("data.article.extra"):
        config.article_settings(params)


def test_data_group_unknown_key_is_named(params):
    """An unknown key inside a group is named data.<group>.<key>."""
    params["data"]["article"]["payers"]["colour"] = "blue"
    with raises_naming("data.article.payers.colour"):
        config.article_settings(params)


def test_data_missing_group_is_named(params):
    """A missing group names it."""
    del params["data"]["article"]["scattered_defaulters"]
    with raises_naming("data.article.scattered_defaulters"):
        config.article_settings(params)


@pytest.mark.parametrize("value", [-1, "42", 1.5])
def test_data_seed_must_be_a_non_negative_whole_number(params, value):
    """A bad seed names data.seed."""
    params["data"]["article"]["seed"] = value
    with raises_naming("data.article.seed"):
        config.article_settings(params)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda pocket: pocket.update(colour=1), "params.yaml: unknown key 'data.synthetic.pocket.colour'; "
                                                 "the keys of 'data.synthetic.pocket' are: age, balance, purity"),
        (lambda pocket: pocket.pop("purity"), "params.yaml: missing key 'data.synthetic.pocket.purity'; "
                                              "add it (see docs/params.md)"),
        (lambda pocket: pocket.update(purity=1.5),
         "params.yaml: 'data.synthetic.pocket.purity' must lie strictly between 0.0 and 1.0, got 1.5"),
    ],
)
def test_synthetic_pocket_is_a_nested_group(params, edit, message):
    """The pocket's keys are checked in their own mapping, named with the full dotted key."""
    edit(params["data"]["synthetic"]["pocket"])
    with raises_exactly(message):
        config.synthetic_settings(params)


def test_messages_for_unknown_and_missing_keys_are_exact(params):
    params["cv"]["nope"] = 1
    with raises_exactly("params.yaml: unknown key 'cv.nope'; the keys of 'cv' are: folds, n_jobs, repeats, seed"):
        config.cv_settings(params)
    del params["cv"]["nope"], params["cv"]["folds"]
    with raises_exactly("params.yaml: missing key 'cv.folds'; add it (see docs/params.md)"):
        config.cv_settings(params)


def test_file_source_without_path_names_the_input_folder(params):
    params["data"]["source"] = "file"
    with raises_exactly("params.yaml: 'data.path' is needed with data.source: file; "
                        "name a .csv or .parquet file under data/input/"):
        config.source_settings(params)


def test_data_needs_two_rows_of_each_class(params):
    """Fewer than 2 defaulters in all is rejected, naming the row settings."""
    params["data"]["article"]["pocket_defaulters"]["rows"] = 1
    params["data"]["article"]["scattered_defaulters"]["rows"] = 0
    with pytest.raises(config.ConfigError, match=r"data\.article\.pocket_defaulters\.rows"):
        config.article_settings(params)


# --- split --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.2, "a", True])
def test_split_test_size_must_be_a_share(params, value):
    """test_size outside (0, 1) or not a number names split.test_size."""
    params["split"]["test_size"] = value
    with raises_naming("split.test_size"):
        config.split_settings(params)


def test_split_unknown_key_is_named(params):
    """An unknown key under split is named."""
    params["split"]["shuffle"] = False
    with raises_naming("split.shuffle"):
        config.split_settings(params)


# --- strategies ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["knn-smote", "Smote", "knn smote", 3])
def test_strategy_name_must_be_a_stage_name(params, name):
    """Dashes, upper case, spaces and non-strings are refused, quoting the name."""
    params["strategies"][name] = {"sampler": "none"}
    with pytest.raises(config.ConfigError, match=re.escape(repr(name))):
        config.strategy_names(params)


def test_empty_strategies_is_refused(params):
    """An empty strategies section is a ConfigError."""
    params["strategies"] = {}
    with pytest.raises(config.ConfigError, match="strategies"):
        config.strategy_names(params)


def test_strategy_settings_split_sampler_from_options(params):
    """A strategy's sampler is separated from its keyword settings."""
    settings = config.strategy_settings(params, "knn_smote")
    assert settings == config.StrategySettings(
        name="knn_smote",
        sampler="KNNFilterSMOTE",
        options={"threshold": 0.4, "if_too_few": "adapt"},
        seed=9,
    )


def test_unknown_strategy_lists_the_known_ones(params):
    """Asking for a strategy not in params names it and lists the known strategies."""
    with pytest.raises(config.ConfigError, match="nope") as caught:
        config.strategy_settings(params, "nope")
    for known in FIXED["strategies"]:
        assert known in str(caught.value)


def test_strategy_without_sampler_is_named(params):
    """A strategy with no sampler key names strategies.<name>.sampler."""
    del params["strategies"]["smote"]["sampler"]
    with raises_naming("strategies.smote.sampler"):
        config.strategy_settings(params, "smote")


def test_strategy_sampler_must_be_text(params):
    """A non-string sampler names strategies.<name>.sampler."""
    params["strategies"]["smote"]["sampler"] = 5
    with raises_naming("strategies.smote.sampler"):
        config.strategy_settings(params, "smote")


# --- model --------------------------------------------------------------------------------


def test_model_scale_is_every_strategys_default_and_model_holds_nothing_else(params):
    params["model"]["scale"] = True
    params["strategies"]["smote"]["scale"] = False
    assert config.strategy_settings(params, "baseline").scale is True
    assert config.strategy_settings(params, "smote").scale is False  # the strategy's own wins
    params["model"]["scale"] = "yes please"
    with raises_exactly("params.yaml: 'model.scale' must be true or false, got 'yes please'"):
        config.default_scale(params)
    params["model"] = {"scale": False, "C": 1.0}  # a params.yaml from before the classifiers section
    with raises_exactly("params.yaml: 'model.C': the classifiers' settings are under 'classifiers' now, e.g. "
                        "classifiers.logreg.C; 'model' holds only scale"):
        config.default_scale(params)


def test_the_global_seed_reaches_every_unseeded_step_and_no_seeded_one(params):
    """`seed` seeds samplers, bases and classifiers that set no random_state of their own."""
    from imbalance_lab.models.estimators import build_pipeline

    params["strategies"]["scorecard"]["sampler"] = "ADASYN"
    params["strategies"]["smote"]["basis"] = {"kind": "bins", "n_bins": 3}
    tuning = config.tuning_settings(params)
    logreg = config.classifier_settings(params, "logreg")
    unseeded = build_pipeline(config.strategy_settings(params, "scorecard"), logreg, tuning)
    seeded = build_pipeline(config.strategy_settings(params, "smote"), logreg, tuning)
    assert unseeded.named_steps["sampler"].random_state == 9
    assert unseeded.named_steps["basis"].random_state == 9
    assert unseeded.named_steps["model"].random_state == 9
    assert seeded.named_steps["sampler"].random_state == 2  # smote's own
    baseline = config.strategy_settings(params, "baseline")
    hgb = build_pipeline(baseline, config.classifier_settings(params, "hgb"), tuning)
    assert hgb.named_steps["model"].random_state == 9
    params["classifiers"]["logreg"]["random_state"] = 5
    own = build_pipeline(baseline, config.classifier_settings(params, "logreg"), tuning)
    assert own.named_steps["model"].random_state == 5


@pytest.mark.parametrize("value", [-1, 1.5, "42", None, True])
def test_the_global_seed_must_be_a_non_negative_whole_number(params, value):
    params["seed"] = value
    with raises_naming("seed"):
        config.strategy_settings(params, "smote")


def test_model_section_must_be_a_mapping(params):
    """A model section that is not a mapping names 'model'."""
    params["model"] = ["C", 1.0]
    with raises_naming("model"):
        config.default_scale(params)


# --- classifiers, grid, costs ------------------------------------------------------------


@pytest.mark.parametrize("entry, key, fragment", [
    ({"classifier": "SVC"}, "classifiers.logreg.classifier", "choose one of LogisticRegression"),
    ({"classifier": "LogisticRegression", "class_weight": "heavy"}, "classifiers.logreg.class_weight", "balanced"),
    ({"C": 1.0}, "classifiers.logreg.classifier", "missing key"),
])
def test_a_wrong_classifier_entry_names_its_key(params, entry, key, fragment):
    params["classifiers"]["logreg"] = entry
    with pytest.raises(config.ConfigError, match=re.escape(key)) as caught:
        config.classifier_settings(params, "logreg")
    assert fragment in str(caught.value)


def test_a_classifiers_own_constraints_are_checked_with_its_key(params):
    """A value the class itself rejects names classifiers.<name>.<setting> (build_estimator's rule)."""
    from imbalance_lab.models.estimators import build_pipeline

    params["classifiers"]["hgb"]["learning_rate"] = -1
    with raises_naming("classifiers.hgb.learning_rate"):
        build_pipeline(config.strategy_settings(params, "baseline"), config.classifier_settings(params, "hgb"), None)


def test_class_weight_on_a_classifier_without_one_says_which_cell(params):
    from imbalance_lab.models.estimators import build_pipeline

    with pytest.raises(config.ConfigError, match=r"'strategies\.balanced\.class_weight' cannot apply to classifier "
                                            r"'easy' \(EasyEnsembleClassifier has no class_weight\)"):
        build_pipeline(config.strategy_settings(params, "balanced"), config.classifier_settings(params, "easy"), None)


@pytest.mark.parametrize("grid, key, fragment", [
    ({"strategies": ["baseline", "nope"], "classifiers": ["logreg"]}, "grid.strategies", "'nope'"),
    ({"strategies": ["baseline"], "classifiers": ["rf"]}, "grid.classifiers", "'rf'"),
    ({"strategies": [], "classifiers": ["logreg"]}, "grid.strategies", "a list of names"),
    ({"strategies": ["smote", "smote"], "classifiers": ["logreg"]}, "grid.strategies", "twice"),
    ({"strategies": ["smote"], "classifiers": "logreg"}, "grid.classifiers", "a list of names"),
    ({"strategies": ["smote"], "classifiers": ["logreg"], "extra": 1}, "grid.extra", "unknown key"),
])
def test_a_wrong_grid_names_its_key(params, grid, key, fragment):
    params["grid"] = grid
    with pytest.raises(config.ConfigError, match=re.escape(key)) as caught:
        config.grid_settings(params)
    assert fragment in str(caught.value)


def test_the_grid_names_cells_in_dvcs_matrix_order(params):
    assert config.grid_settings(params).cells() == ["baseline-logreg", "baseline-hgb", "smote-logreg", "smote-hgb",
                                               "tuned_threshold-logreg", "tuned_threshold-hgb"]


def test_a_classifier_name_must_be_usable_in_a_stage_name(params):
    params["classifiers"]["log-reg"] = params["classifiers"].pop("logreg")
    with pytest.raises(config.ConfigError, match="classifier name 'log-reg'"):
        config.classifier_names(params)


@pytest.mark.parametrize("key, value", [("missed_default", -1), ("false_alarm", "cheap"), ("missed_default", None)])
def test_a_wrong_cost_names_its_key(params, key, value):
    params["costs"][key] = value
    with raises_naming(f"costs.{key}"):
        config.cost_settings(params)


def test_costs_of_nothing_are_refused(params):
    params["costs"].update(missed_default=0, false_alarm=0)
    with raises_naming("costs"):
        config.cost_settings(params)


def test_correct_prior_and_calibrate_are_read_and_not_both(params):
    params["strategies"]["smote"]["correct_prior"] = True
    assert config.strategy_settings(params, "smote").correct_prior is True
    params["strategies"]["smote"]["calibrate"] = "isotonic"
    with raises_naming("strategies.smote"):
        config.strategy_settings(params, "smote")
    del params["strategies"]["smote"]["correct_prior"]
    assert config.strategy_settings(params, "smote").calibrate == "isotonic"
    params["strategies"]["smote"]["calibrate"] = "platt"
    with raises_naming("strategies.smote.calibrate"):
        config.strategy_settings(params, "smote")


# --- evaluate -------------------------------------------------------------------------------


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
def test_evaluate_rejects_bad_values(params, key, value):
    """Out-of-range or wrongly typed evaluate settings name evaluate.<key>."""
    params["evaluate"][key] = value
    with raises_naming(f"evaluate.{key}"):
        config.evaluate_settings(params)


def test_evaluate_unknown_key_is_named(params):
    """An unknown key under evaluate is named."""
    params["evaluate"]["colour"] = "red"
    with raises_naming("evaluate.colour"):
        config.evaluate_settings(params)


# --- goals ------------------------------------------------------------------------------------


def test_goal_on_unknown_metric_is_named(params):
    """A goal on a metric that does not exist names goals.<metric>."""
    params["goals"]["speed"] = 0.5
    with raises_naming("goals.speed"):
        config.goals(params, METRICS)


@pytest.mark.parametrize("value", [1.5, -2, "high", True])
def test_goal_value_must_be_a_reachable_number(params, value):
    """A goal above 1, below -1 or not a number names goals.<metric>."""
    params["goals"]["f1"] = value
    with raises_naming("goals.f1"):
        config.goals(params, METRICS)


def test_goal_of_one_is_allowed(params):
    """A perfect score (1.0) is a valid goal."""
    params["goals"]["f1"] = 1.0
    assert config.goals(params, METRICS)["f1"] == 1.0


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
    params = config.load(path)
    assert config.article_settings(params).payers == config.Group(rows=4, age=(12, 100), balance=(0, 90000))
    assert config.split_settings(params) == config.SplitSettings(test_size=0.25, seed=1)


# --- strategy keys: class_weight, tune_threshold, scale, basis -----------------------------------


def test_strategy_keys_are_not_sampler_options(params):
    """The balanced, tuned_threshold and scorecard strategies: their keys are settings of the strategy, not of
    a sampler."""
    assert config.strategy_settings(params, "balanced") == config.StrategySettings(
        name="balanced", sampler="none", options={}, class_weight="balanced", seed=9)
    assert config.strategy_settings(params, "tuned_threshold") == config.StrategySettings(
        name="tuned_threshold", sampler="none", options={}, tune_threshold=True, seed=9)
    assert config.strategy_settings(params, "scorecard") == config.StrategySettings(
        name="scorecard", sampler="none", options={}, class_weight="balanced",
        basis={"kind": "bins", "n_bins": 4}, seed=9)


def test_strategy_keys_default_to_off(params):
    """Without the optional keys: no class weights, fixed threshold, no scaling, no basis."""
    settings = config.strategy_settings(params, "smote")
    assert (settings.class_weight, settings.tune_threshold, settings.scale, settings.basis) == (
        None, False, False, None)


def test_strategy_keys_next_to_sampler_settings(params):
    """All strategy keys together with a sampler's own settings are split apart correctly."""
    params["strategies"]["x"] = {
        "sampler": "SMOTE", "k_neighbors": 3, "class_weight": {0: 1, 1: 10}, "tune_threshold": False,
        "scale": True, "basis": {"kind": "splines", "n_knots": 4},
    }
    assert config.strategy_settings(params, "x") == config.StrategySettings(
        name="x", sampler="SMOTE", options={"k_neighbors": 3}, class_weight={0: 1, 1: 10},
        tune_threshold=False, scale=True, basis={"kind": "splines", "n_knots": 4}, seed=9)


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
def test_strategy_keys_reject_bad_values(params, key, value, named):
    """A bad strategy key is a ConfigError naming strategies.<name>.<key>."""
    params["strategies"]["x"] = {"sampler": "none", key: value}
    with raises_naming(f"strategies.x.{named}"):
        config.strategy_settings(params, "x")


# --- cv -----------------------------------------------------------------------------------------------


def test_cv_all_cores_is_allowed(params):
    params["cv"]["n_jobs"] = -1
    assert config.cv_settings(params).n_jobs == -1


@pytest.mark.parametrize(
    "key, value",
    [("folds", 1), ("folds", 2.5), ("folds", True), ("repeats", 0), ("seed", -1),
     ("n_jobs", 0), ("n_jobs", -2), ("n_jobs", True), ("n_jobs", 1.5), ("n_jobs", "all")],
)
def test_cv_rejects_bad_values(params, key, value):
    params["cv"][key] = value
    with raises_naming(f"cv.{key}"):
        config.cv_settings(params)


def test_cv_unknown_key_is_named(params):
    params["cv"]["shuffle"] = True
    with raises_naming("cv.shuffle"):
        config.cv_settings(params)


# --- threshold_tuning -------------------------------------------------------------------------------


@pytest.mark.parametrize("key, value", [("scoring", "nope"), ("scoring", 3), ("folds", 1), ("seed", "x")])
def test_tuning_rejects_bad_values(params, key, value):
    params["threshold_tuning"][key] = value
    with raises_naming(f"threshold_tuning.{key}"):
        config.tuning_settings(params)


def test_tuning_accepts_any_sklearn_scorer(params):
    params["threshold_tuning"]["scoring"] = "balanced_accuracy"
    assert config.tuning_settings(params).scoring == "balanced_accuracy"


# --- leaderboard ------------------------------------------------------------------------------------


def test_leaderboard_baseline_may_be_null(params):
    params["leaderboard"]["baseline"] = None
    assert config.leaderboard_settings(params, METRICS).baseline is None


@pytest.mark.parametrize(
    "key, value",
    [("primary", "nope"), ("primary", "tp"), ("baseline", "nope"), ("confidence", 1.0), ("confidence", 0),
     ("confidence", "high")],
)
def test_leaderboard_rejects_bad_values(params, key, value):
    params["leaderboard"][key] = value
    with raises_naming(f"leaderboard.{key}"):
        config.leaderboard_settings(params, METRICS)


# --- ceiling ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key, value", [("rows", 10), ("rows", 999), ("rows", 1e6), ("directions", 4), ("seed", -1)])
def test_ceiling_rejects_bad_values(params, key, value):
    params["ceiling"][key] = value
    with raises_naming(f"ceiling.{key}"):
        config.ceiling_settings(params)


def test_ceiling_unknown_key_is_named(params):
    params["ceiling"]["grid"] = 5
    with raises_naming("ceiling.grid"):
        config.ceiling_settings(params)


# --- build_estimator ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, named",
    [({"k_neighbors": "five"}, "k_neighbors"), ({"random_state": "x", "k_neighbors": 0}, "k_neighbors"),
     ({"k_neighbors": 3, "sampling_strategy": 5}, "sampling_strategy")],
)
def test_build_estimator_names_the_wrong_setting(settings, named):
    """The first wrong setting (in scikit-learn's order) is named, with what the estimator allows."""
    with pytest.raises(config.ConfigError) as caught:
        config.build_estimator(SMOTE, settings, "strategies.smote")
    message = str(caught.value)
    assert message.startswith(f"params.yaml: 'strategies.smote.{named}': The '{named}' parameter of SMOTE must be")
    assert message.endswith(" Fix it in params.yaml.")


def test_build_estimator_refuses_an_unknown_setting():
    with pytest.raises(config.ConfigError, match=r"'strategies\.smote\.bogus' is not a setting of SMOTE; its settings "
                                            "are: "):
        config.build_estimator(SMOTE, {"bogus": 1}, "strategies.smote")


# --- issue 21: seeds, scorers, costs, class weights, categorical_features, work, random_state: null ---------------


@pytest.mark.parametrize("key", ["seed", "split.seed", "cv.seed", "threshold_tuning.seed", "ceiling.seed",
                                 "data.article.seed", "data.synthetic.seed"])
@pytest.mark.parametrize("value", [2**32, -1])
def test_every_seed_is_bounded_to_numpys_range_and_named(params, key, value):
    *parents, last = key.split(".")
    node = params
    for part in parents:
        node = node[part]
    node[last] = value
    readers = {"seed": config.global_seed, "split": config.split_settings, "cv": config.cv_settings,
               "threshold_tuning": config.tuning_settings, "ceiling": config.ceiling_settings}
    read = readers.get(parents[0] if parents else "seed") or (
        config.article_settings if "article" in key else config.synthetic_settings)
    with raises_exactly(f"params.yaml: '{key}' must be a whole number, at least 0 and at most 4294967295 (2**32 - 1, "
                        f"the seeds numpy accepts), got {value!r}"):
        read(params)
    node[last] = 2**32 - 1
    read(params)


@pytest.mark.parametrize("part, name", [("strategies", "smote"), ("classifiers", "hgb")])
def test_random_state_null_is_the_global_seed_and_a_bad_one_is_named(params, part, name):
    from imbalance_lab.models.estimators import build_pipeline

    read = config.strategy_settings if part == "strategies" else config.classifier_settings
    params[part][name]["random_state"] = None
    assert "random_state" not in read(params, name).options
    strategy, classifier = (read(params, name), config.classifier_settings(params, "logreg")) if part == "strategies" \
        else (config.strategy_settings(params, "baseline"), read(params, name))
    pipeline = build_pipeline(strategy, classifier, config.tuning_settings(params))
    step = pipeline.named_steps["sampler" if part == "strategies" else "model"]
    assert step.random_state == params["seed"] == 9
    params[part][name]["random_state"] = 2**32
    with raises_naming(f"{part}.{name}.random_state"):
        read(params, name)


def test_a_basis_random_state_null_is_the_global_seed(params):
    from imbalance_lab.models.estimators import build_basis

    params["strategies"]["scorecard"]["basis"]["random_state"] = None
    assert build_basis(config.strategy_settings(params, "scorecard")).random_state == 9


def test_only_classification_scorers_tune_a_threshold_and_each_of_them_works():
    """Told apart by the scorer object (its score function's module, its ``average``), not by a list: every
    name accepted tunes a real TunedThresholdClassifierCV on binary data; every name refused is one that
    fails there or scores no classifier (regression, clustering, multilabel)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import get_scorer_names
    from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

    from imbalance_lab.evaluation.metrics import threshold_scorer

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] + rng.normal(size=120) > 1).astype(int)
    kinds = {name: config.scorer_kind(name) for name in get_scorer_names()}
    assert {"r2", "neg_mean_poisson_deviance", "neg_mean_squared_error"} <= {
        n for n, k in kinds.items() if k == "regression"}
    assert {n for n, k in kinds.items() if k == "multilabel"} == {
        "f1_samples", "jaccard_samples", "precision_samples", "recall_samples"}
    assert "adjusted_rand_score" in {n for n, k in kinds.items() if k == "clustering"}
    for name, kind in kinds.items():
        if kind == "classification":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. precision of a threshold that flags no row
                TunedThresholdClassifierCV(LogisticRegression(), scoring=threshold_scorer(name), thresholds=4,
                                           cv=StratifiedKFold(2)).fit(X, y)
            assert config.scorer(name, "threshold_tuning.scoring") == name
        else:
            with raises_exactly(f"params.yaml: 'threshold_tuning.scoring' is {name!r}, a {kind} scorer; the threshold "
                                f"of a binary classifier needs a classification scorer: {config.SCORER_HINT}"):
                config.scorer(name, "threshold_tuning.scoring")


@pytest.mark.parametrize("key", ["missed_default", "false_alarm"])
def test_costs_are_bounded_so_that_their_products_stay_finite(params, key):
    params["costs"][key] = 1e15
    config.cost_settings(params)
    params["costs"][key] = 1e308
    with raises_naming(f"costs.{key}"):
        config.cost_settings(params)


@pytest.mark.parametrize("weights, key, fragment", [
    ({0: 1e-300, 1: 1e300}, "class_weight.0", "from 1e-06 to 1e+06"),
    ({0: 1, 1: 1e7}, "class_weight.1", "from 1e-06 to 1e+06"),
    ({0: 1e-4, 1: 1e4}, "class_weight", "at most 1e+06"),
])
def test_class_weights_are_bounded_in_value_and_ratio(params, weights, key, fragment):
    params["strategies"]["balanced"]["class_weight"] = weights
    with pytest.raises(config.ConfigError, match=rf"'strategies\.balanced\.{re.escape(key)}' .*{re.escape(fragment)}"):
        config.strategy_settings(params, "balanced")
    params["strategies"]["balanced"]["class_weight"] = {0: 1e-3, 1: 1e3}  # the ratio at its bound
    assert config.strategy_settings(params, "balanced").class_weight == {0: 1e-3, 1: 1e3}


@pytest.mark.parametrize("value, refused", [([0], True), ([True, False], True), (None, False), ("from_dtype", False)])
def test_hgb_categorical_features_cannot_be_saved(params, value, refused):
    params["classifiers"]["hgb"]["categorical_features"] = value
    if refused:
        with raises_naming("classifiers.hgb.categorical_features"):
            config.classifier_settings(params, "hgb")
    else:
        config.classifier_settings(params, "hgb")


def test_the_work_estimate_counts_every_fit_of_every_cell(params):
    """FIXED: cv 4 x 2, tuning 3 folds; strategies baseline, smote, tuned_threshold; logreg 200, hgb 20 rounds.
    Per cell: (4 x 2 + 1) fits + 4 for the cost threshold = 13; tuned_threshold: 9 x 4 + 4 = 40."""
    work = config.work_estimate(params, 100)
    assert work.total == 100 * ((13 + 13 + 40) * 200 + (13 + 13 + 40) * 20)
    assert (work.cell, work.fits, work.rounds, work.rounds_key) == (
        "tuned_threshold-logreg", 40, 200, "classifiers.logreg.max_iter")
    params["strategies"]["tuned_threshold"]["calibrate"] = "sigmoid"  # x 3 calibrated fits each
    assert config.work_estimate(params, 100).fits == 9 * 4 * 3 + 4 * 3
    params["grid"]["classifiers"] = ["easy"]
    assert config.work_estimate(params, 1).rounds_key == "classifiers.easy.n_estimators"


# --- the pydantic models: strict, unknown keys forbidden, pydantic's errors in this project's words -------------


@pytest.mark.parametrize("section, key, value, message", [
    ("cv", "folds", True, "'cv.folds' must be a whole number, got True"),
    ("cv", "folds", 2.5, "'cv.folds' must be a whole number, got 2.5"),
    ("cv", "folds", "3", "'cv.folds' must be a whole number, got '3'"),
    ("cv", "folds", 1, "'cv.folds' must be at least 2, got 1"),
    ("split", "test_size", "0.3", "'split.test_size' must be a number, got '0.3'"),
    ("split", "test_size", True, "'split.test_size' must be a number, got True"),
    ("evaluate", "grid_resolution", 5000, "'evaluate.grid_resolution' must be at most 2,000 (memory), got 5,000"),
    ("compute", "backend", "cloud", "'compute.backend' must be one of local, dask, got 'cloud'"),
])
def test_values_are_strict_and_refused_in_one_line(params, section, key, value, message):
    """YAML gives real types: true is no 1, 2.5 no whole number, "3" no number."""
    params[section][key] = value
    read = {"cv": config.cv_settings, "split": config.split_settings, "evaluate": config.evaluate_settings,
            "compute": config.compute_settings}[section]
    with raises_exactly(f"params.yaml: {message}"):
        read(params)


def test_an_unknown_key_is_named_before_a_wrong_value_beside_it(params):
    """As the reader always did: a mapping's keys are checked before its values."""
    params["cv"]["folds"], params["cv"]["zz"], params["cv"]["aa"] = True, 1, 2
    with raises_exactly("params.yaml: unknown key 'cv.aa'; the keys of 'cv' are: folds, n_jobs, repeats, seed"):
        config.cv_settings(params)


def test_a_key_a_stage_depends_on_is_needed_though_the_class_has_a_default(params):
    """data.missing is a DVC param of the stages: params.yaml must hold it; SourceSettings(...) defaults it."""
    del params["data"]["missing"]
    with raises_exactly("params.yaml: missing key 'data.missing'; add it (see docs/params.md)"):
        config.source_settings(params)
    assert config.SourceSettings(source="article").missing == "reject"


def test_settings_are_frozen_and_replace_validates_again(params):
    from pydantic import ValidationError

    split = config.split_settings(params)
    with pytest.raises(ValidationError):
        split.seed = 3  # frozen
    assert split.replace(seed=3) == config.SplitSettings(test_size=0.25, seed=3)
    with pytest.raises(ValidationError):
        split.replace(test_size=True)
    synthetic = config.synthetic_settings(params).replace(purity=0.5)  # the pocket's keys by their flat names
    assert (synthetic.purity, synthetic.pocket.purity, synthetic.pocket_age) == (0.5, 0.5, (12, 18))
    # by position too
    assert config.TuningSettings("f1", 5, 42) == config.TuningSettings(scoring="f1", folds=5, seed=42)
