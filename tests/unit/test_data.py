"""The article's data generator and the stratified train/test split (imbalance_lab.data.dataset)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from imbalance_lab.data.dataset import class_counts, features_and_target
from imbalance_lab.data.sources import generate_article_data
from imbalance_lab.data.split import split
from imbalance_lab.settings.params import (
    ArticleSettings,
    ConfigError,
    Group,
    SourceSettings,
    SplitSettings,
    article_settings,
)


def article_recipe(seed=42, pocket=25, scattered=10, payers=500):
    """The article's recipe, written out independently of imbalance_lab.data.dataset."""
    rng = np.random.RandomState(seed)
    pocket_age = rng.randint(12, 18, pocket) * np.maximum(rng.randn(pocket), 1)
    pocket_balance = rng.randint(50000, 100000, pocket)
    scattered_age = rng.randint(12, 100, scattered)
    scattered_balance = rng.randint(0, 90000, scattered)
    payer_age = rng.randint(12, 100, payers)
    payer_balance = rng.randint(0, 90000, payers)
    return pd.DataFrame(
        {
            "age": np.concatenate([pocket_age, scattered_age, payer_age]).astype(float),
            "balance": np.concatenate([pocket_balance, scattered_balance, payer_balance]).astype(float),
            "defaulted": np.array([1] * (pocket + scattered) + [0] * payers, dtype=np.int64),
        }
    )


def rows_of(frame: pd.DataFrame) -> list[tuple]:
    return sorted(map(tuple, frame[["age", "balance", "defaulted"]].to_numpy().tolist()))


# --- generate_article_data ------------------------------------------------------


def test_article_data_has_535_rows_and_35_defaults(article_frame):
    """The article's data set: 535 customers, 35 of whom defaulted."""
    assert len(article_frame) == 535
    assert int(article_frame["defaulted"].sum()) == 35


def test_article_data_columns(article_frame):
    """Columns are age, balance and the label defaulted, in that order."""
    assert list(article_frame.columns) == ["age", "balance", "defaulted"]


def test_article_data_groups_are_stacked_pocket_scattered_payers(article_frame):
    """Rows 0-24 and 25-34 are defaulters (label 1), the last 500 are payers (label 0)."""
    labels = article_frame["defaulted"].to_numpy()
    assert (labels[:25] == 1).all()
    assert (labels[25:35] == 1).all()
    assert (labels[35:] == 0).all()
    assert len(labels[35:]) == 500


def test_pocket_balances_lie_in_their_range(article_frame):
    """The pocket defaulters' balances are in [50000, 100000)."""
    balance = article_frame["balance"].to_numpy()[:25]
    assert (balance >= 50000).all() and (balance < 100000).all()


def test_pocket_ages_are_never_below_the_lowest_integer_age(article_frame):
    """Pocket ages are an integer in [12, 18) stretched by max(z, 1) >= 1, so at least 12."""
    age = article_frame["age"].to_numpy()[:25]
    assert (age >= 12).all()


def test_pocket_ages_are_stretched_for_some_rows(article_frame):
    """With 25 normal draws, some z exceed 1: some pocket ages leave the integer range [12, 18)."""
    age = article_frame["age"].to_numpy()[:25]
    assert (age >= 18).any() or (age != np.round(age)).any()


def test_article_data_equals_independent_recipe(article_frame):
    """The generator reproduces the article's RandomState(42) recipe draw for draw."""
    pd.testing.assert_frame_equal(article_frame, article_recipe(), check_dtype=False)


def test_group_sizes_come_from_settings():
    """Other group sizes give other counts, in the article's order and draws."""
    settings = ArticleSettings(
        seed=7,
        pocket_defaulters=Group(rows=3, age=(12, 18), balance=(50000, 100000)),
        scattered_defaulters=Group(rows=4, age=(12, 100), balance=(0, 90000)),
        payers=Group(rows=20, age=(12, 100), balance=(0, 90000)),
    )
    frame = generate_article_data(settings)
    assert len(frame) == 27
    assert int(frame["defaulted"].sum()) == 7
    pd.testing.assert_frame_equal(
        frame, article_recipe(seed=7, pocket=3, scattered=4, payers=20), check_dtype=False
    )


def test_ranges_come_from_settings():
    """Each group's draws stay inside the [low, high) ranges the settings give."""
    settings = ArticleSettings(
        seed=1,
        pocket_defaulters=Group(rows=30, age=(20, 21), balance=(5, 6)),
        scattered_defaulters=Group(rows=30, age=(30, 32), balance=(100, 103)),
        payers=Group(rows=30, age=(40, 41), balance=(7, 8)),
    )
    frame = generate_article_data(settings)
    assert (frame["age"][:30] >= 20).all()
    assert set(frame["balance"][:30]) == {5.0}
    assert set(frame["age"][30:60]) <= {30.0, 31.0}
    assert set(frame["balance"][30:60]) <= {100.0, 101.0, 102.0}
    assert set(frame["age"][60:]) == {40.0}
    assert set(frame["balance"][60:]) == {7.0}


def test_same_seed_same_data_other_seed_other_data(article_params):
    """The seed alone decides the data: equal seeds repeat it, another seed changes it."""
    settings = article_settings(article_params)
    again = generate_article_data(settings)
    article_params["data"]["article"]["seed"] = 43
    other = generate_article_data(article_settings(article_params))
    pd.testing.assert_frame_equal(generate_article_data(settings), again)
    assert not np.array_equal(other[["age", "balance"]].to_numpy(), again[["age", "balance"]].to_numpy())


# --- split ----------------------------------------------------------------------


def test_split_sizes_match_the_article(article_split):
    """test_size 0.3, seed 42: 374 training rows with 24 defaults, 161 test rows with 11."""
    train, test = article_split
    assert (len(train), int(train["defaulted"].sum())) == (374, 24)
    assert (len(test), int(test["defaulted"].sum())) == (161, 11)


def test_split_parts_are_disjoint(article_frame, article_split):
    """No row is in both the training and the test split."""
    train, test = article_split
    assert len(set(rows_of(article_frame))) == len(article_frame)  # rows are unique to begin with
    assert not set(rows_of(train)) & set(rows_of(test))


def test_split_parts_together_are_the_whole_frame(article_frame, article_split):
    """Training plus test rows are exactly the generated rows."""
    train, test = article_split
    assert rows_of(pd.concat([train, test])) == rows_of(article_frame)


def test_split_equals_sklearn_stratified_split(article_frame, article_split):
    """The split is sklearn's stratified train_test_split with the same settings, index reset."""
    expected_train, expected_test = train_test_split(
        article_frame, test_size=0.3, random_state=42, stratify=article_frame.defaulted
    )
    train, test = article_split
    pd.testing.assert_frame_equal(train, expected_train.reset_index(drop=True))
    pd.testing.assert_frame_equal(test, expected_test.reset_index(drop=True))


def test_split_index_is_reset(article_split):
    """Both parts come back with a fresh 0..n-1 index."""
    for part in article_split:
        assert list(part.index) == list(range(len(part)))


@pytest.mark.parametrize("test_size", [0.001, 0.01, 0.99])
def test_split_that_leaves_a_class_empty_is_a_config_error(article_frame, test_size):
    """A test_size leaving a class out of one part (35 defaults in 535 rows) names split.test_size.

    0.001 makes a 1-row test split; 0.01 a 6-row one that stratification fills
    with payers only (6 * 35/535 < 0.5); 0.99 a 5-row training split likewise.
    """
    with pytest.raises(ConfigError, match=r"split\.test_size"):
        split(article_frame, SplitSettings(test_size=test_size, seed=42))


# --- helpers ----------------------------------------------------------------------


def test_class_counts_keys_labels_as_strings():
    """class_counts counts rows per label, keyed by the label as a string."""
    assert class_counts([0, 1, 1, 0, 1]) == {"0": 2, "1": 3}


def test_features_and_target(article_frame):
    """features_and_target returns the age/balance columns and the label array."""
    X, y = features_and_target(article_frame)
    assert list(X.columns) == ["age", "balance"]
    assert isinstance(y, np.ndarray)
    np.testing.assert_array_equal(y, article_frame["defaulted"].to_numpy())


# --- names that reach the reports (issue 21) -------------------------------------------------------------


@pytest.mark.parametrize("name", ["self", "[x]", "(y)", "x](y", "[a] (b)", "a|b", "a`b", "*a*", "<b>&c", "#h",
                                  "région", "名前", "a b", "region=north"])
def test_a_name_that_is_text_anywhere_is_legal(name):
    from imbalance_lab.data.tidy import name_problem

    assert name_problem(name) is None


@pytest.mark.parametrize(("name", "problem"), [
    ("[x](http://evil)", "Markdown link"), ("![x](http://e/p.png)", "Markdown link"), ("[x][ref]", "Markdown link"),
    ("a\nb", r"'\n'"), ("a\x00", r"'\x00'"), ("\x1b[2J", r"'\x1b'"), ("a\rb", r"'\r'"), ("a\x07", r"'\x07'"),
    ("a\tb", r"'\t'"), ("a\x7f", r"'\x7f'"), ("a\x9b", r"'\x9b'"), ("a\u2028b", r"'\u2028'"), ("a\u202eb", r"'\u202e'"),
])
def test_a_name_that_would_break_a_report_or_a_terminal_is_named(name, problem):
    from imbalance_lab.data.tidy import name_problem

    assert problem in name_problem(name)


def file_settings(**values):
    return SourceSettings(**{"source": "file", "path": "data/input/x.csv", "target": "y", **values})


def test_one_hot_names_are_the_encoders_own():
    """The check asks the encoder for its names: a numeric column named as the encoder names a category is refused,
    whatever separator the encoder uses."""
    from imbalance_lab.data.dataset import DataError
    from imbalance_lab.data.tidy import tidy_frame

    frame = pd.DataFrame({"region": ["n", "s"] * 10, "region_n": np.arange(20.0), "y": [0, 1] * 10})
    with pytest.raises(DataError, match="'region_n', as is the column 'region_n'"):
        tidy_frame(frame, file_settings(categorical=("region",)), "x.csv", target="y")
    frame = frame.rename(columns={"region_n": "region_x"})  # no collision: accepted
    tidy, _ = tidy_frame(frame, file_settings(categorical=("region",)), "x.csv", target="y")
    assert list(tidy.columns) == ["region", "region_x", "y"]


def test_a_categorical_column_without_any_category_is_no_collision():
    from imbalance_lab.data.tidy import tidy_frame

    frame = pd.DataFrame({"c": [None] * 20, "a": np.arange(20.0), "y": [0, 1] * 10})
    tidy, _ = tidy_frame(frame, file_settings(categorical=("c",), missing="impute"), "x.csv", target="y")
    assert tidy["c"].isna().all()


def test_the_characters_refused_in_names_are_those_the_reports_escape():
    """data.py refuses (by Unicode category) exactly the characters report.py writes as escapes (by range): a name
    the data stage lets through never needs an escape, and an escape never hides a name that passed."""
    from imbalance_lab.data.tidy import unsafe_character
    from imbalance_lab.settings.text import UNPRINTABLE

    for code in range(0x10000):
        ch = chr(code)
        assert (unsafe_character(ch) is not None) == bool(UNPRINTABLE.match(ch)), hex(code)
