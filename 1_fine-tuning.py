"""Step 1: QLoRA fine-tuning on Spider, the study's recipe (Figures 4-6), one adapter per epoch, resumable.

Trains on TRAIN_SPLIT ("train": train_spider + train_others; "dev" reproduces the study, which then evaluates on
its own training questions: the overlap is recorded and every later report warns of it). The loss falls on the
answer only. Re-running after an interruption resumes from the last epoch checkpoint with optimizer, scheduler and
RNG state; a finished run is reported, not redone; --fresh starts over, keeping the old run beside it.

    python 1_fine-tuning.py                      # train, or resume
    python 1_fine-tuning.py --stop-after-epoch 2 # stop early (e.g. before a Colab session ends); re-run resumes
    python 1_fine-tuning.py --fresh              # start over; the previous run is renamed, not deleted
    GRADIENT_ACCUMULATION_STEPS=1 accelerate launch --multi_gpu --num_processes 4 1_fine-tuning.py
                                                 # 4 GPUs (DDP), the same effective batch of 8 (README)
"""

import argparse
import functools
import json
import time

import common
from tradeoff import files, model, spider, training

PATHS = common.PATHS


def training_entries():
    """TRAIN_SPLIT's prepared entries (the first MAX_TRAIN_EXAMPLES if set), and how many of the evaluated dev
    questions are among them, of how many."""
    read = functools.partial(files.read_json, made_by=files.SCRIPTS[0])
    train = read(PATHS.spider_train if common.TRAIN_SPLIT == "train" else PATHS.spider_dev)
    train = train[: common.MAX_TRAIN_EXAMPLES or None]
    evaluated = read(PATHS.spider_dev)[: common.EVALUATION_ENTRIES_SIZE]
    return train, spider.evaluated_overlap(train, evaluated), len(evaluated)


def prepare_run(args, model_config, config):
    """The manifest, tokenizer, examples, their lengths and the checkpoint to resume from; None if training is done."""
    if args.fresh and files.is_main_process() and PATHS.lora.exists():
        kept = PATHS.lora.rename(PATHS.lora.with_name(f"{files.PREVIOUS_RUN}{time.strftime('%Y%m%d-%H%M%S')}"))
        print(f"previous run kept at {kept}")
    processes = files.process_count()
    # A run made otherwise is not resumed: the settings as its manifest's JSON gives them back (tuples as lists).
    settings = json.loads(json.dumps({name: getattr(common, name) for name in common.RUN_DEFINING_SETTINGS}))
    # Per device x accumulation x processes: the accumulation may change with the number of processes, this may not.
    per_process_batch = config.per_device_train_batch_size * config.gradient_accumulation_steps
    settings["EFFECTIVE_BATCH_SIZE"] = per_process_batch * processes
    base_model = model.model_identity(model_config)
    if manifest := training.read_manifest(PATHS):
        training.check_resumable(PATHS, manifest, settings, base_model)
        if manifest["finished"]:
            print(f"training already finished: {json.dumps(manifest['epochs'])} in {PATHS.lora}; {files.FRESH_HINT}")
            return None

    model.seed_everything(config.seed)
    entries, overlap, evaluated = training_entries()
    if overlap:
        print(
            f"LEAKAGE: {overlap} of the {evaluated} evaluated dev questions are training examples "
            f"(TRAIN_SPLIT={common.TRAIN_SPLIT})"
        )
    tokenizer = model.load_tokenizer(model_config)
    examples, lengths, dropped = training.training_examples(
        tokenizer, [spider.training_example(entry) for entry in entries], config.max_seq_length
    )
    print(
        f"training on {len(examples)} examples of TRAIN_SPLIT={common.TRAIN_SPLIT}"
        + (f" ({dropped} longer than MAX_SEQ_LENGTH={config.max_seq_length} dropped)" if dropped else "")
        + f"; effective batch {settings['EFFECTIVE_BATCH_SIZE']} = {config.per_device_train_batch_size} per device x "
        f"{config.gradient_accumulation_steps} accumulated x {processes} process(es)"
    )

    resume_from = training.last_complete_checkpoint(PATHS.lora)
    manifest = {
        "config": settings,
        "base_model": base_model,
        "train_examples": len(examples),
        "dropped_too_long": dropped,
        "overlap_with_evaluated": overlap,
        "evaluated_questions": evaluated,
        **training.environment(),
        "processes": processes,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "attn_implementation": model_config.attention,
        "resumed_from": resume_from and resume_from.name,
    }
    return training.write_manifest(PATHS, manifest, config.num_epochs), tokenizer, examples, lengths, resume_from


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fresh", action="store_true", help="start over (the previous run folder is renamed)")
    parser.add_argument("--stop-after-epoch", type=int, default=None, help="stop after this epoch; re-run resumes")
    args = parser.parse_args(argv)
    model_config, config = common.model_config(), common.training_config()
    with files.main_process_first():  # the main process sets the run folder straight, then the others read it
        run = prepare_run(args, model_config, config)
    if run is None:
        return
    manifest, tokenizer, examples, lengths, resume_from = run
    dtype = model.torch_dtype(model_config.compute_dtype)
    lora = training.lora_model(model.load_base_model(model_config), config, model_config.name)
    arguments = training.training_arguments(config, PATHS.lora, dtype)
    guard = training.training_guard(dtype, args.stop_after_epoch)
    trainer = training.build_trainer(lora, tokenizer, examples, lengths, arguments, [guard])
    start_epoch = max(map(int, manifest["epochs"]), default=0)  # the epoch resume_from ended (0: none)
    if resume_from:
        print(f"resuming from {resume_from} (epoch {start_epoch})")
    result = trainer.train(resume_from_checkpoint=resume_from and str(resume_from))
    seconds = result.metrics["train_runtime"]

    training.write_loss_log(PATHS.loss_log, trainer.state.log_history)
    tokens_trained = sum(lengths) * (trainer.state.epoch - start_epoch)  # this invocation's share of the run
    figures = {
        "global_step": trainer.state.global_step,
        "wall_seconds": round(seconds, 1),
        "tokens_per_second": round(tokens_trained / seconds, 1),
        "train_loss": result.training_loss,
        "peak_memory_gib": round(model.peak_memory_gib(), 3),
    }
    manifest = training.write_manifest(PATHS, manifest | figures, config.num_epochs)
    print(
        f"epochs saved: {json.dumps(manifest['epochs'])}; {trainer.state.global_step} steps in {seconds:.0f} s; "
        f"peak memory {manifest['peak_memory_gib']} GiB"
    )


if __name__ == "__main__":
    files.run_main(main, PATHS.outputs)
