"""Step 1: QLoRA fine-tuning on Spider, the study's recipe (Figures 4-6), one adapter per epoch, resumable.

Trains on TRAIN_SPLIT ("train": train_spider + train_others; "dev" reproduces the study, which then evaluates on
its own training questions: the overlap is recorded and every later report warns of it). The loss falls on the
answer only. Re-running after an interruption resumes from the last epoch checkpoint with optimizer, scheduler and
RNG state; a finished run is reported, not redone; --fresh starts over, keeping the old run beside it.

    python 1_fine-tuning.py                      # train, or resume
    python 1_fine-tuning.py --stop-after-epoch 2 # stop early (e.g. before a Colab session ends); re-run resumes
    python 1_fine-tuning.py --fresh              # start over; the previous run is renamed, not deleted
    accelerate launch 1_fine-tuning.py           # several GPUs (DDP), same code
"""
import argparse
import csv
import io
import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

import common

# The settings that define a training run: a checkpoint made under others cannot be resumed under these.
RUN_DEFINING_SETTINGS = (
    "SEED", "MODEL_NAME", "TRAIN_SPLIT", "LOAD_IN_4BIT", "BNB_4BIT_QUANT_TYPE", "BNB_4BIT_USE_DOUBLE_QUANT",
    "COMPUTE_DTYPE", "LORA_R", "LORA_ALPHA", "LORA_DROPOUT", "LORA_TARGET_MODULES", "LORA_BIAS", "NUM_EPOCHS",
    "PER_DEVICE_TRAIN_BATCH_SIZE", "GRADIENT_ACCUMULATION_STEPS", "LEARNING_RATE", "LR_SCHEDULER_TYPE",
    "WARMUP_RATIO", "OPTIM", "MAX_GRAD_NORM", "GROUP_BY_LENGTH", "MAX_SEQ_LENGTH")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fresh", action="store_true", help="start over (the previous run folder is renamed)")
    parser.add_argument("--stop-after-epoch", type=int, default=None, help="stop after this epoch; re-run resumes")
    return parser.parse_args(argv)


def run_settings():
    import modeling

    config = common.resolved_config()
    return dict({name: config[name] for name in RUN_DEFINING_SETTINGS}, base_model=modeling.model_identity())


# ---------------------------------------------------------------------------------------------------------------
# Data

def training_entries():
    source = common.SPIDER_TRAIN_FILE if common.TRAIN_SPLIT == "train" else common.SPIDER_DEV_FILE
    return common.read_json(source, produced_by="0_preparando_dados.py")


def evaluated_overlap(train_entries):
    """How many of the evaluated dev questions (the first EVALUATION_ENTRIES_SIZE) are also training examples."""
    dev = common.read_json(common.SPIDER_DEV_FILE, produced_by="0_preparando_dados.py")
    evaluated = dev[:common.EVALUATION_ENTRIES_SIZE]
    trained = {(entry["db_id"], entry["question"], entry["query"]) for entry in train_entries}
    return sum((entry["db_id"], entry["question"], entry["query"]) in trained for entry in evaluated), len(evaluated)


def sequence_length(tokenizer, example):
    text = tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=False)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def training_examples(tokenizer, entries):
    """Prompt/completion pairs; those over MAX_SEQ_LENGTH are dropped and counted, never cut inside the answer."""
    examples, lengths, dropped = [], [], 0
    for entry in entries:
        example = common.spider_training_example(entry)
        length = sequence_length(tokenizer, example)
        if length > common.MAX_SEQ_LENGTH:
            dropped += 1
            continue
        examples.append(example)
        lengths.append(length)
    return examples, lengths, dropped


# ---------------------------------------------------------------------------------------------------------------
# Model and trainer

def lora_model(base_model):
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    import modeling

    modeling.check_lora_targets(base_model, common.LORA_TARGET_MODULES)
    model = prepare_model_for_kbit_training(base_model, use_gradient_checkpointing=common.GRADIENT_CHECKPOINTING)
    config = LoraConfig(r=common.LORA_R, lora_alpha=common.LORA_ALPHA, lora_dropout=common.LORA_DROPOUT,
                        target_modules=list(common.LORA_TARGET_MODULES), bias=common.LORA_BIAS, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def training_arguments():
    """Figure 6, in transformers 5 / TRL names (group_by_length is now a sampling strategy, warmup a ratio float)."""
    import torch
    from trl import SFTConfig

    import modeling

    dtype = modeling.compute_dtype()
    return SFTConfig(
        output_dir=str(common.LORA_DIR),
        per_device_train_batch_size=common.PER_DEVICE_TRAIN_BATCH_SIZE,
        gradient_accumulation_steps=common.GRADIENT_ACCUMULATION_STEPS,
        num_train_epochs=common.NUM_EPOCHS,
        learning_rate=common.LEARNING_RATE,
        lr_scheduler_type=common.LR_SCHEDULER_TYPE,
        warmup_steps=common.WARMUP_RATIO,  # a float below 1 is a ratio of the total steps
        optim=common.OPTIM,
        max_grad_norm=common.MAX_GRAD_NORM,
        fp16=dtype == torch.float16,
        bf16=dtype == torch.bfloat16,
        train_sampling_strategy="group_by_length" if common.GROUP_BY_LENGTH else "random",
        gradient_checkpointing=common.GRADIENT_CHECKPOINTING,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        save_strategy="epoch",
        eval_strategy="no",
        logging_strategy="steps",
        logging_steps=common.LOGGING_STEPS,
        logging_first_step=True,
        logging_nan_inf_filter=False,  # a NaN loss must reach the guard, not be filtered out of the logs
        report_to="none",
        seed=common.SEED,
        data_seed=common.SEED,
        use_cpu=not torch.cuda.is_available(),
        max_length=None,  # over-long examples were dropped; nothing is truncated
        completion_only_loss=True,
        packing=False,
        disable_tqdm=False,
    )


def guard_callbacks(stop_after_epoch):
    """The non-finite guard on every logged loss and on the trainable weights after each step, and the early stop."""
    import torch
    from transformers import TrainerCallback

    import modeling

    class TrainingGuard(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                modeling.check_finite(logs["loss"], f"training loss at step {state.global_step}")

        def on_step_end(self, args, state, control, model=None, **kwargs):
            # Before the save of this step: a corrupted adapter never becomes a checkpoint.
            weights = [p for p in model.parameters() if p.requires_grad]
            if not all(torch.isfinite(p).all() for p in weights):
                modeling.check_finite(float("nan"), f"LoRA weights after step {state.global_step}")

        def on_epoch_end(self, args, state, control, **kwargs):
            if stop_after_epoch is not None and round(state.epoch) >= stop_after_epoch:
                control.should_training_stop = True

    return [TrainingGuard()]


def build_trainer(model, tokenizer, examples, lengths, stop_after_epoch=None):
    from datasets import Dataset
    from trl import SFTTrainer

    dataset = Dataset.from_list(examples).add_column("length", lengths)
    trainer = SFTTrainer(model=model, args=training_arguments(), train_dataset=dataset, processing_class=tokenizer,
                         callbacks=guard_callbacks(stop_after_epoch))
    # TRL casts QLoRA adapter weights to bfloat16; keep them float32 as in the study (PEFT's default), which a T4
    # (no bfloat16) needs and which a resumed run reloads anyway, so that resumed and uninterrupted runs agree.
    for parameter in trainer.model.parameters():
        if parameter.requires_grad:
            parameter.data = parameter.data.float()
    return trainer


# ---------------------------------------------------------------------------------------------------------------
# Run bookkeeping: epoch index, loss log, manifest

def epoch_checkpoints():
    """{epoch: checkpoint folder name} from each checkpoint's trainer_state.json."""
    epochs = {}
    for folder in common.LORA_DIR.glob("checkpoint-*"):
        if (folder / "trainer_state.json").exists() and (folder / "adapter_config.json").exists():
            epochs[str(checkpoint_epoch(folder))] = folder.name
    return dict(sorted(epochs.items(), key=lambda item: int(item[0])))


def write_loss_log(log_history):
    rows = [{"step": entry["step"], "epoch": entry.get("epoch"), "loss": entry["loss"],
             "learning_rate": entry.get("learning_rate"), "grad_norm": entry.get("grad_norm")}
            for entry in log_history if "loss" in entry]
    common.write_json(common.LORA_DIR / "loss_log.json", rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["step", "epoch", "loss", "learning_rate", "grad_norm"])
    writer.writeheader()
    writer.writerows(rows)
    common.write_text(common.LORA_DIR / "loss_log.csv", buffer.getvalue())


def package_versions():
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets", "deepeval"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=common.PROJECT_DIR, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def device_description():
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def checkpoint_epoch(folder):
    state = json.loads((Path(folder) / "trainer_state.json").read_text(encoding="utf-8"))
    return round(state["epoch"])


def last_complete_checkpoint():
    """The newest checkpoint whose save finished (trainer_state.json is written last); a checkpoint cut short by a
    kill mid-save is removed, since resuming from it would silently lose optimizer or RNG state."""
    complete = []
    for folder in sorted(common.LORA_DIR.glob("checkpoint-*")):
        if (folder / "trainer_state.json").exists():
            complete.append(folder)
        else:
            print(f"removing {folder.name}: its save was interrupted")
            shutil.rmtree(folder)
    return str(max(complete, key=lambda folder: int(folder.name.split("-")[1]))) if complete else None


def read_manifest():
    if not common.TRAINING_MANIFEST.exists():
        return None
    return common.read_json(common.TRAINING_MANIFEST, produced_by="1_fine-tuning.py --fresh")


def check_resumable(manifest):
    """A checkpoint folder made under other settings must not be silently continued or reported."""
    if manifest is None:
        return
    changed = {name: (manifest["settings"].get(name), value) for name, value in run_settings().items()
               if manifest["settings"].get(name) != (list(value) if isinstance(value, tuple) else value)}
    if changed:
        name, (old, new) = next(iter(changed.items()))
        raise common.PipelineError(f"{common.LORA_DIR} holds a run made with {name}={old!r} (now {new!r}); run "
                                   f"1_fine-tuning.py --fresh to start over (the old run is kept beside it)")


def move_previous_run_aside():
    if common.LORA_DIR.exists():
        kept = common.LORA_DIR.with_name(f"lora.previous-{time.strftime('%Y%m%d-%H%M%S')}")
        common.LORA_DIR.rename(kept)
        print(f"previous run kept at {kept}")


def main(argv=None):
    args = parse_arguments(argv)
    if args.fresh:
        move_previous_run_aside()
    manifest = read_manifest()
    check_resumable(manifest)
    if manifest and manifest.get("finished"):
        print(f"training already finished: {json.dumps(manifest['epochs'])} in {common.LORA_DIR} "
              f"(use --fresh to train again)")
        return

    import modeling

    common.seed_everything()
    entries = training_entries()
    overlap, evaluated = evaluated_overlap(entries)
    if overlap:
        print(f"LEAKAGE: {overlap} of the {evaluated} evaluated dev questions are training examples "
              f"(TRAIN_SPLIT={common.TRAIN_SPLIT})")
    tokenizer = modeling.load_tokenizer()
    examples, lengths, dropped = training_examples(tokenizer, entries)
    if not examples:
        raise common.PipelineError(f"no training example fits MAX_SEQ_LENGTH={common.MAX_SEQ_LENGTH}; raise it")
    print(f"training on {len(examples)} examples of TRAIN_SPLIT={common.TRAIN_SPLIT}"
          + (f" ({dropped} longer than MAX_SEQ_LENGTH={common.MAX_SEQ_LENGTH} dropped)" if dropped else ""))

    resume_from = last_complete_checkpoint()
    manifest = {"profile": common.PROFILE, "settings": run_settings(), "config": common.resolved_config(),
                "train_split": common.TRAIN_SPLIT, "train_examples": len(examples), "dropped_too_long": dropped,
                "overlap_with_evaluated": overlap, "evaluated_questions": evaluated, "finished": False,
                "epochs": epoch_checkpoints(), "packages": package_versions(), "git_commit": git_commit(),
                "device": device_description(), "resumed_from": resume_from and os.path.basename(resume_from)}
    common.write_json(common.TRAINING_MANIFEST, manifest)

    trainer = build_trainer(lora_model(modeling.load_base_model()), tokenizer, examples, lengths,
                            args.stop_after_epoch)
    start_epoch = checkpoint_epoch(resume_from) if resume_from else 0
    if resume_from:
        print(f"resuming from {resume_from} (epoch {start_epoch})")
    started = time.time()
    result = trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.time() - started

    epochs = epoch_checkpoints()
    common.write_json(common.LORA_INDEX_FILE, {"epochs": epochs, "num_epochs": common.NUM_EPOCHS})
    write_loss_log(trainer.state.log_history)
    tokens_trained = sum(lengths) * (trainer.state.epoch - start_epoch)  # this invocation's share of the run
    manifest.update(
        finished=str(common.NUM_EPOCHS) in epochs, epochs=epochs, global_step=trainer.state.global_step,
        wall_seconds=round(seconds, 1), tokens_per_second=round(tokens_trained / seconds, 1),
        train_loss=result.training_loss, peak_memory_gib=round(modeling.peak_memory_gib(), 3))
    common.write_json(common.TRAINING_MANIFEST, manifest)
    print(f"epochs saved: {json.dumps(epochs)}; {trainer.state.global_step} steps in {seconds:.0f} s; "
          f"peak memory {manifest['peak_memory_gib']} GiB")


if __name__ == "__main__":
    common.run_main(main)
