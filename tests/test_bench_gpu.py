"""The GPU bench at tiny scale on the CPU: the same code paths as on a GPU, so `make bench-gpu` never rots."""

import json
import math
import os
import re
import subprocess
import sys

import pytest
import torch

import common
from tools import bench_gpu, measure_prompt_lengths

REFERENCE = common.PROJECT_DIR.parent / "shared" / "reference-data"

ROWS = (
    "attention implementation",
    "training tokens/s",
    "training seconds per optimizer step",
    "training peak memory allocated GiB",
    "training peak memory reserved GiB",
    "training hours per epoch (8659 questions)",
    "training hours for 5 epochs",
    "generation questions/s, 0-shot, batch 16",
    "generation minutes per 1034 questions, 0-shot, batch 16",
    "generation questions/s, 3-shot, batch 16",
    "generation minutes per 1034 questions, 3-shot, batch 16",
    "generation questions/s, 0-shot, batch 1 (a sample)",
    "generation questions/s, 0-shot, batch 16, MAX_NEW_TOKENS",
    "MMLU letter scoring questions/s",
    "T4 fit test sequence tokens",
    "vLLM",
    "device",
    "torch / CUDA",
)
NOT_NUMERIC = ("attention implementation", "T4", "vLLM", "device", "torch / CUDA")


def test_tiny_bench_prints_every_row_with_a_finite_number():
    result = subprocess.run(
        [sys.executable, "-m", "tools.bench_gpu"],
        env=dict(os.environ, PROFILE="paper", BENCH_GPU_SCALE="tiny", PYTHONUNBUFFERED="1"),
        cwd=common.PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    streamed, table = result.stdout.split("\nfigure ")
    values = {}
    for line in table.splitlines()[1:]:
        name, value, *_ = re.split(r"\s{2,}", line) + [""]
        values[name] = value
    for row in ROWS:
        assert row in values, f"missing row {row!r} in\n{table}"
        assert re.search(rf"^{re.escape(row)}  ", streamed, re.M), f"{row!r} not printed as it was measured"
        if not row.startswith(NOT_NUMERIC):
            assert math.isfinite(float(values[row])) and float(values[row]) > 0, (row, values[row])
    assert values["attention implementation"] == "sdpa"
    if torch.cuda.is_available():
        assert values["T4 verdict, batch 2, 2048 tokens"].startswith(("fits (", "does not fit"))
    else:
        assert values["T4 verdict"] == "not measured (no CUDA)"
    assert values["T4 fit test sequence tokens"] == "2048, 282"  # MAX_SEQ_LENGTH, the longest measured


def test_architecture_is_qwen2_7b_instructs():
    config = json.loads(bench_gpu.ARCHITECTURE.read_text())
    assert {key: config[key] for key in QWEN2_7B_INSTRUCT} == QWEN2_7B_INSTRUCT
    assert type(config["rope_theta"]) is float and type(config["rms_norm_eps"]) is float


QWEN2_7B_INSTRUCT = {  # Qwen/Qwen2-7B-Instruct's config.json
    "model_type": "qwen2",
    "vocab_size": 152064,
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "rope_theta": 1e6,
    "tie_word_embeddings": False,
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6,
    "hidden_act": "silu",
}


def out_of_memory_at(limit, error):
    def train_at(batch):
        if batch > limit:
            raise error
        return 1.5 * batch

    return train_at


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
        RuntimeError("CUDA out of memory."),
    ],
)
def test_t4_fit_search_stops_at_the_first_out_of_memory_and_releases_after_each_try(error):
    released = []
    fits = bench_gpu.fit_search(out_of_memory_at(2, error), (1, 2, 4, 8), lambda: released.append(1))
    assert fits == {1: 1.5, 2: 3.0, 4: "out of memory"} and len(released) == 3
    assert bench_gpu.fit_verdict(fits) == ("fits (3.00 GiB reserved)", "2")
    fits = bench_gpu.fit_search(out_of_memory_at(1, error), (1, 2, 4), lambda: None)
    assert bench_gpu.fit_verdict(fits) == ("does not fit (out of memory); batch 1 fits", "1")
    fits = bench_gpu.fit_search(out_of_memory_at(0, error), (1, 2), lambda: None)
    assert bench_gpu.fit_verdict(fits) == ("does not fit at batch 1 (out of memory)", "none: does not fit at batch 1")


def test_t4_fit_search_lets_other_errors_through():
    with pytest.raises(RuntimeError, match="shape mismatch"):
        bench_gpu.fit_search(out_of_memory_at(0, RuntimeError("shape mismatch")), (1, 2), lambda: None)


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared/reference-data is absent (opt-in check)")
def test_committed_prompt_lengths_are_what_measure_prompt_lengths_gives(tmp_path, monkeypatch):
    committed = measure_prompt_lengths.OUTPUT
    monkeypatch.setattr(measure_prompt_lengths, "OUTPUT", tmp_path / "prompt_lengths.json")
    measure_prompt_lengths.main([str(REFERENCE)])
    assert json.loads(measure_prompt_lengths.OUTPUT.read_text()) == json.loads(committed.read_text())
