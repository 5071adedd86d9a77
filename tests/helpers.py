"""What the tests share: the project's root, commands run as a user runs them (DVC in a real git repository),
copies of the project in temporary folders, and small settings for quick pipeline runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from imbalance_lab.pipeline.dvclock import LOCKS, PIPELINES

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ("data/", "reports/", *LOCKS)
KEPT = ("data/input/",  # tracked inputs under data/: the generate stage depends on the folder
        # the committed benchmark across data sets (about 13 minutes): a copy's `dvc repro` does not rerun it, as a
        # fresh clone's does not; configure() leaves it no data set (test_benchmark.py runs small ones)
        "reports/benchmark/", "benchmark/dvc.lock")


def command_env(env=None) -> dict[str, str]:
    """The environment of a command: the test interpreter's bin folder first on PATH (DVC stages call
    `python`), a git identity; ``env`` adds variables."""
    return {
        **os.environ,
        **(env or {}),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }


def run(args, cwd, check=True, env=None):
    """Run a command (see command_env); ``env`` adds variables."""
    result = subprocess.run(args, cwd=cwd, env=command_env(env), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def dvc(*args, cwd, check=True, env=None):
    return run([sys.executable, "-m", "dvc", *args], cwd=cwd, check=check, env=env)


BENCHMARK = ROOT / "bench" / "benchmark.py"


def bench(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """A benchmark script as a user runs it (docs/speed.md), in ``cwd``, its exit status left to the test: the
    user's environment (no git identity added: the scripts must commit without one), the interpreter on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "DVC_NO_ANALYTICS": "1"}
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True, text=True)


def positive(value) -> bool:
    """A figure a benchmark measured: a number above zero (never a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def copy_project(target: Path) -> Path:
    """Copy the git-tracked files, leaving out the pipeline's results."""
    names = run(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0")
    for name in filter(None, names):
        # data/'s ignore rules are copied as a clone has them (compare hashes data/models with its .gitignore)
        if name.startswith(RESULTS) and not name.startswith(KEPT) and not name.endswith("/.gitignore"):
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    run(["git", "init", "-q"], cwd=target)
    run(["git", "add", "-A"], cwd=target)
    run(["git", "commit", "-qm", "project"], cwd=target)
    return target


def copy_built(built: Path, target: Path) -> Path:
    """A copy of a built project (conftest.small_built): git history, DVC cache and outputs, links as links."""
    shutil.copytree(built, target, symlinks=True)
    return target


# Other CPUs emulated on this one: other OpenBLAS kernels, and numpy without its AVX2/AVX-512 code paths (names
# this CPU lacks are ignored by numpy). The last digits of a fit differ under each; the committed results were
# written on this machine's own kernel.
OTHER_CPUS = {
    "openblas-sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "openblas-prescott-numpy-baseline": {"OPENBLAS_CORETYPE": "Prescott",
                                         "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"},
}


def stage_name(address: str) -> str:
    """A stage's name without the dvc.yaml it is in: 'cells/train/dvc.yaml:train@smote-hgb' -> 'train@smote-hgb'
    (each name is defined once in the project)."""
    return address.rsplit(":", 1)[-1]


def stage_address(name: str) -> str:
    """The target DVC takes for a stage: its name, prefixed with its dvc.yaml when that is not the root's."""
    kind = name.split("@", 1)[0]
    for pipeline in PIPELINES[1:]:
        if kind in yaml.safe_load((ROOT / pipeline).read_text())["stages"]:
            return f"{pipeline}:{name}"
    return name


def stages_run(output: str) -> list[str]:
    return sorted(stage_name(line.split("'")[1]) for line in output.splitlines() if line.startswith("Running stage"))


def pipeline_stages(project: Path) -> dict:
    """Every stage definition of the project's dvc.yaml files, by name (foreach and matrix not expanded)."""
    stages: dict = {}
    for pipeline in PIPELINES:
        stages.update(yaml.safe_load((project / pipeline).read_text())["stages"])
    return stages


def lock_records(project: Path) -> dict:
    """Every stage record of the project's dvc.lock files, by stage name."""
    records: dict = {}
    for lock in LOCKS:
        if (project / lock).exists():
            records.update(yaml.safe_load((project / lock).read_text()).get("stages") or {})
    return records


def configure(project: Path, strategies: tuple[str, ...] | None = None, classifiers: tuple[str, ...] | None = None,
              **data) -> None:
    """Small, fast params; ``data`` updates the data section; ``strategies`` keeps a subset, ``classifiers``
    a subset of the grid's classifiers (each cell is two stages: DVC's bookkeeping alone costs a second).

    Written as `dvc exp run -S` writes params.yaml (DVC's own round trip), so that a later -S
    changes only its own lines."""
    from dvc.utils.serialize import modify_yaml

    with modify_yaml(str(project / "params.yaml")) as params:
        if strategies is not None:
            for name in [name for name in params["strategies"] if name not in strategies]:
                del params["strategies"][name]
            params["grid"]["strategies"] = list(strategies)
            params["leaderboard"]["baseline"] = "baseline"
        if classifiers is not None:
            params["grid"]["classifiers"] = list(classifiers)
        params["cv"].update(folds=3, repeats=1)
        params["threshold_tuning"]["folds"] = 3
        params["ceiling"].update(rows=20000, directions=36)
        params["evaluate"]["grid_resolution"] = 40
        params["data"].update(data)
        params["benchmark"]["datasets"] = {}  # no benchmark data set: the 16 shipped ones take 12 minutes


def commit(project: Path, message: str) -> None:
    run(["git", "add", "-A"], cwd=project)
    run(["git", "commit", "-qm", message], cwd=project)


def read_json(project: Path, name: str):
    return json.loads((project / name).read_text())


def customers(rows: int = 600, gaps: bool = True) -> pd.DataFrame:
    """A user's table: two numbers, a text column that matters, a yes/no label (about 10 % yes)."""
    rng = np.random.default_rng(11)
    region = rng.choice(["north", "south", "east"], rows)
    balance = rng.normal(5000, 2000, rows).round(2)
    score = (balance - 5000) / 2000 + (region == "east") * 1.2 + rng.normal(0, 0.8, rows)
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, rows),
        "balance": balance,
        "region": region,
        "defaulted": np.where(score > 1.6, "yes", "no"),
    })
    if gaps:
        frame.loc[[3, 40, 77], "balance"] = np.nan
        frame.loc[[8, 90], "region"] = np.nan
    return frame


# The README's own-data recipe, word for word but the file's name.
OWN_DATA_RECIPE = ["-S", "data.source=file", "-S", "data.path=data/input/customers.csv", "-S", "data.target=defaulted",
                   "-S", "data.positive=yes", "-S", "data.categorical=[region]", "-S", "data.missing=impute"]


def dvc_status(project: Path) -> dict:
    """`dvc status` from DVC's own API in this process, by stage name (stage_name): a `dvc` command pays about a
    second of DVC's imports each time."""
    from contextlib import chdir

    from dvc.repo import Repo

    with chdir(project), Repo(".") as repo:
        return {stage_name(address): changes for address, changes in repo.status().items()}


def servers_of(socket_path: Path) -> list[int]:
    """The warm server processes for ``socket_path`` now, up or still importing (`python -m ... serve <socket> ...`)."""
    found = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            args = (process / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in args and str(socket_path).encode() in args:
            found.append(int(process.name))
    return found
