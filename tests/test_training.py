"""1_fine-tuning.py and tradeoff.training with the tiny model on demo data: learning, labels, adapters, resumption,
damaged checkpoints."""

import csv
import json
import shutil
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

import common
from conftest import demo_environment, killed_then_rerun, load_script, use_directories
from tradeoff import PipelineError, files, model, spider, training

finetune = load_script("1_fine-tuning.py")
TRAIN_EXAMPLES = 48  # 6 optimizer steps an epoch at the study's batch 2 x accumulation 4
STUDY_BATCH = {"PER_DEVICE_TRAIN_BATCH_SIZE": 2, "GRADIENT_ACCUMULATION_STEPS": 4}  # the paper's (the demo: 8 x 1)
EPOCHS = 2


def configure(monkeypatch, root, prepared_demo):
    """A small run: the first TRAIN_EXAMPLES demo training examples, EPOCHS epochs, in its own folders."""
    use_directories(monkeypatch, root / "prepared", root / "outputs")
    train = json.loads((prepared_demo / "spider_train.json").read_text())[:TRAIN_EXAMPLES]
    files.write_json(common.PATHS.spider_train, train)
    shutil.copy(prepared_demo / "spider_dev.json", common.PATHS.spider_dev)
    monkeypatch.setattr(common, "NUM_EPOCHS", EPOCHS)
    for name, value in STUDY_BATCH.items():
        monkeypatch.setattr(common, name, value)
    monkeypatch.setattr(common, "EVAL_EPOCHS", (1, 2))
    monkeypatch.setattr(common, "COMPUTE_DTYPE", "float16")  # a T4's path (autocast, gradient scaler) on the CPU


def read_manifest():
    return json.loads(common.PATHS.training_manifest.read_text())


@pytest.fixture(scope="module")
def trained_run(prepared_demo, tmp_path_factory):
    """One uninterrupted run, shared by the tests that only read it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        configure(monkeypatch, tmp_path_factory.mktemp("uninterrupted"), prepared_demo)
        finetune.main([])
        return {
            "paths": common.PATHS,
            "lora_dir": common.PATHS.lora,
            "manifest": read_manifest(),
            "losses": list(csv.DictReader(common.PATHS.loss_log.open())),
        }


def adapter_weights(checkpoint):
    from safetensors.torch import load_file

    return load_file(str(checkpoint / "adapter_model.safetensors"))


def assert_same_adapter(checkpoint, other):
    first, second = adapter_weights(checkpoint), adapter_weights(other)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name].dtype == torch.float32  # adapters stay float32, whatever TRL casts them to
        torch.testing.assert_close(first[name], second[name], atol=1e-4, rtol=1e-3)


@torch.inference_mode()
def answer_loss(llm, tokenizer, entries):
    """Mean loss on the answer tokens (the SQL and its end of turn) of entries, as training counts it."""
    losses = []
    for entry in entries:
        prompt = tokenizer(spider.render(tokenizer, spider.messages(entry)), add_special_tokens=False)["input_ids"]
        answer = tokenizer(entry["query"] + "<|im_end|>", add_special_tokens=False)["input_ids"]
        input_ids = torch.tensor([prompt + answer], device=llm.device)
        labels = torch.tensor([[-100] * len(prompt) + answer], device=llm.device)
        losses.append(llm(input_ids=input_ids, labels=labels).loss.item())
    return sum(losses) / len(losses)


def test_short_run_lowers_the_loss_and_saves_an_adapter_per_epoch(trained_run, prepared_demo):
    from peft import PeftModel

    losses = [float(entry["loss"]) for entry in trained_run["losses"]]
    assert len(losses) >= 3 and all(loss == loss for loss in losses)  # logged, and no NaN
    # Logged losses of a few batches are noisy; the answers it trained on, scored before and after, are not.
    config = common.model_config()
    tokenizer = model.load_tokenizer(config)
    train = json.loads((prepared_demo / "spider_train.json").read_text())[:TRAIN_EXAMPLES]
    adapter = trained_run["lora_dir"] / trained_run["manifest"]["epochs"][str(EPOCHS)]
    before = answer_loss(model.load_base_model(config), tokenizer, train)
    after = answer_loss(PeftModel.from_pretrained(model.load_base_model(config), adapter), tokenizer, train)
    assert after < before - 0.1, (before, after)
    manifest = trained_run["manifest"]
    assert set(manifest["epochs"]) == {"1", "2"}
    for folder in manifest["epochs"].values():
        checkpoint = trained_run["lora_dir"] / folder
        assert (checkpoint / "adapter_config.json").exists() and (checkpoint / "adapter_model.safetensors").exists()
    assert manifest["finished"] and manifest["train_examples"] == TRAIN_EXAMPLES and manifest["resumed_from"] is None
    assert manifest["overlap_with_evaluated"] == 0 and manifest["config"]["TRAIN_SPLIT"] == "train"
    assert manifest["config"].keys() == {*common.RUN_DEFINING_SETTINGS, "EFFECTIVE_BATCH_SIZE"}
    assert manifest["config"]["EFFECTIVE_BATCH_SIZE"] == 8 and manifest["processes"] == 1
    assert manifest["base_model"] == model.model_identity(config)
    assert manifest["tokens_per_second"] > 0 and manifest["peak_memory_gib"] > 0
    assert manifest["packages"]["transformers"] and manifest["config"]["LORA_R"] == common.LORA_R
    assert manifest["attn_implementation"] == config.attention == "sdpa"
    assert (trained_run["lora_dir"] / "loss_log.csv").read_text().startswith("step,epoch,loss,learning_rate,grad_norm")


def test_loss_falls_on_the_answer_only(prepared_demo, tmp_path):
    """Every prompt token is labelled -100; every answer token, its end-of-turn included, is not."""
    config, recipe = common.model_config(), common.training_config()
    tokenizer = model.load_tokenizer(config)
    entries = json.loads((prepared_demo / "spider_train.json").read_text())[:8]
    examples = [spider.training_example(entry) for entry in entries]
    examples, lengths, dropped = training.training_examples(tokenizer, examples, recipe.max_seq_length)
    assert dropped == 0
    lora = training.lora_model(model.load_base_model(config), recipe, config.name)
    arguments = training.training_arguments(recipe, tmp_path, model.torch_dtype(config.compute_dtype))
    trainer = training.build_trainer(lora, tokenizer, examples, lengths, arguments)
    for row, entry in zip(trainer.train_dataset, entries):
        batch = trainer.data_collator([{"input_ids": row["input_ids"], "labels": row["labels"]}])
        labels = batch["labels"][0].tolist()
        prompt = spider.render(tokenizer, spider.messages(entry))
        prompt_length = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        assert all(label == -100 for label in labels[:prompt_length])
        answer = [label for label in labels[prompt_length:] if label != -100]
        assert len(answer) == len(labels) - prompt_length
        assert tokenizer.decode(answer).startswith(entry["query"] + "<|im_end|>")


def test_over_long_examples_are_dropped_and_counted(prepared_demo):
    tokenizer = model.load_tokenizer(common.model_config())
    entries = json.loads((prepared_demo / "spider_train.json").read_text())[:8]
    examples = [spider.training_example(entry) for entry in entries]
    lengths = [training.sequence_length(tokenizer, example) for example in examples]
    kept, kept_lengths, dropped = training.training_examples(tokenizer, examples, sorted(lengths)[3])
    assert dropped == sum(length > sorted(lengths)[3] for length in lengths) and len(kept) + dropped == 8
    assert max(kept_lengths) <= sorted(lengths)[3]
    with pytest.raises(PipelineError, match=r"no training example fits MAX_SEQ_LENGTH=16; raise it"):
        training.training_examples(tokenizer, examples, 16)


def test_saved_adapter_reloads_on_the_4bit_base_and_changes_the_logits(trained_run):
    config = common.model_config()
    tokenizer = model.load_tokenizer(config)
    base = model.load_model(config)
    inputs = tokenizer(["SELECT count(*) FROM"], return_tensors="pt").to(base.device)
    assert type(base.model.layers[0].self_attn.q_proj).__name__ == "Linear4bit"
    adapted = model.load_model(config, training.adapter_path(trained_run["paths"], 2))
    with torch.no_grad():
        with adapted.disable_adapter():
            adapter_off = adapted(**inputs).logits
        adapted_logits = adapted(**inputs).logits
        bare = base(**inputs).logits
    assert torch.equal(bare, adapter_off)  # the adapter is the only difference
    assert not torch.allclose(bare, adapted_logits, atol=1e-3)


def test_stopped_and_resumed_run_ends_like_the_uninterrupted_one(
    trained_run, prepared_demo, tmp_path, monkeypatch, capsys
):
    configure(monkeypatch, tmp_path, prepared_demo)
    finetune.main(["--stop-after-epoch", "1"])
    assert read_manifest()["epochs"].keys() == {"1"} and not read_manifest()["finished"]
    finetune.main([])
    manifest = read_manifest()
    assert manifest["finished"] and manifest["global_step"] == trained_run["manifest"]["global_step"]
    assert manifest["resumed_from"] == manifest["epochs"]["1"]
    assert_same_adapter(common.PATHS.lora / manifest["epochs"]["2"], trained_run["lora_dir"] / manifest["epochs"]["2"])
    capsys.readouterr()
    finetune.main([])  # finished: reported, not redone
    assert "training already finished" in capsys.readouterr().out


def test_script_killed_after_its_first_epoch_resumes_to_the_same_adapters(trained_run, prepared_demo, tmp_path):
    """SIGKILL (no clean stop) once epoch 1's checkpoint is complete, run again: the uninterrupted run's adapters."""
    environment = demo_environment(tmp_path, MAX_TRAIN_EXAMPLES=str(TRAIN_EXAMPLES), NUM_EPOCHS=str(EPOCHS))
    environment.update(EVAL_EPOCHS="1,2", COMPUTE_DTYPE="float16", PREPARED_DIR=str(prepared_demo))
    environment.update({name: str(value) for name, value in STUDY_BATCH.items()})
    lora = tmp_path / "outputs" / "lora"
    killed_then_rerun(files.SCRIPTS[1], environment, lambda: any(lora.glob("checkpoint-*/trainer_state.json")))
    manifest = json.loads((lora / "run_manifest.json").read_text())
    assert manifest["finished"] and manifest["epochs"] == trained_run["manifest"]["epochs"] and manifest["resumed_from"]
    for folder in manifest["epochs"].values():
        assert_same_adapter(lora / folder, trained_run["lora_dir"] / folder)
    assert not list(lora.rglob(".*.tmp-*"))


@pytest.mark.parametrize("cut", ["before trainer_state.json", "while writing trainer_state.json"])
def test_checkpoint_cut_short_mid_save_is_not_resumed_from(trained_run, prepared_demo, tmp_path, monkeypatch, cut):
    """A kill during the save of epoch 2 leaves a folder without trainer_state.json (written last), or with it torn:
    resume from epoch 1 instead."""
    configure(monkeypatch, tmp_path, prepared_demo)
    shutil.copytree(trained_run["lora_dir"], common.PATHS.lora)
    last = common.PATHS.lora / trained_run["manifest"]["epochs"]["2"]
    state = last / "trainer_state.json"
    if cut.startswith("before"):
        state.unlink()
    else:
        state.write_text(state.read_text()[:40])
    (last / "optimizer.pt").unlink()
    files.write_json(common.PATHS.training_manifest, dict(read_manifest(), finished=False))
    finetune.main([])
    manifest = read_manifest()
    assert manifest["resumed_from"] == trained_run["manifest"]["epochs"]["1"] and manifest["finished"]
    assert_same_adapter(last, trained_run["lora_dir"] / trained_run["manifest"]["epochs"]["2"])


def test_damaged_checkpoints_and_adapters_are_one_line(trained_run, tmp_path, monkeypatch):
    use_directories(monkeypatch, tmp_path / "prepared", tmp_path / "outputs")
    shutil.copytree(trained_run["lora_dir"], common.PATHS.lora)
    paths, epochs = common.PATHS, trained_run["manifest"]["epochs"]
    with pytest.raises(PipelineError, match=r"no adapter for epoch 7 in .*run_manifest.json \(epochs done: 1, 2\)"):
        training.adapter_path(paths, 7)
    newest = paths.lora / epochs["2"]
    (newest / "optimizer.pt").write_bytes((newest / "optimizer.pt").read_bytes()[:100])
    with pytest.raises(PipelineError, match=r"is damaged \(optimizer.pt: .*delete that folder to resume"):
        training.last_complete_checkpoint(paths.lora)
    weights = paths.lora / epochs["1"] / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(PipelineError, match=r"adapter .* is damaged \(.*\); run 1_fine-tuning.py --fresh"):
        training.adapter_path(paths, 1)
    weights.unlink()
    with pytest.raises(PipelineError, match=r"damaged \(No such file .*adapter_model.safetensors\); run 1_fine-tuning"):
        training.adapter_path(paths, 1)
    config = newest / "adapter_config.json"
    config.write_text(json.dumps(dict(json.loads(config.read_text()), r="x")))
    with pytest.raises(PipelineError, match=r"adapter_config.json field 'r': .*run 1_fine-tuning.py --fresh"):
        training.adapter_path(paths, 2)
    oldest = paths.lora / trained_run["manifest"]["epochs"]["1"]
    (oldest / "trainer_state.json").write_text('{"epoch": ')
    with pytest.raises(PipelineError, match=r"its trainer_state.json is unreadable\); run 1_fine-tuning.py --fresh"):
        training.last_complete_checkpoint(paths.lora)


def test_changed_settings_refuse_to_resume_and_fresh_keeps_the_old_run(
    trained_run, prepared_demo, tmp_path, monkeypatch
):
    configure(monkeypatch, tmp_path, prepared_demo)
    shutil.copytree(trained_run["lora_dir"], common.PATHS.lora)
    monkeypatch.setattr(common, "LEARNING_RATE", 1e-3)
    with pytest.raises(PipelineError, match=r"made with LEARNING_RATE=.*run 1_fine-tuning.py --fresh"):
        finetune.main([])
    monkeypatch.setattr(common, "LEARNING_RATE", trained_run["manifest"]["config"]["LEARNING_RATE"])
    with monkeypatch.context() as rebuilt:
        rebuilt.setattr(model, "model_identity", lambda config: "outputs/cache/tiny-qwen2@sha256:rebuilt")
        with pytest.raises(PipelineError, match=r"made with base_model='outputs/cache/tiny-qwen2@sha256:"):
            finetune.main([])
    monkeypatch.setattr(common, "NUM_EPOCHS", 1)
    monkeypatch.setattr(common, "EVAL_EPOCHS", (1,))
    finetune.main(["--fresh"])
    kept = [path for path in common.PATHS.outputs.iterdir() if path.name.startswith("lora.previous-")]
    assert len(kept) == 1 and (kept[0] / "run_manifest.json").exists()
    assert read_manifest()["epochs"].keys() == {"1"} and read_manifest()["finished"]


def test_missing_prepared_data_names_the_step_to_run(isolated_run):
    with pytest.raises(PipelineError, match=r"spider_train.json is missing; run 0_preparando_dados.py first"):
        finetune.main([])


def test_lora_targets_the_model_lacks_are_one_line():
    base = torch.nn.Sequential()
    base.add_module("q_proj", torch.nn.Linear(2, 2))
    base.add_module("c_attn", torch.nn.Linear(2, 2))
    recipe = replace(common.training_config(), lora_target_modules=("q_proj", "k_proj", "v_proj"))
    with pytest.raises(PipelineError, match=r"LORA_TARGET_MODULES names k_proj, v_proj, which gpt2 does not"):
        training.lora_model(base, recipe, "gpt2")


def test_non_finite_loss_stops_training_with_the_setting_to_change():
    guard = training.training_guard(torch.float16, stop_after_epoch=2)
    state = SimpleNamespace(global_step=7, epoch=0.5)
    guard.on_log(None, state, None, logs={"loss": 1.25})  # finite: nothing happens
    with pytest.raises(PipelineError, match=r"non-finite training loss at step 7 .*float16.*COMPUTE_DTYPE=float32"):
        guard.on_log(None, state, None, logs={"loss": float("nan")})
    weights = torch.nn.Linear(2, 2)
    guard.on_step_end(None, state, None, model=weights)
    weights.weight.data[0, 0] = float("inf")
    with pytest.raises(PipelineError, match=r"non-finite LoRA weights after step 7"):
        guard.on_step_end(None, state, None, model=weights)
    control = SimpleNamespace(should_training_stop=False)
    guard.on_epoch_end(None, SimpleNamespace(epoch=1.0), control)
    assert not control.should_training_stop
    guard.on_epoch_end(None, SimpleNamespace(epoch=2.0), control)
    assert control.should_training_stop


def test_training_on_dev_as_the_study_did_records_the_leakage(prepared_demo, isolated_run, monkeypatch):
    shutil.copytree(prepared_demo, common.PATHS.prepared)
    _, overlap, evaluated = finetune.training_entries()
    assert overlap == 0 and evaluated == common.EVALUATION_ENTRIES_SIZE
    monkeypatch.setattr(common, "TRAIN_SPLIT", "dev")
    _, overlap, evaluated = finetune.training_entries()
    assert overlap == evaluated == common.EVALUATION_ENTRIES_SIZE  # every evaluated question was trained on
