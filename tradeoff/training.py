"""The QLoRA recipe (Figures 5-6) and the training run on disk: its manifest (run_manifest.json: what made it, which
epoch is in which checkpoint), its epoch checkpoints, and the adapter of one epoch for the evaluations."""

import json
import os
import platform
import shutil
import subprocess
from dataclasses import make_dataclass
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from tradeoff import PipelineError, files, model

PACKAGES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets", "deepeval")
LOSS_COLUMNS = ("step", "epoch", "loss", "learning_rate", "grad_norm")
# What peft reads from an adapter folder before its weights (a wrong type there is a peft TypeError).
ADAPTER_CONFIG = {
    "type": "object",
    "required": ["peft_type", "r", "lora_alpha", "target_modules"],
    "properties": {
        "peft_type": {"const": "LORA"},
        "r": {"type": "integer", "minimum": 1},
        "lora_alpha": {"type": "number"},
        "lora_dropout": {"type": "number", "minimum": 0, "maximum": 1},
        "target_modules": {"type": ["array", "string"], "items": {"type": "string"}},
    },
}


# The recipe: LoRA (Figure 5) and training (Figure 6) settings, named as common.py's, lower-cased.
TrainingConfig = make_dataclass(
    "TrainingConfig",
    "lora_r lora_alpha lora_dropout lora_target_modules lora_bias num_epochs per_device_train_batch_size "
    "gradient_accumulation_steps learning_rate lr_scheduler_type warmup_ratio optim max_grad_norm group_by_length "
    "gradient_checkpointing logging_steps max_seq_length seed".split(),
    frozen=True,
)


def sequence_length(tokenizer, example):
    return len(tokenizer.apply_chat_template(example["prompt"] + example["completion"])["input_ids"])


def training_examples(tokenizer, examples, max_seq_length):
    """The prompt/completion pairs that fit, their lengths, and how many did not: an over-long example is dropped and
    counted, never cut inside the answer."""
    lengths = [sequence_length(tokenizer, example) for example in examples]
    kept = [(example, length) for example, length in zip(examples, lengths) if length <= max_seq_length]
    if not kept:
        raise PipelineError(f"no training example fits MAX_SEQ_LENGTH={max_seq_length}; raise it")
    return [example for example, _ in kept], [length for _, length in kept], len(examples) - len(kept)


def lora_model(base_model, config, model_name):
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    present = {name.rsplit(".", 1)[-1] for name, _ in base_model.named_modules()}
    if missing := [target for target in config.lora_target_modules if target not in present]:
        raise PipelineError(
            f"LORA_TARGET_MODULES names {', '.join(missing)}, which {model_name} does not have; choose among its "
            f"linear layers (Qwen2 and Llama: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)"
        )
    prepared = prepare_model_for_kbit_training(base_model, use_gradient_checkpointing=config.gradient_checkpointing)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_target_modules),
        bias=config.lora_bias,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(prepared, lora)


def training_arguments(config, output_dir, dtype):
    """Figure 6 in TRL's names, for a model computing in the torch dtype dtype."""
    from trl import SFTConfig

    same_names = ("per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate", "lr_scheduler_type")
    same_names += ("optim", "max_grad_norm", "gradient_checkpointing", "logging_steps", "seed")
    return SFTConfig(
        **{name: getattr(config, name) for name in same_names},
        output_dir=str(output_dir),
        num_train_epochs=config.num_epochs,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a ratio of the total steps
        fp16=dtype == torch.float16,
        bf16=dtype == torch.bfloat16,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        gradient_checkpointing_kwargs={"use_reentrant": False},
        save_strategy="epoch",
        logging_first_step=True,
        logging_nan_inf_filter=False,  # a NaN loss must reach the guard, not be filtered out of the logs
        data_seed=config.seed,
        use_cpu=not torch.cuda.is_available(),
        max_length=None,  # over-long examples were dropped; nothing is truncated
        completion_only_loss=True,
    )


def training_guard(dtype, stop_after_epoch=None):
    """The non-finite guard on every logged loss and on the trainable weights after each step, and the early stop."""
    from transformers import TrainerCallback

    class TrainingGuard(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                model.check_finite(logs["loss"], f"training loss at step {state.global_step}", dtype)

        def on_step_end(self, args, state, control, **kwargs):
            # Before the save of this step: a corrupted adapter never becomes a checkpoint.
            weights = [parameter for parameter in kwargs["model"].parameters() if parameter.requires_grad]
            if not all(torch.isfinite(parameter).all() for parameter in weights):
                model.check_finite(float("nan"), f"LoRA weights after step {state.global_step}", dtype)

        def on_epoch_end(self, args, state, control, **kwargs):
            if stop_after_epoch is not None and round(state.epoch) >= stop_after_epoch:
                control.should_training_stop = True

    return TrainingGuard()


def build_trainer(lora, tokenizer, examples, lengths, arguments, callbacks=()):
    from datasets import Dataset
    from transformers.trainer_pt_utils import LengthGroupedSampler
    from trl import SFTTrainer

    class Trainer(SFTTrainer):
        def _get_train_sampler(self, train_dataset=None):
            """transformers' length grouping, the same under any number of processes: megabatches counted over the
            effective batch (transformers counts per process), each epoch's order drawn from the seed and the epoch
            (not from the global RNG, which accelerate replaces under several processes), so resumes keep it too."""
            sampler = super()._get_train_sampler(train_dataset)
            if isinstance(sampler, LengthGroupedSampler):
                sampler.batch_size *= self.args.world_size
                sampler.generator = torch.Generator().manual_seed(self.args.seed)
                sampler.set_epoch = lambda epoch: sampler.generator.manual_seed(self.args.seed + epoch)
            return sampler

        def _load_optimizer_and_scheduler(self, checkpoint):
            # Under several processes on CPUs transformers maps the optimizer state to "cpu:<rank>", which torch.load
            # cannot restore to.
            if checkpoint is None or self.args.world_size == 1 or self.args.device.type != "cpu":
                return super()._load_optimizer_and_scheduler(checkpoint)
            self.optimizer.load_state_dict(torch.load(Path(checkpoint) / "optimizer.pt", weights_only=True))
            self.lr_scheduler.load_state_dict(torch.load(Path(checkpoint) / "scheduler.pt", weights_only=True))

    dataset = Dataset.from_list(examples).add_column("length", lengths)
    trainer = Trainer(
        model=lora, args=arguments, train_dataset=dataset, processing_class=tokenizer, callbacks=list(callbacks)
    )
    # TRL casts QLoRA adapter weights to bfloat16; keep them float32 as the study did (PEFT's default), as a T4 needs
    # and as a resumed run reloads them, so that resumed and uninterrupted runs agree.
    for parameter in trainer.model.parameters():
        if parameter.requires_grad:
            parameter.data = parameter.data.float()
    return trainer


def epoch_checkpoints(lora_dir):
    """{epoch: checkpoint folder name} of every checkpoint whose save finished (trainer_state.json is written last)."""
    epochs = {}
    for state in Path(lora_dir).glob("checkpoint-*/trainer_state.json"):
        try:
            epochs[round(json.loads(state.read_text(encoding="utf-8"))["epoch"])] = state.parent.name
        except (OSError, ValueError, KeyError, TypeError):
            raise PipelineError(
                f"checkpoint {state.parent} is damaged (its trainer_state.json is unreadable); {files.FRESH_HINT}"
            ) from None
    return {str(epoch): epochs[epoch] for epoch in sorted(epochs)}


def last_complete_checkpoint(lora_dir):
    """The newest checkpoint whose save finished, checked whole. One cut short by a kill mid-save is removed: resuming
    from it would silently lose optimizer or RNG state. trainer_state.json is written last, and not atomically: absent,
    or torn in the newest checkpoint, the save did not finish (torn in an older one, the checkpoint is damaged)."""
    from transformers.trainer_utils import get_last_checkpoint

    newest = get_last_checkpoint(lora_dir) if Path(lora_dir).is_dir() else None  # the highest checkpoint-<step>
    for folder in Path(lora_dir).glob("checkpoint-*"):
        state = folder / "trainer_state.json"
        if not state.exists() or (str(folder) == newest and not files.read_object(state)):
            print(f"removing {folder.name}: its save was interrupted")
            shutil.rmtree(folder)
    if not (epochs := epoch_checkpoints(lora_dir)):
        return None
    newest = check_adapter(Path(lora_dir) / epochs[max(epochs, key=int)])
    for name in ("optimizer.pt", "scheduler.pt"):
        try:  # the project's own files: unpickled as written
            torch.load(newest / name, map_location="cpu", weights_only=False)
        except Exception as error:  # a truncated or overwritten pickle fails in many ways (EOFError, RuntimeError)
            raise PipelineError(
                f"checkpoint {newest} is damaged ({name}: {type(error).__name__}); delete that folder to resume "
                f"from the epoch before, or {files.FRESH_HINT}"
            ) from None
    return newest


def check_adapter(folder):
    """folder, if its adapter_config.json has the shape peft reads and its adapter_model.safetensors is whole."""
    files.read_json(folder / "adapter_config.json", fix=files.FRESH_HINT, schema=ADAPTER_CONFIG)
    try:
        with safe_open(folder / "adapter_model.safetensors", framework="pt"):
            pass
    except (OSError, SafetensorError) as error:
        raise PipelineError(f"adapter {folder} is damaged ({error}); {files.FRESH_HINT}") from None
    return folder


def adapter_path(paths, epoch):
    """The checkpoint folder of one training epoch, from the training manifest, checked whole."""
    epochs = (read_manifest(paths) or {"epochs": {}})["epochs"]
    if str(epoch) not in epochs:
        raise PipelineError(
            f"no adapter for epoch {epoch} in {paths.training_manifest} (epochs done: "
            f"{', '.join(epochs) or 'none'}); finish {files.SCRIPTS[1]} or set EVAL_EPOCHS to epochs that exist"
        )
    return check_adapter(paths.lora / epochs[str(epoch)])


def read_manifest(paths):
    return files.read_json(paths.training_manifest, fix=files.FRESH_HINT) if paths.training_manifest.exists() else None


def check_resumable(paths, manifest, settings, base_model):
    """Refuse to continue a run made under other settings or on other base weights."""
    recorded = dict(manifest["config"], base_model=manifest["base_model"])
    for name, value in dict(settings, base_model=base_model).items():
        if recorded.get(name) != value:
            raise PipelineError(
                f"{paths.lora} holds a run made with {name}={recorded.get(name)!r} (now {value!r}); {files.FRESH_HINT}"
            )


def write_manifest(paths, manifest, num_epochs):
    epochs = epoch_checkpoints(paths.lora)
    manifest = dict(manifest, epochs=epochs, finished=str(num_epochs) in epochs)
    files.write_json(paths.training_manifest, manifest)
    return manifest


def environment():
    try:
        git = ["git", "rev-parse", "HEAD"]
        commit = subprocess.run(git, cwd=Path(__file__).parent, capture_output=True, text=True).stdout.strip() or None
    except OSError:  # no git
        commit = None
    if torch.cuda.is_available():
        device = f"{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    else:
        device = f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    versions = {package: version(package) for package in PACKAGES if find_spec(package)}  # import = package name
    return {"packages": versions, "git_commit": commit, "device": device}


def write_loss_log(path, log_history):
    """The logged training losses (trainer.state.log_history), one CSV row of numbers per logging step."""
    rows = [",".join(str(entry.get(name, "")) for name in LOSS_COLUMNS) for entry in log_history if "loss" in entry]
    files.write_text(path, "\n".join([",".join(LOSS_COLUMNS), *rows, ""]))
