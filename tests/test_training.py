"""1_fine-tuning.py with the tiny model on demo data: learning, labels, adapters, resumption."""

import csv
import json
import shutil

import prompts
import pytest
import records
import spider
import torch

import common
from conftest import load_script, use_directories

finetune = load_script("1_fine-tuning.py")
TRAIN_EXAMPLES = 48  # 6 optimizer steps an epoch at the study's batch 2 x accumulation 4
EPOCHS = 2


def configure(monkeypatch, root, prepared_demo):
    """A small run: the first TRAIN_EXAMPLES demo training examples, EPOCHS epochs, in its own folders."""
    use_directories(monkeypatch, root / "prepared", root / "outputs")
    common.PATHS.prepared.mkdir(parents=True)
    train = json.loads((prepared_demo / "spider_train.json").read_text())[:TRAIN_EXAMPLES]
    records.write_json(common.PATHS.spider_train, train)
    shutil.copy(prepared_demo / "spider_dev.json", common.PATHS.spider_dev)
    monkeypatch.setattr(common, "NUM_EPOCHS", EPOCHS)
    monkeypatch.setattr(common, "EVAL_EPOCHS", (1, 2))


@pytest.fixture(scope="module")
def trained_run(prepared_demo, tmp_path_factory):
    """One uninterrupted run, shared by the tests that only read it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        configure(monkeypatch, tmp_path_factory.mktemp("uninterrupted"), prepared_demo)
        finetune.main([])
        run = {
            "lora_dir": common.PATHS.lora,
            "index": json.loads(common.PATHS.training_manifest.read_text()),
            "manifest": json.loads(common.PATHS.training_manifest.read_text()),
            "losses": list(csv.DictReader(common.PATHS.loss_log.open())),
        }
    return run


def adapter_weights(checkpoint):
    from safetensors.torch import load_file

    return load_file(str(checkpoint / "adapter_model.safetensors"))


@torch.inference_mode()
def answer_loss(model, tokenizer, entries):
    """Mean loss on the answer tokens (the SQL and its end of turn) of entries, as training counts it."""
    losses = []
    for entry in entries:
        prompt = tokenizer(prompts.render_prompt(tokenizer, prompts.spider_messages(entry)), add_special_tokens=False)[
            "input_ids"
        ]
        answer = tokenizer(entry["query"] + "<|im_end|>", add_special_tokens=False)["input_ids"]
        input_ids = torch.tensor([prompt + answer])
        labels = torch.tensor([[-100] * len(prompt) + answer])
        losses.append(model(input_ids=input_ids, labels=labels).loss.item())
    return sum(losses) / len(losses)


def test_short_run_lowers_the_loss_and_saves_an_adapter_per_epoch(trained_run, prepared_demo):
    from peft import PeftModel

    import modeling

    losses = [float(entry["loss"]) for entry in trained_run["losses"]]
    assert len(losses) >= 3 and all(loss == loss for loss in losses)  # logged, and no NaN
    # Logged losses of a few batches are noisy; the answers it trained on, scored before and after, are not.
    tokenizer = modeling.load_tokenizer()
    train = json.loads((prepared_demo / "spider_train.json").read_text())[:TRAIN_EXAMPLES]
    adapter = trained_run["lora_dir"] / trained_run["index"]["epochs"][str(EPOCHS)]
    before = answer_loss(modeling.load_base_model(), tokenizer, train)
    after = answer_loss(PeftModel.from_pretrained(modeling.load_base_model(), adapter), tokenizer, train)
    assert after < before - 0.1, (before, after)
    assert set(trained_run["index"]["epochs"]) == {"1", "2"}
    for folder in trained_run["index"]["epochs"].values():
        checkpoint = trained_run["lora_dir"] / folder
        assert (checkpoint / "adapter_config.json").exists() and (checkpoint / "adapter_model.safetensors").exists()
    manifest = trained_run["manifest"]
    assert manifest["finished"] and manifest["train_examples"] == TRAIN_EXAMPLES
    assert manifest["overlap_with_evaluated"] == 0 and manifest["config"]["TRAIN_SPLIT"] == "train"
    assert manifest["tokens_per_second"] > 0 and manifest["peak_memory_gib"] > 0
    assert manifest["packages"]["transformers"] and manifest["config"]["LORA_R"] == common.LORA_R
    assert (trained_run["lora_dir"] / "loss_log.csv").read_text().startswith("step,epoch,loss")


def test_loss_falls_on_the_answer_only(prepared_demo):
    """Every prompt token is labelled -100; every answer token, its end-of-turn included, is not."""
    import modeling

    tokenizer = modeling.load_tokenizer()
    entries = json.loads((prepared_demo / "spider_train.json").read_text())[:8]
    examples, lengths, _ = finetune.training_examples(tokenizer, entries)
    model = finetune.lora_model(modeling.load_base_model())
    trainer = finetune.build_trainer(model, tokenizer, examples, lengths)
    collator = trainer.data_collator
    for row, entry in zip(trainer.train_dataset, entries):
        batch = collator([{"input_ids": row["input_ids"], "labels": row["labels"]}])
        labels = batch["labels"][0].tolist()
        prompt_length = len(
            tokenizer(prompts.render_prompt(tokenizer, prompts.spider_messages(entry)), add_special_tokens=False)[
                "input_ids"
            ]
        )
        assert all(label == -100 for label in labels[:prompt_length])
        answer = [label for label in labels[prompt_length:] if label != -100]
        assert len(answer) == len(labels) - prompt_length
        assert tokenizer.decode(answer).startswith(entry["query"] + "<|im_end|>")


def test_saved_adapter_reloads_on_the_4bit_base_and_changes_the_logits(trained_run, monkeypatch):
    import modeling

    use_directories(monkeypatch, trained_run["lora_dir"].parent.parent / "prepared", trained_run["lora_dir"].parent)
    tokenizer = modeling.load_tokenizer()
    inputs = tokenizer(["SELECT count(*) FROM"], return_tensors="pt")
    base = modeling.load_model()
    assert type(base.model.layers[0].self_attn.q_proj).__name__ == "Linear4bit"
    adapted = modeling.load_model(epoch=2)
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
    assert json.loads(common.PATHS.training_manifest.read_text())["epochs"].keys() == {"1"}
    assert not json.loads(common.PATHS.training_manifest.read_text())["finished"]
    finetune.main([])
    manifest = json.loads(common.PATHS.training_manifest.read_text())
    assert manifest["finished"] and manifest["global_step"] == trained_run["manifest"]["global_step"]
    assert manifest["resumed_from"] == json.loads(common.PATHS.training_manifest.read_text())["epochs"]["1"]
    resumed = adapter_weights(common.PATHS.lora / manifest["epochs"]["2"])
    uninterrupted = adapter_weights(trained_run["lora_dir"] / trained_run["index"]["epochs"]["2"])
    assert resumed.keys() == uninterrupted.keys()
    for name in resumed:
        torch.testing.assert_close(resumed[name], uninterrupted[name], atol=1e-4, rtol=1e-3)
    capsys.readouterr()
    finetune.main([])  # finished: reported, not redone
    assert "training already finished" in capsys.readouterr().out


def test_checkpoint_cut_short_mid_save_is_not_resumed_from(trained_run, prepared_demo, tmp_path, monkeypatch):
    """A kill during the save of epoch 2 leaves a folder without trainer_state.json: resume from epoch 1 instead."""
    configure(monkeypatch, tmp_path, prepared_demo)
    shutil.copytree(trained_run["lora_dir"], common.PATHS.lora)
    last = common.PATHS.lora / trained_run["index"]["epochs"]["2"]
    (last / "trainer_state.json").unlink()
    (last / "optimizer.pt").unlink()
    manifest = json.loads(common.PATHS.training_manifest.read_text())
    records.write_json(common.PATHS.training_manifest, dict(manifest, finished=False))
    finetune.main([])
    manifest = json.loads(common.PATHS.training_manifest.read_text())
    assert manifest["resumed_from"] == trained_run["index"]["epochs"]["1"] and manifest["finished"]
    resumed = adapter_weights(last)
    uninterrupted = adapter_weights(trained_run["lora_dir"] / trained_run["index"]["epochs"]["2"])
    for name in resumed:
        torch.testing.assert_close(resumed[name], uninterrupted[name], atol=1e-4, rtol=1e-3)


def test_changed_settings_refuse_to_resume_and_fresh_keeps_the_old_run(
    trained_run, prepared_demo, tmp_path, monkeypatch
):
    configure(monkeypatch, tmp_path, prepared_demo)
    shutil.copytree(trained_run["lora_dir"], common.PATHS.lora)
    monkeypatch.setattr(common, "LEARNING_RATE", 1e-3)
    with pytest.raises(common.PipelineError, match=r"made with LEARNING_RATE=.*run 1_fine-tuning.py --fresh"):
        finetune.main([])
    monkeypatch.setattr(common, "LEARNING_RATE", trained_run["manifest"]["config"]["LEARNING_RATE"])
    import modeling

    real_identity = modeling.model_identity
    monkeypatch.setattr(modeling, "model_identity", lambda: "outputs/cache/tiny-qwen2@sha256:rebuilt")
    with pytest.raises(common.PipelineError, match=r"made with base_model='outputs/cache/tiny-qwen2@sha256:"):
        finetune.main([])
    monkeypatch.setattr(modeling, "model_identity", real_identity)
    monkeypatch.setattr(common, "NUM_EPOCHS", 1)
    monkeypatch.setattr(common, "EVAL_EPOCHS", (1,))
    finetune.main(["--fresh"])
    kept = [path for path in common.PATHS.outputs.iterdir() if path.name.startswith("lora.previous-")]
    assert len(kept) == 1 and (kept[0] / "run_manifest.json").exists()
    assert json.loads(common.PATHS.training_manifest.read_text())["epochs"].keys() == {"1"}


def test_missing_prepared_data_names_the_step_to_run(isolated_run):
    with pytest.raises(common.PipelineError, match=r"spider_train.json is missing; run 0_preparando_dados.py"):
        finetune.main([])


def test_non_finite_loss_stops_training_with_the_setting_to_change():
    from types import SimpleNamespace

    import modeling

    guard = modeling.training_guard(stop_after_epoch=None)
    state = SimpleNamespace(global_step=7, epoch=0.5)
    guard.on_log(None, state, None, logs={"loss": 1.25})  # finite: nothing happens
    with pytest.raises(common.PipelineError, match=r"non-finite training loss at step 7.*COMPUTE_DTYPE=float32"):
        guard.on_log(None, state, None, logs={"loss": float("nan")})
    model = torch.nn.Linear(2, 2)
    guard.on_step_end(None, state, None, model=model)
    model.weight.data[0, 0] = float("inf")
    with pytest.raises(common.PipelineError, match=r"non-finite LoRA weights after step 7"):
        guard.on_step_end(None, state, None, model=model)


def test_training_on_dev_as_the_study_did_records_the_leakage(prepared_demo, isolated_run, monkeypatch):
    shutil.copytree(prepared_demo, common.PATHS.prepared)
    overlap, evaluated = spider.evaluated_overlap(spider.training_entries())
    assert overlap == 0 and evaluated == common.EVALUATION_ENTRIES_SIZE
    monkeypatch.setattr(common, "TRAIN_SPLIT", "dev")
    overlap, evaluated = spider.evaluated_overlap(spider.training_entries())
    assert overlap == evaluated == common.EVALUATION_ENTRIES_SIZE  # every evaluated question was trained on
