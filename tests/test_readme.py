"""The README stays true: its test command is what CI runs, its results table is current."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    ci_command = (ROOT / ".ci/run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci_command.endswith("pytest")
    assert ci_command in _readme()


def test_readme_results_table_matches_the_committed_summary():
    readme = _readme()
    start = readme.index("<!-- results-table")
    table = readme[readme.index("\n", start) + 1 : readme.index("<!-- end results-table -->")].strip()
    summary = (ROOT / "reports/summary.md").read_text(encoding="utf-8")
    assert table.splitlines()[0].startswith("| rank | cell (strategy-classifier) |")
    assert table in summary


def test_the_readme_branch_change_keeps_the_unit_tests_green(tmp_path):
    """The README's team workflow changes params.yaml (`-S strategies.smote.k_neighbors=3`, a new
    strategy): the unit tests read their own frozen settings, so they stay green in such a branch."""
    import os
    import subprocess
    import sys

    import yaml

    tracked = subprocess.run(["git", "ls-files", "-z", "src", "tests", "params.yaml", "pyproject.toml", "dvc.yaml"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, tracked.split("\0")):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["strategies"]["smote"]["k_neighbors"] = 3
    params["strategies"]["adasyn"] = {"sampler": "ADASYN"}
    del params["strategies"]["baseline"]
    params["grid"]["strategies"] = [name for name in params["grid"]["strategies"] if name != "baseline"] + ["adasyn"]
    params["grid"]["classifiers"] = ["hgb"]
    params["leaderboard"]["baseline"] = None
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # The unit tests that build settings, samplers, models and stages from the shared fixtures.
    files = ["tests/test_params.py", "tests/test_samplers.py", "tests/test_cli.py"]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *files],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "src")},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout.splitlines()[-1]


def test_readme_own_data_recipe_is_the_one_the_integration_test_runs():
    """The own-data recipe in the README is word for word the one test_real_data runs through DVC
    (but for the file's name)."""
    import shlex

    from test_real_data import OWN_DATA_RECIPE

    readme = _readme()
    start = readme.index("dvc exp run -S data.source=file")
    recipe = shlex.split(readme[start:readme.index("\n```", start)].replace("\\\n", " "))
    assert recipe[:3] == ["dvc", "exp", "run"]
    assert recipe[3:] == [arg.replace("customers.csv", "credit.csv") for arg in OWN_DATA_RECIPE]
    assert "dvc add data/input/credit.csv" in readme


def test_readme_leaderboard_is_what_the_command_prints_for_the_committed_results():
    import json

    from imbalance_lab.report import terminal_leaderboard

    printed = terminal_leaderboard(json.loads((ROOT / "reports/summary.json").read_text(encoding="utf-8")))
    assert f"```\n{printed}```" in _readme()
    assert max(map(len, printed.splitlines())) <= 100


def test_readme_verdicts_are_the_committed_summarys():
    """The one-line answer per classifier (does resampling beat threshold tuning?) is the summary's."""
    readme, summary = _readme(), (ROOT / "reports/summary.md").read_text(encoding="utf-8")
    start = readme.index("<!-- verdicts")
    block = readme[readme.index("\n", start) + 1 : readme.index("<!-- end verdicts -->")].strip().splitlines()
    section = summary[summary.index("## Does resampling beat threshold tuning?"):]
    assert len(block) == 2 and all(line.startswith("- `") for line in block)
    for line in block:
        assert line in section.splitlines()
