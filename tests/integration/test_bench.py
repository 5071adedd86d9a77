"""The benchmark script, run as a user runs it (docs/speed.md): a subprocess in a folder of its own,
real DVC runs in the temporary projects it builds, the figures read back from what it prints and writes.

`--quick` is its smallest run (500 synthetic rows, the one cell smote-logreg, 3-fold CV once, the
ceiling on 1,000 rows): every measurement of the full benchmark once, on the smallest settings, cold
and warm, but the cold one-strategy change (the cold build's path again). It still runs the pipeline's eight
stages cold once (each cold stage is 1-4 s of imports): the floor of what it measures, paid so that a user's
first command works.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from helpers import BENCHMARK, bench, positive


# slow: the benchmark script's own run (docs/speed.md: run it after changing bench/); the bad-argument tests below
# are in the README's test command
@pytest.mark.slow
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
    for key in ("cold_seconds", "stage_seconds_sum", "peak_mb", "noop_seconds", "ratio", "warm_seconds",
                "warm_one_strategy_seconds"):
        assert positive(size[key]), (key, size[key])
    # the warm runs ran warm: every stage again, forked from the server, is faster than the cold build
    assert size["warm_seconds"] < size["cold_seconds"], size
    printed = re.findall(r"^full\s+(\d+\.\d) s cold\s+(\d+\.\d) s warm\s+warm/cold \d\.\d\d$", result.stdout, re.M)
    assert printed == [(f"{size['cold_seconds']:.1f}", f"{size['warm_seconds']:.1f}")], result.stdout
    # the cold one-strategy change takes the cold build's path again: --quick leaves it to the full run
    assert "one_strategy_seconds" not in size and "one_strategy_stages" not in size, size
    assert re.search(rf"^one_strategy\s+-- cold\s+{size['warm_one_strategy_seconds']:.1f} s warm\s+\(cold: not in "
                     rf"--quick\)$", result.stdout, re.M), result.stdout
    for reference in ("plain", "fit_and_score"):
        assert positive(size[reference]["seconds"]) and positive(size[reference]["peak_mb"]), size[reference]
    # every stage of the grid profiled under DVC's own name, each with its time and memory
    stages = {"check", "generate", "split", "resample@smote", "train@smote-logreg", "evaluate@smote-logreg",
              "ceiling", "compare", "rank"}  # rank: of no benchmark set here, whose summary the report shows
    assert set(size["stages"]) == stages, size["stages"]
    assert all(positive(s["seconds"]) and positive(s["peak_mb"]) for s in size["stages"].values())
    assert size["identical"] is True and size["identical_to_plain"] is True, size["differing_from_plain"]
    assert all(positive(seconds) for seconds in figures["start_up_seconds"].values())
    assert "article" not in figures and "neighbour_searches" not in figures


@pytest.mark.parametrize("script, args, culprit", [
    (BENCHMARK, ["--sizes", "5", "--no-article"], "--sizes 5"),  # the pipeline's check
    (BENCHMARK, ["--sizes", "many"], "--sizes"),
    (BENCHMARK, ["--quick", "--out", "/nonexistent-folder/figures.json"], "--out /nonexistent-folder"),
    (BENCHMARK, ["--concurrent-from", "0"], "--concurrent-from 0"),
])
def test_bad_arguments_fail_at_once_in_one_line(tmp_path, script, args, culprit):
    started = time.monotonic()
    result = bench(script, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"bench/{script.name}: error: ") and culprit in result.stderr, result.stderr
    assert time.monotonic() - started < 60  # the pipeline's check in-process, never a DVC run
    assert list(tmp_path.iterdir()) == []
