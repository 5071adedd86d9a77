"""Shared fixtures: the article's params, data and split, built once per test session.

Unit tests read the frozen copy tests/fixtures/params.yaml, never the project's params.yaml: a user
who changes a setting (the README's branch workflow) keeps a green suite. Only the golden test
(test_pipeline.py) checks the committed params.yaml against the committed reports.

BLAS/OpenMP threads are pinned to one before numpy loads: the tests run on two
cores beside other work, and idle spinning threads slow small fits badly.
"""

from __future__ import annotations

import os

from imbalance_lab import THREAD_PINS  # the package's face alone: nothing numerical loads

os.environ.update(dict.fromkeys(THREAD_PINS, "1"))
# The integration tests' DVC runs start warm stage servers (one per temporary project): let them
# go soon after their project's last stage, and stop the rest when the session ends.
os.environ.setdefault("IMBALANCE_LAB_WARM_IDLE", "30")

# Only now what may load numpy (ruff allows os.environ calls above the imports).
import copy
import shutil
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from imbalance_lab.data.dataset import features_and_target
from imbalance_lab.data.sources import generate_article_data
from imbalance_lab.data.split import split
from imbalance_lab.settings.params import article_settings, load, split_settings

PARAMS_PATH = Path(__file__).resolve().parent / "fixtures" / "params.yaml"


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """Keep numerical libraries single-threaded even if numpy was imported before this file."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def params_yaml() -> dict:
    """The fixture params as loaded, shared by the session: do not modify (use article_params)."""
    return load(PARAMS_PATH)


@pytest.fixture
def article_params(params_yaml) -> dict:
    """A fresh deep copy of the fixture params, safe to modify in a test."""
    return copy.deepcopy(params_yaml)


@pytest.fixture(scope="session")
def article_frame(params_yaml):
    return generate_article_data(article_settings(params_yaml))


@pytest.fixture(scope="session")
def article_split(params_yaml, article_frame):
    """(train, test) frames of the article data with the split settings of params.yaml."""
    return split(article_frame, split_settings(params_yaml))


@pytest.fixture(scope="session")
def article_train_xy(article_split):
    """(X, y) of the article's training split: a features DataFrame and a label array."""
    return features_and_target(article_split[0])


@pytest.fixture(scope="session")
def small_built(tmp_path_factory, worker_id) -> Path:
    """The project on small settings (test_real_data.configure: baseline and smote with the grid's classifiers,
    3 folds once) after one full `dvc repro`, committed: built once per test run, shared by every worker (the
    pytest-xdist recipe: a file lock in the folder the workers share). Tests copy it with test_pipeline.copy_built
    and never change it: a small `dvc repro` costs about 20 s of a core, a copy a fraction of a second."""

    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    project = shared / "small-built" / "project"
    with FileLock(str(shared / "small-built.lock")):
        if not (shared / "small-built" / "done").is_file():
            from helpers import commit, configure, copy_project, dvc

            shutil.rmtree(shared / "small-built", ignore_errors=True)
            copy_project(project)
            configure(project, ("baseline", "smote"))
            dvc("repro", cwd=project)
            commit(project, "small settings and their results")
            (shared / "small-built" / "done").touch()
    return project


# The longest files first (worker seconds, the slow tests left out), so that pytest-xdist (--dist loadfile: each
# file on one worker) starts them at once and fills the two workers with the short ones at the end: in collection
# order, the team tests ran last, alone. Paths under tests/: a unit and an integration module may share a name.
# The order among the long files matters little: every file over 9 worker-s listed by size made the workers end
# together but the suite no faster (443 s against 441 s in the same hour; runs an hour apart differed by 20 s).
LONGEST_FIRST = ("integration/test_pipeline.py", "integration/test_team.py", "integration/test_warm.py",
                 "integration/hostile/test_hostile_warm.py", "integration/test_benchmark.py",
                 "integration/hostile/test_hostile.py", "integration/test_workspace.py",
                 "integration/test_real_data.py", "integration/test_dask.py", "integration/test_stage_deps.py",
                 "integration/hostile/test_hostile_settings.py", "integration/test_grid.py", "unit/test_modelfile.py",
                 "unit/test_benchmark_stage.py", "unit/test_metrics.py", "unit/test_plots.py")
TESTS = Path(__file__).resolve().parent


def pytest_configure(config):
    """.ci/run installs Debian's packages (Chromium, strace) in the background while the Python side installs
    (IMBALANCE_LAB_CI_PACKAGES: the file it writes "done" or "failed" to): wait for them before collection, where
    the tests that need them look for them. Elsewhere nothing to wait for."""
    import time

    marker = os.environ.get("IMBALANCE_LAB_CI_PACKAGES")
    if not marker:
        return

    def said() -> str:
        try:
            return Path(marker).read_text().strip()
        except OSError as err:
            return f"cannot read {marker} ({err.strerror})"

    deadline = time.monotonic() + 900
    while not said() and time.monotonic() < deadline:
        time.sleep(0.5)
    if (outcome := said()) != "done":
        raise pytest.UsageError(f"the Debian packages .ci/run installs (chromium, chromium-driver, strace): "
                                f"{outcome or 'not installed after 15 minutes'}; apt-get's output is above")


def pytest_collection_modifyitems(config, items):
    """Every test under tests/integration carries the integration mark (`-m "not integration"` = tests/unit);
    the longest files first."""

    def rank(item) -> int:
        name = item.path.relative_to(TESTS).as_posix()
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    for item in items:
        if item.path.relative_to(TESTS).parts[0] == "integration":
            item.add_marker(pytest.mark.integration)
    items.sort(key=rank)


def pytest_sessionfinish(session, exitstatus):
    """Stop the warm stage servers of this session's temporary projects (see imbalance_lab.warm.server)."""
    import contextlib
    import signal

    from imbalance_lab.warm.client import SERVER_MODULE

    base = str(session.config._tmp_path_factory.getbasetemp())
    for process in Path("/proc").glob("[0-9]*"):
        try:
            args = (process / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if SERVER_MODULE.encode() in args and b"serve" in args and args[-2].decode(errors="replace").startswith(
                base):
            with contextlib.suppress(OSError):
                os.kill(int(process.name), signal.SIGTERM)
