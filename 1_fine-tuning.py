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
import json
import time

import prompts
import records
import spider
import torch

import checkpoints
import common
import modeling


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fresh", action="store_true", help="start over (the previous run folder is renamed)")
    parser.add_argument("--stop-after-epoch", type=int, default=None, help="stop after this epoch; re-run resumes")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------------------------
# Data


def sequence_length(tokenizer, example):
    text = tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=False)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def training_examples(tokenizer, entries):
    """Prompt/completion pairs; those over MAX_SEQ_LENGTH are dropped and counted, never cut inside the answer."""
    examples, lengths, dropped = [], [], 0
    for entry in entries:
        example = prompts.spider_training_example(entry)
        length = sequence_length(tokenizer, example)
        if length > common.MAX_SEQ_LENGTH:
            dropped += 1
            continue
        examples.append(example)
        lengths.append(length)
    if not examples:
        raise common.PipelineError(f"no training example fits MAX_SEQ_LENGTH={common.MAX_SEQ_LENGTH}; raise it")
    return examples, lengths, dropped


# ---------------------------------------------------------------------------------------------------------------
# Model and trainer


def lora_model(base_model):
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    modeling.check_lora_targets(base_model, common.LORA_TARGET_MODULES)
    model = prepare_model_for_kbit_training(base_model, use_gradient_checkpointing=common.GRADIENT_CHECKPOINTING)
    config = LoraConfig(
        r=common.LORA_R,
        lora_alpha=common.LORA_ALPHA,
        lora_dropout=common.LORA_DROPOUT,
        target_modules=list(common.LORA_TARGET_MODULES),
        bias=common.LORA_BIAS,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def training_arguments():
    """Figure 6, in transformers 5 / TRL names (group_by_length is now a sampling strategy, warmup a ratio float)."""
    from trl import SFTConfig

    dtype = modeling.compute_dtype()
    return SFTConfig(
        output_dir=str(common.PATHS.lora),
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


def build_trainer(model, tokenizer, examples, lengths, stop_after_epoch=None):
    from datasets import Dataset
    from trl import SFTTrainer

    dataset = Dataset.from_list(examples).add_column("length", lengths)
    trainer = SFTTrainer(
        model=model,
        args=training_arguments(),
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[modeling.training_guard(stop_after_epoch)],
    )
    # TRL casts QLoRA adapter weights to bfloat16; keep them float32 as in the study (PEFT's default), which a T4
    # (no bfloat16) needs and which a resumed run reloads anyway, so that resumed and uninterrupted runs agree.
    for parameter in trainer.model.parameters():
        if parameter.requires_grad:
            parameter.data = parameter.data.float()
    return trainer


# ---------------------------------------------------------------------------------------------------------------
# The run


def main(argv=None):
    args = parse_arguments(argv)
    if args.fresh:
        checkpoints.move_previous_run_aside()
    manifest = checkpoints.read_manifest()
    settings = checkpoints.run_settings(modeling.model_identity())
    checkpoints.check_resumable(manifest, settings)
    if manifest and manifest.get("finished"):
        print(
            f"training already finished: {json.dumps(manifest['epochs'])} in {common.PATHS.lora} "
            f"(use --fresh to train again)"
        )
        return

    modeling.seed_everything()
    entries = spider.training_entries()
    overlap, evaluated = spider.evaluated_overlap(entries)
    if overlap:
        print(
            f"LEAKAGE: {overlap} of the {evaluated} evaluated dev questions are training examples "
            f"(TRAIN_SPLIT={common.TRAIN_SPLIT})"
        )
    tokenizer = modeling.load_tokenizer()
    examples, lengths, dropped = training_examples(tokenizer, entries)
    print(
        f"training on {len(examples)} examples of TRAIN_SPLIT={common.TRAIN_SPLIT}"
        + (f" ({dropped} longer than MAX_SEQ_LENGTH={common.MAX_SEQ_LENGTH} dropped)" if dropped else "")
    )

    resume_from = checkpoints.last_complete_checkpoint()
    manifest = checkpoints.start_manifest(settings, len(examples), dropped, overlap, evaluated, resume_from)

    trainer = build_trainer(lora_model(modeling.load_base_model()), tokenizer, examples, lengths, args.stop_after_epoch)
    start_epoch = checkpoints.checkpoint_epoch(resume_from) if resume_from else 0
    if resume_from:
        print(f"resuming from {resume_from} (epoch {start_epoch})")
    started = time.time()
    result = trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.time() - started

    checkpoints.write_loss_log(trainer.state.log_history)
    tokens_trained = sum(lengths) * (trainer.state.epoch - start_epoch)  # this invocation's share of the run
    manifest = checkpoints.finish_manifest(manifest, trainer.state, result.training_loss, seconds, tokens_trained)
    print(
        f"epochs saved: {json.dumps(manifest['epochs'])}; {trainer.state.global_step} steps in {seconds:.0f} s; "
        f"peak memory {manifest['peak_memory_gib']} GiB"
    )


if __name__ == "__main__":
    records.run_main(main, lock_folder=common.PATHS.outputs)
