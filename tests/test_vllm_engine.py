"""The optional vLLM engine (INFERENCE_ENGINE=vllm) against the HF engine. `make test-vllm` runs this file in
.venv-vllm, where vLLM's CPU build is installed; anywhere vLLM is absent (CI included) it is skipped.

vLLM cannot load 4-bit NF4, so here the whole run is LOAD_IN_4BIT=0 with COMPUTE_DTYPE=float32: script 1 trains
the adapter on the tiny model's float32 base, and scripts 2 and 3 evaluate it once with each engine. Every script
runs in a new interpreter (fresh=True), as a user runs it: vLLM is not tried from the preloaded forkserver."""

import dataclasses
import json
import shutil

import pytest

from conftest import run_script

pytest.importorskip("vllm", reason="the vLLM engine is optional; `make test-vllm` installs it and runs this file")

import common  # noqa: E402
from tradeoff import PipelineError, model, spider, vllm_engine  # noqa: E402

# Batches of 16 for both engines: three batches, so that a resumed vLLM run has batches done and batches to do.
UNQUANTIZED = {
    "PROFILE": "demo",
    "LOAD_IN_4BIT": "0",
    "COMPUTE_DTYPE": "float32",
    "NUM_EPOCHS": "1",
    "EVAL_EPOCHS": "1",
    "EVALUATION_ENTRIES_SIZE": "48",
    "VLLM_BATCH_SIZE": "16",
}
COMPARED_FIELDS = ("key", "raw_output", "prediction", "score", "strict_score", "reason", "error_kind")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Prepared demo data and a one-epoch adapter; each engine then evaluates into its own output folder."""
    root = tmp_path_factory.mktemp("engines")
    for script in ("0_preparando_dados.py", "1_fine-tuning.py"):
        result = run_script(
            script, dict(UNQUANTIZED, PREPARED_DIR=str(root / "prepared"), OUTPUT_DIR=str(root / "hf")), fresh=True
        )
        assert result.returncode == 0, f"{script}: {result.stderr[-3000:]}"
    shutil.copytree(root / "hf" / "lora", root / "vllm" / "lora")
    return root


def evaluate_with(root, engine, script):
    result = run_script(
        script,
        dict(UNQUANTIZED, INFERENCE_ENGINE=engine, PREPARED_DIR=str(root / "prepared"), OUTPUT_DIR=str(root / engine)),
        fresh=True,
    )
    assert result.returncode == 0, f"{script} on {engine}: {result.stderr[-3000:]}"
    return result


def spider_records(root, engine, key):
    lines = (root / engine / "spider" / f"{key}.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda record: record["index"])


@pytest.mark.parametrize(
    "script, keys",
    [("2_calculando_baseline.py", ("base_3shot", "base_0shot")), ("3_avaliacao_customizada.py", ("lora_epoch1",))],
)
def test_vllm_engine_gives_the_records_the_hf_engine_gives(trained, script, keys):
    for engine in ("hf", "vllm"):
        evaluate_with(trained, engine, script)
    for key in keys:
        by_hf, by_vllm = spider_records(trained, "hf", key), spider_records(trained, "vllm", key)
        assert len(by_hf) == len(by_vllm) == int(UNQUANTIZED["EVALUATION_ENTRIES_SIZE"])
        for hf_record, vllm_record in zip(by_hf, by_vllm):
            assert {field: vllm_record[field] for field in COMPARED_FIELDS} == {
                field: hf_record[field] for field in COMPARED_FIELDS
            }, f"{key} example {hf_record['index']}"
        made_with = json.loads((trained / "vllm" / "spider" / f"{key}.made_with.json").read_text())
        assert made_with["engine"] == "vllm" and made_with["vllm_version"]
        assert made_with["batch_size"] == 16 and made_with["repetition_penalty"] == 1.05


def test_a_killed_vllm_run_resumes_to_the_same_records(trained):
    """A kill after the first batch, in the middle of writing a line: the re-run redoes the rest, same records."""
    path = trained / "vllm" / "spider" / "lora_epoch1.jsonl"
    if not path.exists():
        evaluate_with(trained, "vllm", "3_avaliacao_customizada.py")
    complete = path.read_text()
    lines = complete.splitlines(keepends=True)
    path.write_text("".join(lines[:16]) + lines[16][:25])
    resumed = evaluate_with(trained, "vllm", "3_avaliacao_customizada.py")
    assert "16/48" in resumed.stderr  # the progress bar starts at the first batch, kept
    before = sorted((json.loads(line) for line in lines), key=lambda record: record["index"])
    assert spider_records(trained, "vllm", "lora_epoch1") == before


def test_non_finite_vllm_generation_stops_the_run(tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "nan-model"
    shutil.copytree(common.model_config().source, broken)
    weights = load_file(broken / "model.safetensors")
    weights = {
        name: torch.full_like(tensor, float("nan")) if "embed_tokens" in name else tensor
        for name, tensor in weights.items()
    }
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    config = dataclasses.replace(
        common.model_config(), name=str(broken), source=str(broken), load_in_4bit=False, compute_dtype="float32"
    )
    try:
        tokenizer = model.load_tokenizer(config)
        prompt = spider.render(tokenizer, [{"role": "user", "content": "How many singers are there?"}])
        complete = model.generator(config, tokenizer, None, "vllm")
        with pytest.raises(PipelineError, match=r"non-finite log-probabilities during vLLM generation"):
            complete([prompt], 4)
    finally:
        vllm_engine.engine.cache_clear()
