"""Hostile inputs that reach reports, pictures and the terminal (issue 21): names in data files, colliding one-hot
names, numeric data with scaling, concurrent writers, a malformed summary.json, a corrupt DVC remote object.

Each table row is one case; the committed copy, its restoring and the checks each case makes are in hostile.py
and conftest.py beside this file.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hostile import EDITED_PARAMS, Project, customers, env, git, leftovers, refused, status, untouched
from imbalance_lab.pipeline import cli

pytestmark = pytest.mark.integration

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def configure_file(project: Project, name: str, extra: dict | None = None) -> None:
    project.edit({"data.source": "file", "data.path": f"data/input/{name}", "data.target": "defaulted",
                  **(extra or {})})


def write_frame(project: Project, name: str, frame: pd.DataFrame) -> None:
    path = project.root / "data/input" / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def renamed(column: str, name: str):
    return lambda: customers(60, 12).rename(columns={column: name})


def labelled(positive: str):
    frame = customers(60, 12)
    return frame.assign(defaulted=np.where(frame["defaulted"] == 1, positive, "paid"))


def with_columns(**columns):
    return lambda: customers(60, 12).assign(**{name: make(60) for name, make in columns.items()})


def regions(rows: int, names=("north", "south")) -> list[str]:
    return [names[i % len(names)] for i in range(rows)]


# --- A. names where data enter: refused by generate, in one line naming the column and the fix ---------------------

RENAME = "rename the column in the file"
NAME_CASES = [
    ("link", "c.csv", renamed("age", "[x](http://evil)"), {},
     ["the column name '[x](http://evil)'", "Markdown link or image syntax", RENAME]),
    ("image", "c.csv", renamed("age", "![x](http://evil/p.png)"), {},
     ["the column name '![x](http://evil/p.png)'", "Markdown link or image syntax", RENAME]),
    ("reference-link", "c.csv", renamed("balance", "[x][evil]"), {}, ["'[x][evil]'", "Markdown link", RENAME]),
    ("newline-heading", "c.csv", renamed("age", "age\n# Injected"), {},
     [r"'age\n# Injected'", r"control character '\n'", RENAME]),
    ("nul-csv", "c.csv", renamed("age", "a\x00b"), {}, [r"'a\x00b'", r"control character '\x00'", RENAME]),
    ("nul-parquet", "c.parquet", renamed("balance", "a\x00b"), {}, [r"'a\x00b'", r"'\x00'", RENAME]),
    ("esc-title", "c.csv", renamed("age", "\x1b]0;pwned\x07"), {}, [r"'\x1b]0;pwned\x07'", r"'\x1b'", RENAME]),
    ("carriage-return", "c.parquet", renamed("age", "a\rb"), {}, [r"'a\rb'", r"'\r'", RENAME]),
    ("bell", "c.parquet", renamed("age", "a\x07b"), {}, [r"'a\x07b'", r"'\x07'", RENAME]),
    ("bidi-override", "c.csv", renamed("age", "a\u202egpj.exe"), {}, [r"'\u202e'", RENAME]),
    ("target-name", "c.parquet", renamed("defaulted", "y\x1b[2J"), {"data.target": "y\x1b[2J"},
     [r"'y\x1b[2J'", r"'\x1b'", RENAME]),
    ("label-newline", "c.csv", lambda: labelled("bad\n## Injected"), {"data.positive": "bad\n## Injected"},
     ["column 'defaulted' holds the label", r"'bad\n## Injected'", "rename that value in the file"]),
    ("label-link", "c.csv", lambda: labelled("[bad](http://evil)"), {"data.positive": "[bad](http://evil)"},
     ["column 'defaulted' holds the label '[bad](http://evil)'", "Markdown link", "rename that value"]),
    ("category-esc", "c.csv", with_columns(region=lambda n: regions(n, ("north\x1b[2J", "south"))),
     {"data.categorical": ["region"]}, ["column 'region' holds the category", r"'\x1b'", "rename that value"]),
    ("category-image", "c.csv", with_columns(region=lambda n: regions(n, ("![n](http://evil/p.png)", "south"))),
     {"data.categorical": ["region"]}, ["column 'region' holds the category", "Markdown link or image syntax"]),
]


@pytest.mark.parametrize(("name", "make", "extra", "fragments"),
                         [pytest.param(*case[1:], id=case[0]) for case in NAME_CASES])
def test_a_a_name_that_would_break_a_report_is_refused_where_it_enters(committed, capsys, name, make, extra,
                                                                       fragments):
    write_frame(committed, name, make())
    configure_file(committed, name, extra)
    error = refused(capsys, ["generate"], f"data/input/{name}", *fragments)
    assert not CONTROL.search(error), error  # the message itself holds no raw control character
    assert not (committed.root / "data/raw.parquet").exists()
    untouched(committed, EDITED_PARAMS | {f"?? data/input/{name}"})


def test_a_a_data_path_with_a_control_character_is_refused(committed, capsys):
    name = "a\x1b[2Jb.csv"
    write_frame(committed, name, customers(60, 12))
    configure_file(committed, name)
    error = refused(capsys, ["generate"], "'data.path'", r"'\x1b'", "rename the file")
    assert not CONTROL.search(error)
    assert not (committed.root / "data/raw.parquet").exists()
    assert {line for line in status(committed.root) if not line.startswith("?? ")} == EDITED_PARAMS


# --- B. one-hot names that would collide: refused, naming both columns -------------------------------------------

COLLISION_CASES = [
    ("report-label", with_columns(region=regions, **{"region=north": lambda n: np.linspace(0, 1, n)}),
     ["region"], ["category 'north' of the categorical column 'region'", "'region=north'",
                  "the column 'region=north'", "rename one of the two columns"]),
    ("encoder-name", with_columns(region=regions, region_north=lambda n: np.linspace(0, 1, n)),
     ["region"], ["category 'north' of the categorical column 'region'", "'region_north'",
                  "the column 'region_north'", "rename one of the two columns"]),
    ("two-categoricals", with_columns(a=lambda n: regions(n, ("b_c", "d")), a_b=lambda n: regions(n, ("c", "e"))),
     ["a", "a_b"], ["categorical column 'a_b'", "categorical column 'a'", "'a_b_c'", "rename one of the two"]),
]


@pytest.mark.parametrize(("make", "categorical", "fragments"),
                         [pytest.param(*case[1:], id=case[0]) for case in COLLISION_CASES])
def test_b_colliding_one_hot_names_are_refused(committed, capsys, make, categorical, fragments):
    write_frame(committed, "c.csv", make())
    configure_file(committed, "c.csv", {"data.categorical": categorical})
    refused(capsys, ["generate"], "data/input/c.csv", "once one-hot encoded", *fragments)
    assert not (committed.root / "data/raw.parquet").exists()
    untouched(committed, EDITED_PARAMS | {"?? data/input/c.csv"})


# --- C. legal names that mean something elsewhere: the pipeline works, reports show them as text ----------------

# `self` is DataFrame.assign's own argument; the others are Markdown or HTML syntax, alone or half.
LEGAL_NAMES = ["self", "[x]", "(y)", "x](y", "a|b", "a`b", "*a*", "_u_", "<b>&c", "#h", "[a&b] (c)"]
SMALL_RUN = {"grid.strategies": ["baseline"], "grid.classifiers": ["logreg"], "cv.folds": 3, "cv.repeats": 1,
             "evaluate.grid_resolution": 20, "data.categorical": ["kind*"], "data.plot_features": ["[x]", "self"]}
STAGES = [["check"], ["generate"], ["split"], ["resample", "baseline"], ["train", "baseline", "logreg"],
          ["evaluate", "baseline", "logreg"], ["ceiling"], ["compare"]]


def markdown_html(text: str) -> str:
    """summary.md as a CommonMark renderer (with GitHub's tables) shows it."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(text)


@pytest.fixture(scope="module")
def legal_names_report(committed):
    """One small pipeline run (in-process) on a file whose columns carry every legal name; its reports, read
    before the committed copy is restored."""
    rng = np.random.default_rng(3)
    frame = customers(80, 16)
    columns = {"balance": frame["balance"], **{name: rng.normal(size=80) for name in LEGAL_NAMES},
               "kind*": regions(80, ("[n]", "(s)")), "defaulted": frame["defaulted"]}  # 12 numbers: all listed
    frame = pd.DataFrame(columns)
    cwd = os.getcwd()
    os.chdir(committed.root)
    try:
        write_frame(committed, "legal.csv", frame)
        configure_file(committed, "legal.csv", SMALL_RUN)
        codes = {" ".join(argv): cli.main(["-q", *argv]) for argv in STAGES}
        outputs = {name: (committed.root / "reports" / name).read_text(encoding="utf-8")
                   for name in ("summary.md", "index.html")} if set(codes.values()) == {0} else {}
    finally:
        git(committed.root, "checkout", "-q", "--", ".")
        git(committed.root, "clean", "-fdqx", "-e", "/.dvc/")
        os.chdir(cwd)
    return codes, outputs


@pytest.mark.parametrize("name", LEGAL_NAMES)
def test_c_a_legal_name_runs_through_every_stage_and_shows_as_text(legal_names_report, name):
    codes, outputs = legal_names_report
    assert set(codes.values()) == {0}, codes  # `self` crashed evaluate
    rendered = markdown_html(outputs["summary.md"])
    shown = {html.unescape(code) for code in re.findall(r"<code>(.*?)</code>", rendered)}
    assert name in shown  # text in code, whatever its syntax (as entities inside <code> when it holds & or <)
    assert "<a " not in rendered and not re.search(r'<img src="(?!(?:benchmark/)?plots/)', rendered)
    assert "<em>a</em>" not in rendered and "<em>u</em>" not in rendered and rendered.count("<h1>") == 1
    tables = re.findall(r"(?m)(?:^\|.*\n)+", outputs["summary.md"])
    for table in tables:  # every row as many cells as its header: no name breaks a table
        assert len({len(re.findall(r"(?<!\\)\|", line)) for line in table.splitlines()}) == 1, table
    page = outputs["index.html"]
    assert f"<code>{html.escape(name)}</code>" in page and "<a " not in page and "<em>a</em>" not in page


# --- D. numeric data with scaling: resample draws the resampled rows in their own units ---------------------------

SCALE_CASES = [("model-scale", {"model.scale": True}), ("strategy-scale", {"strategies.smote.scale": True})]


@pytest.mark.parametrize("extra", [pytest.param(extra, id=name) for name, extra in SCALE_CASES])
def test_d_scaled_numeric_data_resample_and_its_picture(committed, capsys, extra):
    from imbalance_lab.pipeline.resample import resample_strategy
    from imbalance_lab.settings.params import load

    write_frame(committed, "numbers.csv", customers(120, 20).assign(noise=np.linspace(-1, 1, 120)))
    configure_file(committed, "numbers.csv", extra)
    for argv in (["generate"], ["split"], ["resample", "smote"]):
        assert cli.main(argv) == 0, capsys.readouterr().err
    resampled = pd.read_parquet(committed.root / "data/resampled/smote.parquet")
    train = pd.read_parquet(committed.root / "data/split/train.parquet")
    info = json.loads((committed.root / "reports/data.json").read_text())
    features = info["plot_features"]
    assert (committed.root / "reports/plots/resampled/smote.png").stat().st_size > 10_000
    # The picture's points are the resampled rows in the data's own units (not standardised), class by class.
    frame, _, figure = resample_strategy(load(committed.root / "params.yaml"), "smote", train, info)
    pd.testing.assert_frame_equal(frame, resampled)
    drawn = np.concatenate([collection.get_offsets() for collection in figure.axes[0].collections])
    expected = np.concatenate([resampled.loc[resampled["defaulted"] == label, features].to_numpy() for label in (0, 1)])
    np.testing.assert_allclose(drawn, expected)
    assert drawn[:, features.index("balance")].max() > 1000 if "balance" in features else True


# --- E. concurrent writers: two processes write the same outputs at once ---------------------------------------

WRITER = """
import sys
from pathlib import Path
from imbalance_lab.pipeline.outputs import stage_outputs

root, mark, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
page, picture = (mark * 2_000_000).encode(), (mark.upper() * 1_000_000).encode()
for _ in range(rounds):
    with stage_outputs() as outputs:
        outputs.path(root / "reports/index.html").write_bytes(page)
        tmp = outputs.path(root / "reports/plots/cv_scores.png")
        tmp.write_bytes(picture)
        assert tmp.read_bytes() == picture, "read back another writer's picture"  # compare embeds it so
"""


def test_e_two_processes_writing_the_same_outputs_both_succeed_with_complete_files(committed):
    root = committed.root
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), mark, "40"], cwd=root, env=env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for mark in "ab"]
    results = [writer.communicate(timeout=120) for writer in writers]
    for writer, (_, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0, err
    page = (root / "reports/index.html").read_bytes()
    picture = (root / "reports/plots/cv_scores.png").read_bytes()
    assert page in (b"a" * 2_000_000, b"b" * 2_000_000)  # whole, one writer's
    assert picture in (b"A" * 1_000_000, b"B" * 1_000_000)
    assert leftovers(root) == []


def test_e_temporary_names_are_per_process_beside_their_output_and_git_ignored(committed):
    from imbalance_lab.pipeline.outputs import StageOutputs

    outputs = StageOutputs()
    first, second = (outputs.path(committed.root / "reports/summary.json") for _ in range(2))
    outputs.discard()
    assert first != second and first.parent == second.parent == committed.root / "reports"
    assert first.name.startswith(f".summary.json.{os.getpid()}-") and first.name.endswith(".tmp")
    first.write_text("x")
    assert status(committed.root) == set()  # `.*.tmp` in .gitignore
    assert leftovers(committed.root) == [f"reports/{first.name}"]  # the suite's own check sees it
    first.unlink()


# --- F. the terminal: `imbalance-lab leaderboard` on a malformed summary.json -----------------------------------


def summary_edit(change):
    def edit(summary: dict) -> object:
        first = next(iter(summary["cells"]))
        return change(summary, first)
    return edit


def set_path(summary: dict, path: list, value) -> dict:
    node = summary
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return summary


def drop(summary: dict, path: list) -> dict:
    node = summary
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return summary


SUMMARY_FIX = ["reports/summary.json", "`dvc repro`", "`git checkout reports/summary.json`"]
BAD_SUMMARY_CASES = [
    ("not-json", "{\"cells\": ", ["not valid JSON"]),
    ("a-list", "[1, 2]", ["the file is a list, not an object"]),
    ("empty-object", "{}", ["primary is missing"]),
    ("missing-rank", summary_edit(lambda s, c: drop(s, ["cells", c, "rank"])), ["cells.", ".rank is missing"]),
    ("missing-cells", summary_edit(lambda s, c: drop(s, ["cells"])), ["cells is missing"]),
    ("f1-as-text", summary_edit(lambda s, c: set_path(s, ["cells", c, "test", "f1"], "0.5")),
     [".test.f1 is a string, not a number or null"]),
    ("rank-as-null", summary_edit(lambda s, c: set_path(s, ["cells", c, "rank"], None)), [".rank is null"]),
    ("huge-integer", summary_edit(lambda s, c: set_path(s, ["cells", c, "cv", "f1", "mean"], 10 ** 400)),
     [".cv.f1.mean is a whole number, not a number or null"]),
    ("verdicts-a-list", summary_edit(lambda s, c: set_path(s, ["verdicts"], [])), ["verdicts is a list"]),
    ("goal-as-null", summary_edit(lambda s, c: set_path(s, ["goals", "f1"], None)), ["goals.f1 is null"]),
    ("esc-key-missing-rank", summary_edit(lambda s, c: set_path(s, ["cells", "x\x1b[2J"], {})),
     [r"cells.x\x1b[2J.rank is missing"]),
]


def write_summary(root: Path, edit) -> None:
    path = root / "reports/summary.json"
    text = edit if isinstance(edit, str) else json.dumps(edit(json.loads(path.read_text())))
    path.write_text(text)


@pytest.mark.parametrize(("edit", "fragments"), [pytest.param(*case[1:], id=case[0]) for case in BAD_SUMMARY_CASES])
def test_f_leaderboard_on_a_malformed_summary_is_one_line(committed, capsys, edit, fragments):
    write_summary(committed.root, edit)
    error = refused(capsys, ["leaderboard"], *SUMMARY_FIX, *fragments)
    assert not CONTROL.search(error), error
    assert status(committed.root) == {" M reports/summary.json"}


def rename_cell(summary: dict, old: str, new: str) -> dict:
    summary["cells"] = {new if name == old else name: entry for name, entry in summary["cells"].items()}
    return summary


def verdict(resampling: str, threshold: str) -> dict:
    return {"resampling": resampling, "threshold": threshold, "difference": {"mean": 0.1, "low": -0.1, "high": 0.2}}


HOSTILE_TEXT_CASES = [
    ("cell-title-bell", summary_edit(lambda s, c: rename_cell(s, c, "x\x1b]0;pwned\x07")), r"x\x1b]0;pwned\x07"),
    ("cell-clear-screen", summary_edit(lambda s, c: rename_cell(s, c, "\x1b[2J\x1b[H")), r"\x1b[2J\x1b[H"),
    ("classifier-cr", summary_edit(lambda s, c: set_path(s, ["verdicts"], {"lr\r\x1b[31m": verdict(c, c)})),
     r"lr\r\x1b[31m"),
    ("verdict-cell-nul", summary_edit(lambda s, c: set_path(s, ["verdicts"], {"lr": verdict("a\x00b", c)})),
     r"a\x00b"),
    ("primary-esc", summary_edit(lambda s, c: set_path(s, ["primary"], "f1\x1b[8m")), r"f1\x1b[8m"),
]


@pytest.mark.parametrize(("edit", "shown"), [pytest.param(*case[1:], id=case[0]) for case in HOSTILE_TEXT_CASES])
def test_f_leaderboard_writes_control_characters_as_escapes(committed, capsys, edit, shown):
    write_summary(committed.root, edit)
    assert cli.main(["leaderboard"]) == 0
    out, err = capsys.readouterr()
    assert not CONTROL.search(out.replace("\n", "")), repr(out)
    assert shown in out and err == ""


# --- G. `imbalance-lab pull` after a corrupt object on the DVC remote ---------------------------------------------


def keep_mode(path: Path) -> None:
    """Bit rot: the content changes, the read-only mode DVC gave the object stays (DVC then trusts it)."""
    mode = path.stat().st_mode
    path.chmod(0o644)
    path.write_bytes(b"garbage\n")
    path.chmod(mode)


def made_writable(path: Path) -> None:
    """An edit that leaves the object writable: DVC's own check finds it, deletes it and calls it missing."""
    path.chmod(0o644)
    path.write_bytes(b"a,b\n9,9\n")


def cut_short(path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:3])
    path.chmod(mode)


PULL_CASES = [  # (id, the object's path in the workspace, how it is corrupted)
    ("bit-rot-read-only", "data.csv", keep_mode),
    ("edited-writable", "data.csv", made_writable),
    ("cut-short-in-a-folder", "folder/a", cut_short),
    ("folder-listing", "folder", keep_mode),
]
FILES = {"data.csv": "a,b\n1,2\n3,4\n", "folder/a": "first\n", "folder/b": "second\n"}


@pytest.fixture()
def pushed(tmp_path, monkeypatch):
    """A DVC project with a tracked file and a tracked folder pushed to a local remote (a folder), then its cache
    and the data removed, as a teammate's fresh clone has them. Returns the project and each object's path on the
    remote, by the workspace path it holds (the folder's listing by the folder's)."""
    from dvc.repo import Repo

    root, remote = tmp_path / "project", tmp_path / "remote"
    (root / "folder").mkdir(parents=True)
    monkeypatch.chdir(root)
    git(root, "init", "-q")
    Repo.init(str(root)).close()
    (root / ".dvc/config").write_text(f"[core]\n    remote = shared\n    analytics = false\n"
                                      f"['remote \"shared\"']\n    url = {remote}\n")
    for name, text in FILES.items():
        (root / name).write_text(text)
    with Repo(str(root)) as repo:
        repo.add(["data.csv", "folder"])
        repo.push()
    objects = {path.name: path for path in remote.rglob("*") if path.is_file()}
    assert len(objects) == 4
    by_name = {name: objects[hashlib.md5(text.encode()).hexdigest()[2:]] for name, text in FILES.items()}
    by_name["folder"] = next(path for path in objects.values() if path.name.endswith(".dir"))
    shutil.rmtree(root / ".dvc/cache")
    shutil.rmtree(root / "folder")
    (root / "data.csv").unlink()
    return root, by_name


DVC_DEPRECATION = pytest.mark.filterwarnings("ignore:_NoneStep.value:DeprecationWarning")  # DVC's own, in its trie


@DVC_DEPRECATION
@pytest.mark.parametrize(("held", "corrupt"), [pytest.param(*case[1:], id=case[0]) for case in PULL_CASES])
def test_g_pull_names_a_corrupt_remote_object(pushed, capsys, held, corrupt):
    root, objects = pushed
    remote_object = objects[held]
    corrupt(remote_object)
    code = cli.main(["pull"])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    error = err.splitlines()[-1]
    assert error.startswith("imbalance-lab pull: error: the DVC remote's object ") and "Traceback" not in out + err
    oid = "".join(remote_object.parts[-2:])
    for fragment in (str(remote_object), f"(it holds {held})", "is corrupt", oid, "nothing was checked out",
                     "Delete that file from the remote", "`dvc push`"):
        assert fragment in error, error
    assert "never pushed" not in error
    assert not (root / "data.csv").exists() and not (root / "folder").exists()  # nothing checked out
    assert not any(path.is_file() for path in (root / ".dvc/cache").rglob(remote_object.name))


@DVC_DEPRECATION
def test_g_pull_of_a_sound_remote_still_checks_out(pushed, capsys):
    root, _ = pushed
    assert cli.main(["pull"]) == 0, capsys.readouterr().err
    assert {name: (root / name).read_text() for name in FILES} == FILES

