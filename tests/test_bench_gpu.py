"""The GPU bench at tiny scale on the CPU: the same code paths as on a GPU, so `make bench-gpu` never rots."""

import json
import math
import re

import pytest

import common
from conftest import run_script

REFERENCE = common.PROJECT_DIR.parent / "shared" / "reference-data"

ROWS = (
    "attention implementation",
    "training tokens/s",
    "training seconds per optimizer step",
    "training peak memory allocated GiB",
    "training peak memory reserved GiB",
    "training hours per epoch",
    "training hours for 5 epochs",
    "generation questions/s, batch 16 ",
    "generation questions/s, batch 1 ",
    "generation questions/s, batch 16, MAX_NEW_TOKENS",
    "generation minutes per 1034 questions, batch 16 ",
    "MMLU letter scoring questions/s",
    "T4 verdict",
    "T4 largest batch",
    "vLLM",
    "device",
    "torch / CUDA",
)
NOT_NUMERIC = ("attention implementation", "T4 verdict", "T4 largest batch", "vLLM", "device", "torch / CUDA")


def test_tiny_bench_prints_every_row_with_a_finite_number():
    result = run_script("bench_gpu.py", env={"PROFILE": "paper", "BENCH_GPU_SCALE": "tiny"}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout[result.stdout.index("\nfigure ") :]
    for row in ROWS:
        line = next((line for line in table.splitlines() if line.startswith(row)), None)
        assert line is not None, f"missing row {row!r} in\n{table}"
        if not row.startswith(NOT_NUMERIC):
            value = float(re.split(r"\s{2,}", line)[1])
            assert math.isfinite(value) and value > 0, line
    assert re.search(r"^attention implementation\s+sdpa", table, re.M)
    assert "not measured (no CUDA)" in table  # the T4 verdict on a CPU


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared/reference-data is absent (opt-in check)")
def test_committed_prompt_lengths_are_what_measure_prompt_lengths_gives(tmp_path, monkeypatch):
    import measure_prompt_lengths

    monkeypatch.setattr(measure_prompt_lengths, "OUTPUT", tmp_path / "prompt_lengths.json")
    measure_prompt_lengths.main([str(REFERENCE)])
    committed = common.PROJECT_DIR / "configs" / "prompt_lengths.json"
    assert json.loads(measure_prompt_lengths.OUTPUT.read_text()) == json.loads(committed.read_text())
