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
    assert table.splitlines()[0].startswith("| rank | strategy |")
    assert table in summary
