"""modeling.py's model-agnostic choices: where the model comes from, the compute dtype, LoRA targets, stop ids."""

import json

import pytest
import torch

import checkpoints
import common
import modeling


def test_an_unbuilt_local_model_is_one_line_and_nothing_is_built(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "PROJECT_DIR", tmp_path)
    monkeypatch.setattr(common, "MODEL_NAME", "outputs/cache/tiny-qwen2")
    with pytest.raises(common.PipelineError, match=r"tiny-qwen2 is not built yet; run 0_preparando_dados.py first"):
        modeling.model_source()
    assert list(tmp_path.iterdir()) == []  # a getter builds nothing: script 0 does (build_local_model)
    monkeypatch.setattr(common, "MODEL_NAME", "Qwen/Qwen2-7B-Instruct")
    assert modeling.model_source() == "Qwen/Qwen2-7B-Instruct"  # a hub name passes through


@pytest.mark.parametrize(
    ("cuda", "native_bf16", "expected"),
    [(False, False, torch.float32), (True, False, torch.float16), (True, True, torch.bfloat16)],
)
def test_auto_compute_dtype_is_float32_on_a_cpu_and_float16_on_a_t4(monkeypatch, cuda, native_bf16, expected):
    monkeypatch.setattr(common, "COMPUTE_DTYPE", "auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: native_bf16)
    assert modeling.compute_dtype() == expected
    monkeypatch.setattr(common, "COMPUTE_DTYPE", "float16")
    assert modeling.compute_dtype() == torch.float16  # an explicit choice is kept everywhere


def test_lora_targets_the_model_lacks_are_one_line():
    model = torch.nn.Sequential()
    model.add_module("q_proj", torch.nn.Linear(2, 2))
    model.add_module("c_attn", torch.nn.Linear(2, 2))
    modeling.check_lora_targets(model, ("q_proj",))
    with pytest.raises(common.PipelineError, match=r"LORA_TARGET_MODULES names k_proj, v_proj, which .* does not"):
        modeling.check_lora_targets(model, ("q_proj", "k_proj", "v_proj"))


@pytest.mark.parametrize("configured", [[151645, 151643], 7, None])
def test_decoding_stops_at_every_end_of_turn_id_of_the_generation_config(
    prepared_demo, tmp_path, monkeypatch, configured
):
    tokenizer = modeling.load_tokenizer()  # the demo model's: its eos and <|im_end|>
    model_folder = tmp_path / "model"
    model_folder.mkdir()
    (model_folder / "generation_config.json").write_text(json.dumps({"eos_token_id": configured}))
    monkeypatch.setattr(common, "MODEL_NAME", str(model_folder))
    modeling.generation_eos_ids.cache_clear()
    try:
        ids = modeling.stop_token_ids(tokenizer)
    finally:
        modeling.generation_eos_ids.cache_clear()
    expected = {tokenizer.eos_token_id, tokenizer.get_vocab().get("<|im_end|>")} - {None}
    expected |= set(configured if isinstance(configured, list) else [] if configured is None else [configured])
    assert ids == sorted(expected)


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
    modeling.free_memory()
    assert held() is None


def test_training_provenance_records_the_attention_implementation():
    assert checkpoints.environment()["attn_implementation"] == modeling.ATTENTION_IMPLEMENTATION == "sdpa"
