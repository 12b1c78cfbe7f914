"""tradeoff.model with the tiny model: where the model comes from, the compute dtype, the tokenizer's padding, stops,
greedy generation, the non-finite guard, letter scoring, seeding and memory."""

import json
import random
import sys
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import common
from tradeoff import PipelineError, files, model, spider, vllm_engine


@pytest.fixture(scope="module")
def config():
    return common.model_config()


@pytest.fixture(scope="module")
def tokenizer(config):
    return model.load_tokenizer(config)


def chat(tokenizer, text):
    return spider.render(tokenizer, [{"role": "user", "content": text}])


def test_an_unbuilt_local_model_is_one_line_and_a_hub_name_passes_through(tmp_path, config):
    unbuilt = replace(config, source=str(tmp_path / "outputs/cache/tiny-qwen2"))
    with pytest.raises(PipelineError, match=r"tiny-qwen2 is not built yet; run 0_preparando_dados.py first"):
        model.model_source(unbuilt)
    assert list(tmp_path.iterdir()) == []  # a getter builds nothing: script 0 does
    hub = replace(config, name="Qwen/Qwen2-7B-Instruct", source="Qwen/Qwen2-7B-Instruct")
    assert model.model_source(hub) == "Qwen/Qwen2-7B-Instruct"
    assert model.model_identity(hub) == "Qwen/Qwen2-7B-Instruct"
    assert model.model_identity(config).startswith(f"{config.name}@sha256:")  # a local model: its weights' hash


@pytest.mark.parametrize(
    ("cuda", "native_bf16", "expected"),
    [(False, False, torch.float32), (True, False, torch.float16), (True, True, torch.bfloat16)],
)
def test_auto_compute_dtype_is_float32_on_a_cpu_and_float16_on_a_t4(monkeypatch, cuda, native_bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: native_bf16)
    assert model.torch_dtype("auto") == expected
    assert model.torch_dtype("float16") == torch.float16  # an explicit choice is kept everywhere


@pytest.mark.parametrize("configured", [[151645, 151643], 7, None])
def test_decoding_stops_at_every_end_of_turn_id_of_the_generation_config(tokenizer, config, tmp_path, configured):
    (tmp_path / "generation_config.json").write_text(json.dumps({"eos_token_id": configured}))
    generation = model.generation_config(replace(config, source=str(tmp_path)))
    expected = {tokenizer.eos_token_id, tokenizer.get_vocab().get("<|im_end|>")} - {None}
    expected |= set(configured if isinstance(configured, list) else [] if configured is None else [configured])
    assert model.stop_token_ids(tokenizer, generation) == sorted(expected)


def test_padding_is_left_and_never_the_end_of_turn_token(tokenizer):
    assert tokenizer.padding_side == "left"
    assert tokenizer.pad_token_id != tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_generation_is_batched_greedy_and_stops(tokenizer, config):
    complete = model.generator(config, tokenizer, None, "hf")
    texts = [chat(tokenizer, f"Question {i}?") for i in range(5)]
    plan = files.batch_plan(model.token_lengths(tokenizer, texts), batch_size=2)
    assert [len(batch) for batch in plan] == [2, 2, 1]

    def generate_all():
        return {i: text for batch in plan for i, text in zip(batch, complete([texts[i] for i in batch], 6))}

    outputs = generate_all()
    assert sorted(outputs) == list(range(5)) and all(isinstance(text, str) for text in outputs.values())
    assert generate_all() == outputs  # greedy: deterministic


def test_decoding_uses_and_records_the_models_own_repetition_penalty(config):
    # The demo model carries Qwen2-7B-Instruct's generation default; HF generate would apply it implicitly.
    assert model.load_model(config).generation_config.repetition_penalty == 1.05
    made_with = model.made_with(config, None, "hf", 16, 48)
    assert made_with["repetition_penalty"] == 1.05 and made_with["engine"] == "hf" and made_with["batch_size"] == 16
    assert made_with["adapter_sha256"] is None and made_with["model"] == model.model_identity(config)


def test_vllm_engine_is_refused_with_the_fix_where_it_cannot_run(tokenizer, config, monkeypatch):
    monkeypatch.setattr(vllm_engine, "installed_version", lambda: None)
    with pytest.raises(PipelineError, match=r"vLLM is not installed; install it as README says"):
        model.generator(config, tokenizer, None, "vllm")
    monkeypatch.setattr(vllm_engine, "installed_version", lambda: "0.32.0")
    with pytest.raises(PipelineError, match=r"cannot load the base in 4-bit NF4.*set LOAD_IN_4BIT=0"):
        model.generator(replace(config, load_in_4bit=True), tokenizer, None, "vllm")


def test_vllm_tensor_parallel_size_and_lora_rank_reach_the_engine(tokenizer, config, monkeypatch, tmp_path):
    """VLLM_TENSOR_PARALLEL_SIZE (default 1) is what vllm.LLM is built with; untestable further without GPUs."""
    built = {}
    monkeypatch.setattr(vllm_engine, "installed_version", lambda: "0.32.0")
    monkeypatch.setitem(sys.modules, "vllm", SimpleNamespace(LLM=lambda **settings: built.update(settings)))
    monkeypatch.setattr(vllm_engine, "generator", lambda llm, *args: llm)
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # what engine() sets, restored afterwards
    vllm_engine.engine.cache_clear()
    model.generator(replace(config, load_in_4bit=False), tokenizer, None, "vllm", common.VLLM_TENSOR_PARALLEL_SIZE)
    assert common.VLLM_TENSOR_PARALLEL_SIZE == 1 and built["tensor_parallel_size"] == 1
    model.generator(replace(config, load_in_4bit=False), tokenizer, None, "vllm", 4)
    assert built["tensor_parallel_size"] == 4
    # The engine's maximum LoRA rank: the smallest vLLM accepts that holds the adapter's; none above 512.
    adapter = tmp_path / "adapter"
    for lora_r, max_rank in ((4, 8), (100, 128), (1024, None)):
        files.write_json(adapter / "adapter_config.json", {"r": lora_r})
        if max_rank is None:
            with pytest.raises(PipelineError, match="LoRA rank 1024 is above vLLM's largest \\(512\\)"):
                model.generator(replace(config, load_in_4bit=False), tokenizer, adapter, "vllm", 1)
        else:
            model.generator(replace(config, load_in_4bit=False), tokenizer, adapter, "vllm", 1)
            assert built["max_lora_rank"] == max_rank
    monkeypatch.setenv("WORLD_SIZE", "2")  # under a launcher: one line, not one engine per process
    with pytest.raises(PipelineError, match="runs in one process.*VLLM_TENSOR_PARALLEL_SIZE"):
        model.generator(replace(config, load_in_4bit=False), tokenizer, None, "vllm", 1)
    vllm_engine.engine.cache_clear()


def test_non_finite_logits_stop_the_run_with_the_setting_to_change(tokenizer, config):
    llm = model.load_model(config)
    llm.lm_head.weight.data.fill_(float("nan"))
    texts = [chat(tokenizer, "Hi")]
    with pytest.raises(PipelineError, match=r"non-finite logits during generation .*set COMPUTE_DTYPE=float32"):
        model.generate_batch(llm, tokenizer, texts, max_new_tokens=3)
    with pytest.raises(PipelineError, match=r"non-finite next-token logits"):
        model.letter_log_probs_batch(llm, tokenizer, texts, model.letter_token_ids(tokenizer, "ABCD"))


class ControlledModel(torch.nn.Module):
    def __init__(self, vocab_size, favourite_token):
        super().__init__()
        self.vocab_size, self.favourite_token = vocab_size, favourite_token
        self.device, self.dtype = torch.device("cpu"), torch.float32

    def forward(self, input_ids, attention_mask=None, position_ids=None):
        logits = torch.zeros(input_ids.shape[0], input_ids.shape[1], self.vocab_size)
        logits[:, -1, self.favourite_token] = 5.0
        return SimpleNamespace(logits=logits)


def test_letter_scorer_reads_the_bare_letter_after_the_assistant_turn(tokenizer):
    bare = model.letter_token_ids(tokenizer, "ABCD")
    spaced = [tokenizer.encode(" " + letter, add_special_tokens=False) for letter in "ABCD"]
    assert all(len(ids) == 1 for ids in spaced) and [ids[0] for ids in spaced] != bare
    prompt = chat(tokenizer, "Question?\nAnswer:")
    assert prompt.endswith("<|im_start|>assistant\n")  # a new line: the answer letter comes without a space
    for position, letter_id in enumerate(bare):
        scores = model.letter_log_probs_batch(ControlledModel(len(tokenizer), letter_id), tokenizer, [prompt] * 2, bare)
        assert all(max(range(4), key=row.__getitem__) == position for row in scores)
    # Favouring the spaced form must not count for the bare letter the prompt makes likely.
    scores = model.letter_log_probs_batch(ControlledModel(len(tokenizer), spaced[2][0]), tokenizer, [prompt], bare)
    assert len(set(round(value, 6) for value in scores[0])) == 1
    with pytest.raises(PipelineError, match=r"answer .SELECT count\(\*\) FROM. is not a single token"):
        model.letter_token_ids(tokenizer, ["A", "SELECT count(*) FROM"])


def test_seeding_repeats_random_draws():
    model.seed_everything(7)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    model.seed_everything(7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_free_memory_lets_go_of_the_embedding_bitsandbytes_holds():
    """The Trainer registers the embedding in bitsandbytes' process-wide GlobalOptimManager (OPTIM=adamw_8bit),
    which alone kept a finished training's embedding alive (2.2 GB in float32 for Qwen2-7B)."""
    import weakref

    import bitsandbytes

    embedding = torch.nn.Embedding(4, 2)
    bitsandbytes.optim.GlobalOptimManager.get_instance().register_module_override(
        embedding, "weight", {"optim_bits": 32}
    )
    held = weakref.ref(embedding)
    del embedding
    assert held() is not None
    model.free_memory()
    assert held() is None
