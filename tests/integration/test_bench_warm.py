"""bench/warm.py --quick, run as a user runs it (see test_bench.py, which runs bench/benchmark.py --quick: the
two files run on the two workers at once), its cold and warm medians read back from what it prints."""

from __future__ import annotations

import re

import pytest

from helpers import WARM, bench, positive


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
