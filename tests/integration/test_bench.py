"""The benchmark scripts, run as a user runs them (docs/speed.md): a subprocess in a folder of its own,
real DVC runs in the temporary projects they build, the figures read back from what they print and write.

`--quick` is their smallest run (500 synthetic rows, the one cell smote-logreg, 3-fold CV once, the
ceiling on 1,000 rows): every measurement of the full benchmark once, on the smallest settings. Each
still runs the pipeline's eight stages cold twice or so (each cold stage is 1-4 s of imports), about
70 s of CPU per script: the floor of what they measure, paid so that a user's first command works.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ROOT

BENCHMARK, WARM = ROOT / "bench" / "benchmark.py", ROOT / "bench" / "warm.py"


def bench(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "DVC_NO_ANALYTICS": "1"}
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True, text=True)


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


@pytest.mark.integration
def test_benchmark_quick_writes_every_figure_it_promises(tmp_path):
    out = tmp_path / "quick.json"
    result = bench(BENCHMARK, "--quick", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"written: {out}" in result.stdout
    assert re.search(r"^byte_identical_at_500\s+True\s+True\s+yes$", result.stdout, re.M), result.stdout
    figures = json.loads(out.read_text())
    size = figures["sizes"]["500"]
    assert (size["strategies"], size["classifiers"], size["cv_repeats"]) == (1, 1, 1)
    for key in ("cold_seconds", "stage_seconds_sum", "peak_mb", "noop_seconds", "one_strategy_seconds", "ratio"):
        assert positive(size[key]), (key, size[key])
    for reference in ("plain", "fit_and_score"):
        assert positive(size[reference]["seconds"]) and positive(size[reference]["peak_mb"]), size[reference]
    # every stage of the grid profiled under DVC's own name, each with its time and memory
    stages = {"check", "generate", "split", "resample@smote", "train@smote-logreg", "evaluate@smote-logreg",
              "ceiling", "compare"}
    assert set(size["stages"]) == stages, size["stages"]
    assert all(positive(s["seconds"]) and positive(s["peak_mb"]) for s in size["stages"].values())
    # the change reruns the sampler's stage and everything after it, cold (each profiled)
    assert set(size["one_strategy_stages"]) == {"check", "resample@smote", "train@smote-logreg",
                                                "evaluate@smote-logreg", "compare"}, size["one_strategy_stages"]
    assert all(map(positive, size["one_strategy_stages"].values())), size["one_strategy_stages"]
    assert size["identical"] is True and size["identical_to_plain"] is True, size["differing_from_plain"]
    assert all(positive(seconds) for seconds in figures["start_up_seconds"].values())
    assert "article" not in figures and "neighbour_searches" not in figures


@pytest.mark.integration
def test_warm_quick_prints_cold_and_warm_medians(tmp_path):
    result = bench(WARM, "--quick", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {}
    for line in result.stdout.splitlines():
        match = re.match(r"(full|one_strategy|noop|plain)\s+(\d.*)$", line)
        if match:
            rows[match[1]] = [float(x) for x in re.findall(r"(\d+\.\d+) s \(", match[2])]
    assert set(rows) == {"full", "one_strategy", "noop", "plain"}, result.stdout
    for kind in ("full", "one_strategy", "noop"):  # a cold and a warm median each
        assert len(rows[kind]) == 2 and all(map(positive, rows[kind])), (kind, result.stdout)
    assert len(rows["plain"]) == 1 and positive(rows["plain"][0])
    ratios = re.findall(r"^full (cold|warm) / plain process: (\d+\.\d+)$", result.stdout, re.M)
    assert [mode for mode, _ in ratios] == ["cold", "warm"] and all(float(r) > 0 for _, r in ratios)
    # the warm runs ran warm: a forced repro of every stage is faster forked than cold
    assert rows["full"][1] < rows["full"][0], result.stdout


@pytest.mark.parametrize("script, args, culprit", [
    (BENCHMARK, ["--sizes", "5", "--no-article"], "--sizes 5"),  # the pipeline's check (warm.py shares it)
    (BENCHMARK, ["--sizes", "many"], "--sizes"),
    (BENCHMARK, ["--quick", "--out", "/nonexistent-folder/figures.json"], "--out /nonexistent-folder"),
    (WARM, ["--sizes", "huge"], "'huge'"),
    (WARM, ["--runs", "0"], "--runs 0"),
])
def test_bad_arguments_fail_at_once_in_one_line(tmp_path, script, args, culprit):
    started = time.monotonic()
    result = bench(script, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"bench/{script.name}: error: ") and culprit in result.stderr, result.stderr
    assert time.monotonic() - started < 60  # the pipeline's check in-process, never a DVC run
    assert list(tmp_path.iterdir()) == []
