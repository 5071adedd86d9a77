"""Strategy -> sampler, resampling of the training split, and the article's KNNFilterSMOTE."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import EditedNearestNeighbours
from imblearn.utils.estimator_checks import parametrize_with_checks
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.preprocessing import StandardScaler

from imbalance_lab.data.dataset import features_and_target
from imbalance_lab.settings import params as config
from imbalance_lab.strategies.knn_smote import KNNFilterSMOTE, SamplerError
from imbalance_lab.strategies.neighbours import with_neighbour_search
from imbalance_lab.strategies.samplers import build_sampler, resample, sampler_errors, sampler_failure


def strategy(name, sampler, **options) -> config.StrategySettings:
    return config.StrategySettings(name=name, sampler=sampler, options=options)


def configured(article_params, name):
    """The sampler of strategy ``name`` as params.yaml configures it."""
    return build_sampler(config.strategy_settings(article_params, name))


def row_set(X, y=None) -> set[tuple]:
    values = np.asarray(X, dtype=float)
    if y is None:
        return set(map(tuple, values.tolist()))
    return set(zip(map(tuple, values.tolist()), np.asarray(y).tolist(), strict=True))


def own_class_probability(X, y, neighbors=3):
    """Independent KNN filter: standardise, fit and score the same rows, own-class probability."""
    scaled = StandardScaler().fit_transform(np.asarray(X, dtype=float))
    knn = KNeighborsClassifier(n_neighbors=neighbors).fit(scaled, y)
    probability = knn.predict_proba(scaled)
    column = {label: index for index, label in enumerate(knn.classes_)}
    return probability[np.arange(len(y)), [column[label] for label in y]]


# --- the configured strategies on the article's training split ---------------------


def test_none_strategy_builds_no_sampler(article_params):
    """'sampler: none' (the baseline) builds no sampler."""
    assert configured(article_params, "baseline") is None


def test_resample_without_sampler_returns_the_data_unchanged(article_train_xy):
    """resample with no sampler hands back the very same X and y and no notes."""
    X, y = article_train_xy
    X_res, y_res, notes = resample(X, y, None, "strategies.baseline")
    assert X_res is X and y_res is y and notes == []


def test_smote_balances_to_350_each(article_params, article_train_xy):
    """SMOTE grows the 24 training defaults to the 350 payers."""
    X, y = article_train_xy
    _, y_res, _ = resample(X, y, configured(article_params, "smote"), "strategies.smote")
    assert Counter(np.asarray(y_res).tolist()) == {0: 350, 1: 350}


def test_smote_strategy_equals_imblearn_smote(article_params, article_train_xy):
    """The smote strategy is imblearn's SMOTE(k_neighbors=5, random_state=42), nothing more."""
    X, y = article_train_xy
    X_res, y_res, _ = resample(X, y, configured(article_params, "smote"), "strategies.smote")
    X_exp, y_exp = SMOTE(k_neighbors=5, random_state=42).fit_resample(X, y)
    np.testing.assert_array_equal(np.asarray(X_res), np.asarray(X_exp))
    np.testing.assert_array_equal(np.asarray(y_res), np.asarray(y_exp))


def test_enn_leaves_287_payers_and_24_defaults(article_params, article_train_xy):
    """EditedNearestNeighbours (defaults) removes payers only: 287 / 24."""
    X, y = article_train_xy
    _, y_res, _ = resample(X, y, configured(article_params, "enn"), "strategies.enn")
    assert Counter(np.asarray(y_res).tolist()) == {0: 287, 1: 24}


def test_enn_strategy_equals_imblearn_enn(article_params, article_train_xy):
    """The enn strategy is imblearn's EditedNearestNeighbours with its default settings."""
    X, y = article_train_xy
    X_res, y_res, _ = resample(X, y, configured(article_params, "enn"), "strategies.enn")
    X_exp, y_exp = EditedNearestNeighbours().fit_resample(X, y)
    np.testing.assert_array_equal(np.asarray(X_res), np.asarray(X_exp))
    np.testing.assert_array_equal(np.asarray(y_res), np.asarray(y_exp))


def test_knn_smote_keeps_10_of_24_defaults(article_params, article_train_xy):
    """The article's KNN filter (3 neighbours, > 0.5) passes 10 of the 24 training defaults."""
    X, y = article_train_xy
    sampler = configured(article_params, "knn_smote")
    resample(X, y, sampler, "strategies.knn_smote")
    assert sampler.kept_ == {1: 10}


def test_knn_smote_balances_to_350_each(article_params, article_train_xy):
    """KNNFilterSMOTE grows the kept defaults to the 350 payers."""
    X, y = article_train_xy
    _, y_res, _ = resample(X, y, configured(article_params, "knn_smote"), "strategies.knn_smote")
    assert Counter(np.asarray(y_res).tolist()) == {0: 350, 1: 350}


def test_knn_smote_equals_independent_filter_then_smote(article_train_xy):
    """KNNFilterSMOTE = KNN filter on standardised rows, then imblearn SMOTE on the kept unscaled rows."""
    X, y = article_train_xy
    X_res, y_res = KNNFilterSMOTE(filter_neighbors=3, threshold=0.5, k_neighbors=5, random_state=42).fit_resample(X, y)

    scaled = StandardScaler().fit_transform(X)
    proba = KNeighborsClassifier(n_neighbors=3).fit(scaled, y).predict_proba(scaled)
    keep = (y == 0) | ((y == 1) & (proba[:, 1] > 0.5))
    X_exp, y_exp = SMOTE(sampling_strategy={1: 350}, k_neighbors=5, random_state=42).fit_resample(
        X.to_numpy()[keep], y[keep]
    )
    np.testing.assert_array_equal(np.asarray(X_res), X_exp)
    np.testing.assert_array_equal(np.asarray(y_res), y_exp)


def test_knn_smote_threshold_is_strict(article_train_xy):
    """A default whose own-class probability equals the threshold (2 of 3 neighbours) is dropped."""
    X, y = article_train_xy
    probability = own_class_probability(X, y)[y == 1]
    above, at = int((probability > 2 / 3).sum()), int((probability == 2 / 3).sum())
    assert at > 0 and above >= 6  # rows sit exactly on the threshold; enough remain for SMOTE
    sampler = KNNFilterSMOTE(threshold=2 / 3, random_state=0)
    sampler.fit_resample(X, y)
    assert sampler.kept_ == {1: above}


def test_knn_smote_returns_a_frame_with_the_input_columns(article_train_xy):
    """A DataFrame in gives a DataFrame out with the same feature names (the cli relies on it)."""
    X, y = article_train_xy
    X_res, _ = KNNFilterSMOTE(random_state=42).fit_resample(X, y)
    assert list(X_res.columns) == ["age", "balance"]


# --- no leakage -----------------------------------------------------------------------


def test_enn_output_rows_all_come_from_the_training_split(article_params, article_train_xy):
    """An under-sampler only removes rows: every (row, label) it returns is a training row."""
    X, y = article_train_xy
    X_res, y_res, _ = resample(X, y, configured(article_params, "enn"), "strategies.enn")
    assert row_set(X_res, y_res) <= row_set(X, y)
    assert len(row_set(X_res)) == len(y_res)  # and no row is repeated


@pytest.mark.parametrize("name", ["smote", "knn_smote"])
def test_oversampled_output_has_no_test_rows(article_params, article_split, name):
    """SMOTE-style output never contains a held-out test row (one not also in train)."""
    train, test = article_split
    X, y = features_and_target(train)
    X_res, _, _ = resample(X, y, configured(article_params, name), f"strategies.{name}")
    test_only = row_set(test[["age", "balance"]]) - row_set(X)
    assert test_only  # the check below is not vacuous
    assert not row_set(X_res) & test_only


def test_smote_output_contains_every_training_row(article_params, article_train_xy):
    """SMOTE adds rows and keeps every original training row with its label."""
    X, y = article_train_xy
    X_res, y_res, _ = resample(X, y, configured(article_params, "smote"), "strategies.smote")
    assert row_set(X, y) <= row_set(X_res, y_res)


def test_knn_smote_output_contains_the_payers_and_the_kept_defaults(article_params, article_train_xy):
    """KNNFilterSMOTE keeps every payer and every default that passed the filter, with labels."""
    X, y = article_train_xy
    X_res, y_res, _ = resample(X, y, configured(article_params, "knn_smote"), "strategies.knn_smote")
    passed = (y == 0) | (own_class_probability(X, y) > 0.5)
    assert row_set(X[passed], y[passed]) <= row_set(X_res, y_res)


def test_knn_smote_drops_the_filtered_out_defaults(article_params, article_train_xy):
    """Defaults the filter rejects are not among the rows SMOTE starts from (nor in the output)."""
    X, y = article_train_xy
    X_res, _, _ = resample(X, y, configured(article_params, "knn_smote"), "strategies.knn_smote")
    rejected = (y == 1) & (own_class_probability(X, y) <= 0.5)
    assert rejected.sum() == 14  # 24 defaults, 10 kept
    assert not row_set(X_res) & row_set(X[rejected])


# --- KNNFilterSMOTE when the filter keeps too few rows -----------------------------------


def test_too_few_kept_raises_by_default_saying_how_many(article_train_xy):
    """k_neighbors=15 needs 16 rows; the filter keeps 10: a SamplerError (a ValueError, as imblearn's
    own, and a ConfigError) naming 10 and k_neighbors, whether the setting is a count or an object."""
    X, y = article_train_xy
    for k_neighbors in (15, NearestNeighbors(n_neighbors=16)):
        with pytest.raises(SamplerError, match=r"kept 10 .*k_neighbors=15") as caught:
            KNNFilterSMOTE(k_neighbors=k_neighbors, random_state=0).fit_resample(X, y)
        assert isinstance(caught.value, ValueError) and isinstance(caught.value, config.ConfigError)


def test_strict_threshold_with_too_few_kept_raises(article_train_xy):
    """threshold=0.99 keeps only unanimously-voted defaults; asking for one more than that raises.

    (threshold=0.99 alone does not raise on the article data: the unanimous
    defaults already number at least k_neighbors + 1 = 6.)
    """
    X, y = article_train_xy
    unanimous = int(((y == 1) & (own_class_probability(X, y) > 0.99)).sum())
    assert 0 < unanimous < 24
    with pytest.raises(ValueError, match=rf"kept {unanimous} .*k_neighbors={unanimous}"):
        KNNFilterSMOTE(threshold=0.99, k_neighbors=unanimous, random_state=0).fit_resample(X, y)


@pytest.mark.parametrize("options", [{"k_neighbors": 15}, {"threshold": 0.99, "k_neighbors": 15}])
def test_adapt_keeps_k_plus_one_rows_and_says_so(article_train_xy, options):
    """if_too_few='adapt' keeps k_neighbors + 1 defaults, balances, and leaves a note."""
    X, y = article_train_xy
    sampler = KNNFilterSMOTE(if_too_few="adapt", random_state=0, **options)
    _, y_res = sampler.fit_resample(X, y)
    assert sampler.kept_ == {1: 16}
    assert sampler.notes_
    assert Counter(np.asarray(y_res).tolist()) == {0: 350, 1: 350}


def test_adapt_keeps_the_most_confident_defaults(article_train_xy):
    """Adapting keeps exactly the k_neighbors + 1 defaults with the highest own-class probability.

    With 5 filter neighbours the defaults' probabilities spread over 0.2 .. 1, so
    the 12 best (k_neighbors=11) are a set without ties at the cut.
    """
    X, y = article_train_xy
    sampler = KNNFilterSMOTE(filter_neighbors=5, k_neighbors=11, if_too_few="adapt", random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    probability = own_class_probability(X, y, neighbors=5)
    defaults = np.flatnonzero(y == 1)
    ranked = np.sort(probability[defaults])[::-1]
    assert ranked[11] > ranked[12]  # no tie at the cut: the best 12 are well defined
    best = defaults[probability[defaults] >= ranked[11]]
    rest = defaults[probability[defaults] < ranked[11]]
    assert sampler.kept_ == {1: 12}
    assert row_set(X.iloc[best]) <= row_set(X_res)
    assert not row_set(X_res) & row_set(X.iloc[rest])


def test_no_notes_when_enough_rows_pass(article_train_xy):
    """When the filter keeps enough rows nothing is adapted and notes_ is empty."""
    X, y = article_train_xy
    sampler = KNNFilterSMOTE(if_too_few="adapt", random_state=0)
    sampler.fit_resample(X, y)
    assert sampler.kept_ == {1: 10}
    assert sampler.notes_ == []


def test_resample_turns_the_filter_error_into_a_config_error(article_train_xy):
    """Through resample, the filter's error becomes a SamplerError (a ConfigError) naming the strategy key."""
    X, y = article_train_xy
    with pytest.raises(SamplerError, match=r"strategies\.knn_smote.*if_too_few='adapt'"):
        resample(X, y, KNNFilterSMOTE(k_neighbors=15), "strategies.knn_smote")


def test_resample_passes_the_notes_on(article_train_xy):
    """resample returns the sampler's notes (an adapted KNNFilterSMOTE has one)."""
    X, y = article_train_xy
    sampler = KNNFilterSMOTE(k_neighbors=15, if_too_few="adapt", random_state=0)
    _, _, notes = resample(X, y, sampler, "strategies.knn_smote")
    assert notes == sampler.notes_ and len(notes) == 1


# --- KNNFilterSMOTE with neighbour objects -------------------------------------------------


@pytest.mark.parametrize("algorithm", ["auto", "kd_tree", "ball_tree", "brute"])
def test_knn_smote_with_neighbour_objects_equals_the_int_version(article_train_xy, algorithm):
    """A KNeighborsClassifier(3) filter and NearestNeighbors(5 + 1) for SMOTE give exactly the rows,
    kept counts and notes of filter_neighbors=3, k_neighbors=5 (params.yaml's knn_smote), any search."""
    X, y = article_train_xy
    settings = {"threshold": 0.5, "if_too_few": "adapt", "random_state": 42}
    with_ints = KNNFilterSMOTE(filter_neighbors=3, k_neighbors=5, **settings)
    with_objects = KNNFilterSMOTE(filter_neighbors=KNeighborsClassifier(n_neighbors=3, algorithm=algorithm),
                                  k_neighbors=NearestNeighbors(n_neighbors=6, algorithm=algorithm), **settings)
    expected_X, expected_y = with_ints.fit_resample(X, y)
    X_res, y_res = with_objects.fit_resample(X, y)
    np.testing.assert_array_equal(np.asarray(X_res), np.asarray(expected_X))
    np.testing.assert_array_equal(y_res, expected_y)
    assert (with_objects.kept_, with_objects.notes_) == (with_ints.kept_, with_ints.notes_) == ({1: 10}, [])


def test_knn_smote_objects_adapt_like_counts(article_train_xy):
    """if_too_few='adapt' keeps k + 1 rows, k read from the NearestNeighbors (16 neighbours: k = 15)."""
    X, y = article_train_xy
    sampler = KNNFilterSMOTE(k_neighbors=NearestNeighbors(n_neighbors=16), if_too_few="adapt", random_state=0)
    expected = KNNFilterSMOTE(k_neighbors=15, if_too_few="adapt", random_state=0)
    np.testing.assert_array_equal(np.asarray(sampler.fit_resample(X, y)[0]), np.asarray(expected.fit_resample(X, y)[0]))
    assert sampler.kept_ == {1: 16} and sampler.notes_ == expected.notes_


def test_neighbour_search_gives_knn_smote_neighbour_objects():
    """with_neighbour_search treats KNNFilterSMOTE as imblearn's samplers: counts become estimators
    with the search (the filter keeps its count; SMOTE's NearestNeighbors counts the row itself)."""
    sampler = with_neighbour_search(KNNFilterSMOTE(filter_neighbors=4, k_neighbors=5), "ball_tree")
    assert isinstance(sampler.filter_neighbors, KNeighborsClassifier)
    assert (sampler.filter_neighbors.n_neighbors, sampler.filter_neighbors.algorithm) == (4, "ball_tree")
    assert isinstance(sampler.k_neighbors, NearestNeighbors)
    assert (sampler.k_neighbors.n_neighbors, sampler.k_neighbors.algorithm) == (6, "ball_tree")
    given = KNeighborsClassifier(n_neighbors=2, algorithm="brute")
    assert with_neighbour_search(KNNFilterSMOTE(filter_neighbors=given), "kd_tree").filter_neighbors is given


def test_configured_knn_smote_with_the_neighbour_search_resamples_as_before(article_params, article_train_xy):
    """params.yaml's knn_smote through with_neighbour_search (kd_tree for 2 columns, as the stages do) gives
    the rows of the plain count settings."""
    X, y = article_train_xy
    searched = with_neighbour_search(configured(article_params, "knn_smote"), "kd_tree")
    X_res, y_res, _ = resample(X, y, searched, "strategies.knn_smote")
    X_exp, y_exp, _ = resample(X, y, configured(article_params, "knn_smote"), "strategies.knn_smote")
    np.testing.assert_array_equal(np.asarray(X_res), np.asarray(X_exp))
    np.testing.assert_array_equal(y_res, y_exp)
    assert searched.kept_ == {1: 10}


def test_knn_smote_categorical_growing_searches_by_brute_force():
    """With categorical columns SMOTENC gets a brute-force search even from a k-d tree setting (a tree
    cannot search its sparse one-hot columns and would warn), and the rows equal the count version's."""
    import warnings

    rng = np.random.RandomState(0)
    X = np.column_stack([rng.normal(size=120), rng.normal(size=120), rng.randint(0, 3, 120)]).astype(object)
    y = (X[:, 0].astype(float) + rng.normal(0, 0.5, 120) > 1.0).astype(int)
    settings = {"categorical_features": [2], "if_too_few": "adapt", "random_state": 0}
    expected = KNNFilterSMOTE(k_neighbors=3, **settings).fit_resample(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = KNNFilterSMOTE(k_neighbors=NearestNeighbors(n_neighbors=4, algorithm="kd_tree"),
                                **settings).fit_resample(X, y)
    np.testing.assert_array_equal(result[0], expected[0])
    np.testing.assert_array_equal(result[1], expected[1])


def test_class_size_check_reads_k_from_a_neighbour_object(article_train_xy):
    """NearestNeighbors(31) is k_neighbors = 30: the early check names it and the fix, as for the count."""
    X, y = article_train_xy
    sampler = KNNFilterSMOTE(k_neighbors=NearestNeighbors(n_neighbors=31), random_state=0)
    with pytest.raises(config.ConfigError, match=r"'strategies\.knn_smote\.k_neighbors' = 30 .*at most 23"):
        resample(X, y, sampler, "strategies.knn_smote")


def test_fold_size_check_reads_k_from_the_searched_pipeline(article_params):
    """check_fold_sizes on a built pipeline (k_neighbors now a NearestNeighbors) still reads k = 19."""
    from imbalance_lab.data.dataset import Columns
    from imbalance_lab.models.estimators import build_pipeline
    from imbalance_lab.strategies.samplers import check_fold_sizes

    strategy = config.StrategySettings(name="knn_smote", sampler="KNNFilterSMOTE",
                                  options={"k_neighbors": 19, "if_too_few": "adapt"})
    estimator = build_pipeline(strategy, {}, None, Columns(("age", "balance"), ()), "auto")
    assert isinstance(estimator.named_steps["sampler"].k_neighbors, NearestNeighbors)
    with pytest.raises(config.ConfigError, match=r"k_neighbors' = 19 needs at least 20 rows"):
        check_fold_sizes({"0": 350, "1": 24}, 5, {"knn_smote": estimator}, None)


# --- telling a sampler that cannot work on a training fold from a bug ----------------------------------


def few_defaults(article_train_xy, defaults):
    """The article's training rows with only the first ``defaults`` defaults."""
    X, y = article_train_xy
    keep = (y == 0) | (np.cumsum(y == 1) <= defaults)
    return X[keep].reset_index(drop=True), y[keep]


def cv_splits(X, y, folds=5):
    from imbalance_lab.evaluation.metrics import cv_splitter

    return cv_splitter(folds, 1, 0).split(X, y)


def cross_validate_strategy(estimator, X, y, n_jobs=1):
    from imbalance_lab.evaluation.metrics import cross_validated_metrics

    return cross_validated_metrics(estimator, X, y, folds=5, repeats=1, seed=0, n_jobs=n_jobs, fixed_threshold=0.5)


def strategy_pipeline(sampler, tune=False, **options):
    from imbalance_lab.models.estimators import build_pipeline

    settings = config.StrategySettings(name="s", sampler=sampler, options=options, tune_threshold=tune)
    return build_pipeline(settings, {}, config.TuningSettings("f1", 5, 42), None)


def test_smote_failing_only_on_cv_folds_is_a_sampler_error(article_train_xy):
    """6 defaults: SMOTEENN's SMOTE (5 neighbours) fits the whole split but not a training fold (4-5
    defaults); the fold's ValueError from the neighbour search becomes a SamplerError naming SMOTEENN."""
    from imbalance_lab.models.estimators import fit_model

    X, y = few_defaults(article_train_xy, 6)
    estimator = strategy_pipeline("SMOTEENN", random_state=0)
    fit_model(estimator, X, y)
    with pytest.raises(ValueError, match="n_neighbors"):
        cross_validate_strategy(estimator, X, y)
    with (pytest.raises(SamplerError, match=r"SMOTEENN cannot resample \d+ rows \(class counts .*n_neighbors"),
          sampler_errors(estimator, X, y, cv_splits(X, y))):
        cross_validate_strategy(estimator, X, y)


def test_a_sampler_that_empties_a_class_is_a_sampler_error():
    """ENN removing every minority row leaves the model one class; that ValueError is the sampler's doing."""
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression

    X = np.arange(40, dtype=float).reshape(-1, 1)
    y = np.isin(np.arange(40), [5, 15, 25, 35]).astype(int)  # each default among payers
    estimator = Pipeline([("sampler", EditedNearestNeighbours(sampling_strategy="all")),
                          ("model", LogisticRegression())])
    with pytest.raises(SamplerError, match="leave only rows of class 0"), sampler_errors(estimator, X, y):
        estimator.fit(X, y)


def test_a_threshold_tuning_inner_fold_the_sampler_cannot_work_on_is_found(article_train_xy):
    """8 defaults: an outer training fold holds 6 or 7 (enough for SMOTE), the tuning's inner ones fewer."""
    X, y = few_defaults(article_train_xy, 8)
    estimator = strategy_pipeline("SMOTE", tune=True, random_state=0)
    plain = strategy_pipeline("SMOTE", random_state=0)
    assert sampler_failure(plain, X, y, cv_splits(X, y)) is None
    assert "SMOTE cannot resample" in sampler_failure(estimator, X, y, cv_splits(X, y))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_knn_filter_error_in_a_fold_stays_a_sampler_error(article_params, article_train_xy, n_jobs):
    """if_too_few='raise', k_neighbors=7: the filter keeps 10 defaults of the split but 7 of one training
    fold; its SamplerError comes back as one, from worker processes too."""
    from imbalance_lab.models.estimators import fit_model

    X, y = article_train_xy
    estimator = strategy_pipeline("KNNFilterSMOTE", k_neighbors=7, random_state=42)
    fit_model(estimator, X, y)
    with pytest.raises(SamplerError, match="the KNN filter kept"), sampler_errors(estimator, X, y, cv_splits(X, y)):
        cross_validate_strategy(estimator, X, y, n_jobs=n_jobs)


def test_other_value_errors_pass_through_unchanged(article_train_xy):
    """A ValueError the samplers do not reproduce (a bug, or a model setting) keeps its type and traceback."""
    X, y = article_train_xy
    estimator = strategy_pipeline("SMOTE", random_state=0)
    with pytest.raises(ValueError, match="a bug") as caught, sampler_errors(estimator, X, y, cv_splits(X, y)):
        raise ValueError("a bug")
    assert not isinstance(caught.value, SamplerError)
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression

    bad_model = Pipeline([("sampler", SMOTE(random_state=0)), ("model", LogisticRegression(C=-1.0))])
    with pytest.raises(ValueError, match="'C' parameter") as caught, sampler_errors(bad_model, X, y):
        bad_model.fit(X, y)
    assert not isinstance(caught.value, SamplerError)


# --- build_sampler: settings validation ---------------------------------------------------


def test_none_with_settings_is_a_config_error():
    """'sampler: none' takes no settings; giving one names it."""
    with pytest.raises(config.ConfigError, match=r"strategies\.plain.*k_neighbors"):
        build_sampler(strategy("plain", "none", k_neighbors=5))


def test_unknown_sampler_name_lists_the_valid_ones():
    """A misspelt sampler names strategies.<name>.sampler and lists the real samplers."""
    with pytest.raises(config.ConfigError, match=r"strategies\.typo\.sampler") as caught:
        build_sampler(strategy("typo", "SMOOTE"))
    message = str(caught.value)
    for valid in ("none", "SMOTE", "EditedNearestNeighbours", "SMOTEENN", "KNNFilterSMOTE"):
        assert valid in message


def test_unknown_setting_is_named():
    """A keyword the sampler does not have is named as strategies.<name>.<key>."""
    with pytest.raises(config.ConfigError, match=r"strategies\.smote\.bogus"):
        build_sampler(strategy("smote", "SMOTE", bogus=1))


@pytest.mark.parametrize(
    "sampler, key, value",
    [
        ("SMOTE", "k_neighbors", -1),
        ("EditedNearestNeighbours", "kind_sel", "bogus"),
        ("KNNFilterSMOTE", "threshold", 1.5),
        ("KNNFilterSMOTE", "if_too_few", "sometimes"),
        ("KNNFilterSMOTE", "filter_neighbors", 0),
        ("KNNFilterSMOTE", "filter_neighbors", NearestNeighbors()),  # not a classifier
        ("KNNFilterSMOTE", "k_neighbors", "five"),
    ],
)
def test_rejected_value_names_the_setting(sampler, key, value):
    """A value the sampler's own constraints reject names strategies.<name>.<key>."""
    with pytest.raises(config.ConfigError, match=rf"strategies\.mine\.{key}"):
        build_sampler(strategy("mine", sampler, **{key: value}))


def test_valid_settings_reach_the_sampler():
    """Settings from params are passed to the sampler as keyword arguments."""
    sampler = build_sampler(strategy("enn", "EditedNearestNeighbours", n_neighbors=4, kind_sel="mode"))
    assert isinstance(sampler, EditedNearestNeighbours)
    assert (sampler.n_neighbors, sampler.kind_sel) == (4, "mode")


def test_k_neighbors_too_large_for_the_training_defaults(article_train_xy):
    """SMOTE k_neighbors=30 on 24 training defaults: ConfigError naming the key, 'at most 23'."""
    X, y = article_train_xy
    sampler = build_sampler(strategy("smote", "SMOTE", k_neighbors=30, random_state=0))
    with pytest.raises(config.ConfigError, match=r"strategies\.smote\.k_neighbors") as caught:
        resample(X, y, sampler, "strategies.smote")
    assert "at most 23" in str(caught.value)


def test_n_neighbors_larger_than_the_data_is_a_config_error():
    """An under-sampler asking for more neighbours than there are rows names n_neighbors."""
    X = np.arange(10, dtype=float).reshape(5, 2)
    y = np.array([0, 0, 0, 1, 1])
    sampler = build_sampler(strategy("enn", "EditedNearestNeighbours", n_neighbors=5))
    with pytest.raises(config.ConfigError, match=r"strategies\.enn\.n_neighbors"):
        resample(X, y, sampler, "strategies.enn")


# --- scikit-learn / imbalanced-learn API conformance ---------------------------------------

# KNNFilterSMOTE() is the instance the project asks to check. A seeded, adapting
# twin is checked too, so checks that compare two fits (list, pandas, one-vs-all)
# test the input handling rather than random_state=None.
UNSEEDED_EXPECTED_FAILURES = {
    "check_samplers_fit": (
        "on 30 uniform-random rows the KNN filter keeps 5 of 10 minority rows, fewer "
        "than k_neighbors + 1 = 6; the default if_too_few='raise' refuses by design "
        "(the adapting instance passes this check)"
    ),
    "check_samplers_pandas": "random_state=None: the two fits compared draw different synthetic rows",
    "check_samplers_list": "random_state=None: the two fits compared draw different synthetic rows",
    "check_samplers_multiclass_ova": "random_state=None: the two fits compared draw different synthetic rows",
    "check_samplers_sparse": "random_state=None: the two fits compared draw different synthetic rows",
    "check_samplers_pandas_sparse": "random_state=None: the two fits compared draw different synthetic rows",
}


def expected_failed_checks(estimator):
    if estimator.get_params()["random_state"] is None:
        return UNSEEDED_EXPECTED_FAILURES
    return {}


def as_list(marker):
    """The same parametrize mark with its cases in a list (pytest deprecates generators there)."""
    names, cases = marker.args
    return pytest.mark.parametrize(names, list(cases), **marker.kwargs)


@as_list(
    parametrize_with_checks(
        [KNNFilterSMOTE(), KNNFilterSMOTE(if_too_few="adapt", random_state=0),
         KNNFilterSMOTE(filter_neighbors=KNeighborsClassifier(n_neighbors=3),
                        k_neighbors=NearestNeighbors(n_neighbors=6), if_too_few="adapt", random_state=0)],
        expected_failed_checks=expected_failed_checks,
    )
)
def test_imblearn_estimator_checks(estimator, check):
    """KNNFilterSMOTE passes imbalanced-learn's sampler checks."""
    check(estimator)


def test_knn_smote_works_inside_an_imblearn_pipeline(article_split):
    """Inside a Pipeline the sampler resamples only the training folds; scoring sees raw rows."""
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_validate

    train, _ = article_split
    X, y = features_and_target(train)
    pipeline = Pipeline([("sampler", KNNFilterSMOTE(random_state=42)), ("model", LogisticRegression())])
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_validate(pipeline, X, y, cv=folds, scoring="f1", return_estimator=True, error_score="raise")
    assert len(scores["test_score"]) == 3
    for fitted, (fit_rows, _) in zip(scores["estimator"], folds.split(X, y), strict=True):
        sampler = fitted.named_steps["sampler"]
        assert sampler.sampling_strategy_ == {1: int((y[fit_rows] == 0).sum() - (y[fit_rows] == 1).sum())}
    # predict on the pipeline does not resample: one prediction per input row.
    assert len(pipeline.fit(X, y).predict(X)) == len(X)
