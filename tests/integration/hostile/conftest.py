"""Fixtures of the hostile suite: one committed copy of the project per test module, restored after
each case (see hostile.py)."""

from __future__ import annotations

import shutil

import pytest

from hostile import ROOT, Project, git


@pytest.fixture(scope="module")
def committed(tmp_path_factory) -> Project:
    root = tmp_path_factory.mktemp("hostile") / "project"
    for name in filter(None, git(ROOT, "ls-files", "-z").split("\0")):
        if (ROOT / name).exists() or (ROOT / name).is_symlink():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, root / name, follow_symlinks=False)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "project with its committed results")
    return Project(root)


@pytest.fixture(autouse=True)
def restore(committed, monkeypatch):
    monkeypatch.chdir(committed.root)
    yield
    git(committed.root, "checkout", "-q", "--", ".")
    git(committed.root, "clean", "-fdqx", "-e", "/.dvc/")
