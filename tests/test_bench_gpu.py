"""The GPU bench at tiny scale on the CPU: the same code paths as on a GPU, so `make bench-gpu` never rots."""

import math
import re

from conftest import run_script

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
