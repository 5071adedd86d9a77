"""Shared parts of the hostile suite (tests/integration/hostile/test_hostile*.py): a committed copy of the project,
restored after each case, and the checks every case makes.

Every case runs in one committed copy of the project (all git-tracked files, the
committed reports/ and dvc.lock included; no data/ outputs), restored after each case.
A case passes when the project refuses the input with a one-line message that names
the culprit and the fix, runs nothing it was handed (no PWNED marker), and leaves every
committed file as it was (git status shows only the file the case itself edited).

The fixtures (``committed``, one copy per test module, and the autouse ``restore``) are in this
folder's conftest.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from helpers import ROOT
from imbalance_lab.pipeline import cli

FIXTURE_PARAMS = ROOT / "tests" / "fixtures" / "params.yaml"
MODEL = "data/models/baseline-logreg.json"
REBUILD = "run `dvc checkout` or `dvc repro` to rebuild it"
MARKER = "PWNED"
EDITED_PARAMS = {" M params.yaml"}


# --- helpers ----------------------------------------------------------------------------


def env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }


def run(args, cwd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True, **kwargs)


def git(root: Path, *args) -> str:
    result = run(["git", *args], cwd=root)
    assert result.returncode == 0, result.stderr
    return result.stdout


def dvc(root: Path, *args) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "dvc", *args], cwd=root, timeout=300)


def stage(root: Path, *args, preexec_fn=None) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "imbalance_lab", *args], cwd=root, preexec_fn=preexec_fn, timeout=120)


def status(root: Path) -> set[str]:
    return set(filter(None, git(root, "status", "--porcelain", "--untracked-files=all").splitlines()))


def reports(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "reports").rglob("*")) if p.is_file()}


class Project:
    def __init__(self, root: Path):
        self.root = root
        self.reports = reports(root)
        self.lock = yaml.safe_load((root / "dvc.lock").read_text())

    def params(self) -> dict:
        return yaml.safe_load(git(self.root, "show", "HEAD:params.yaml"))

    def write_params(self, params) -> None:
        text = params if isinstance(params, str) else yaml.safe_dump(params, sort_keys=False)
        (self.root / "params.yaml").write_text(text)

    def edit(self, changes: dict) -> dict:
        """params.yaml with dotted keys set, e.g. {"cv.folds": 1}."""
        params = set_dotted(self.params(), changes)
        self.write_params(params)
        return params


def set_dotted(params: dict, changes: dict) -> dict:
    """``params`` with each dotted key of ``changes`` set to its value (in place), e.g. {"cv.folds": 1}."""
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = params
        for part in parents:
            node = node[part]
        node[last] = value
    return params


def nothing_ran(root: Path) -> None:
    for folder in (root, root.parent):
        assert not (folder / MARKER).exists(), f"a command from the input ran: {folder / MARKER}"


def leftovers(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob(".*.tmp")
            if p.is_file() and p.relative_to(root).parts[0] not in (".git", ".dvc")]


def untouched(project: Project, changed: set[str] = frozenset()) -> None:
    """Nothing ran, git sees only ``changed``, reports/ byte-identical, no temporary file left."""
    nothing_ran(project.root)
    assert status(project.root) == set(changed)
    assert reports(project.root) == project.reports
    assert leftovers(project.root) == []


def refused(capsys, argv: list[str], *fragments: str) -> str:
    """``cli.main(argv)`` exits 2 with one error line `imbalance-lab <stage>: error: ...` holding ``fragments``
    (after the stage's progress lines, if any)."""
    try:
        code = cli.main(argv)
    except Exception as err:
        pytest.fail(f"cli.main({argv}) raised {type(err).__name__}: {err} (a traceback, not a one-line error)")
    out, err = capsys.readouterr()
    assert code == 2, err
    *progress, error = err.splitlines()
    assert error.startswith(f"imbalance-lab {argv[0]}: error: ") and err.endswith("\n"), err
    assert all(line.startswith("imbalance-lab ") and ": error: " not in line for line in progress), err
    assert "Traceback" not in out + err
    for fragment in fragments:
        assert fragment in error, f"{fragment!r} not in: {error}"
    return error


def dvc_refused(result: subprocess.CompletedProcess, *fragments: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in: {output}"
    return output


# --- data helpers --------------------------------------------------------------------------


def customers(rows: int = 40, positives: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.integers(18, 80, rows).astype(float), "balance": rng.normal(5e3, 2e3, rows),
                         "defaulted": [1] * positives + [0] * (rows - positives)})


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


def cut_in_half(content: bytes) -> bytes:
    return content[: len(content) // 2]


def duplicate_parquet() -> bytes:
    frame = customers()
    table = pa.Table.from_arrays([pa.array(frame["age"]), pa.array(frame["balance"]), pa.array(frame["defaulted"])],
                                 names=["age", "age", "defaulted"])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def with_value(column: str, value) -> pd.DataFrame:
    frame = customers()
    frame.loc[3, column] = value
    return frame


@cache
def article_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    from imbalance_lab.data.sources import generate_article_data
    from imbalance_lab.data.split import split
    from imbalance_lab.settings.params import article_settings, load, split_settings

    params = load(FIXTURE_PARAMS)
    return split(generate_article_data(article_settings(params)), split_settings(params))


def kill_when(process: subprocess.Popen, ready, seconds: float = 60) -> None:
    """SIGKILL the process group once ``ready()`` (or after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while process.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.005)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)


