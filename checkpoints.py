"""The training run on disk: its manifest (run_manifest.json: what made it, which epoch is in which checkpoint),
its epoch checkpoints, and the adapter of one epoch for the evaluation scripts.

A checkpoint counts only once its save finished (trainer_state.json is written last); a run made under other
RUN_DEFINING_SETTINGS is never continued; --fresh keeps the previous run beside the new one as lora.previous-<time>.
"""

import csv
import io
import json
import os
import platform
import shutil
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import records
import schemas

import common

TRAINING_SCRIPT = records.SCRIPTS[1]
FRESH_HINT = f"run {TRAINING_SCRIPT} --fresh to train again (the old run is kept beside it)"
PACKAGES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets", "deepeval")


def read_manifest():
    """The training run's manifest, or None before the first run."""
    path = common.PATHS.training_manifest
    if not path.exists():
        return None
    return records.read_json(path, fix=FRESH_HINT)


def checkpoint_epoch(folder):
    path = Path(folder) / "trainer_state.json"
    try:
        return round(json.loads(path.read_text(encoding="utf-8"))["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        raise common.PipelineError(
            f"checkpoint {folder} is damaged (its trainer_state.json is unreadable); run "
            f"{TRAINING_SCRIPT} --fresh to train again (the old run is kept beside it)"
        ) from None


def epoch_checkpoints():
    """{epoch: checkpoint folder name} of every completely saved checkpoint."""
    epochs = {}
    for folder in common.PATHS.lora.glob("checkpoint-*"):
        if (folder / "trainer_state.json").exists() and (folder / "adapter_config.json").exists():
            epochs[str(checkpoint_epoch(folder))] = folder.name
    return dict(sorted(epochs.items(), key=lambda item: int(item[0])))


def last_complete_checkpoint():
    """The newest checkpoint whose save finished (trainer_state.json is written last); a checkpoint cut short by a
    kill mid-save is removed, since resuming from it would silently lose optimizer or RNG state."""
    complete = []
    for folder in sorted(common.PATHS.lora.glob("checkpoint-*")):
        if (folder / "trainer_state.json").exists():
            complete.append(folder)
        else:
            print(f"removing {folder.name}: its save was interrupted")
            shutil.rmtree(folder)
    if not complete:
        return None
    newest = max(complete, key=lambda folder: int(folder.name.split("-")[1]))
    check_resumable_state(newest)
    return str(newest)


def check_resumable_state(folder):
    """The state a resumed run loads (adapter, optimizer, scheduler) must be whole: one line, not a torch traceback
    mid-setup. These are the project's own files, so they are unpickled as written."""
    import torch

    check_adapter(folder)
    for name in ("optimizer.pt", "scheduler.pt"):
        path = folder / name
        if not path.exists():
            continue
        try:
            torch.load(path, map_location="cpu", weights_only=False)
        except Exception as error:  # a truncated or overwritten pickle fails in many ways (EOFError, RuntimeError)
            raise common.PipelineError(
                f"checkpoint {folder} is damaged ({name}: {type(error).__name__}); delete that folder to resume from "
                f"the epoch before, or {FRESH_HINT}"
            ) from None


def run_settings(base_model):
    """The settings that define this run (RUN_DEFINING_SETTINGS) and the base model's identity."""
    config = common.resolved_config()
    return dict({name: config[name] for name in common.RUN_DEFINING_SETTINGS}, base_model=base_model)


def check_resumable(manifest, settings):
    """A run made under other settings must not be silently continued or reported."""
    if manifest is None:
        return
    recorded = dict(manifest.get("config", {}), base_model=manifest.get("base_model"))
    for name, value in settings.items():
        if recorded.get(name) != (list(value) if isinstance(value, tuple) else value):
            raise common.PipelineError(
                f"{common.PATHS.lora} holds a run made with {name}={recorded.get(name)!r} (now {value!r}); run "
                f"{TRAINING_SCRIPT} --fresh to start over (the old run is kept beside it)"
            )


def start_manifest(settings, train_examples, dropped, overlap, evaluated, resume_from):
    """The manifest of a run starting (or resuming): what defines it, its data, where it stands, what runs it."""
    manifest = {
        "config": common.resolved_config(),
        "base_model": settings["base_model"],
        "train_examples": train_examples,
        "dropped_too_long": dropped,
        "overlap_with_evaluated": overlap,
        "evaluated_questions": evaluated,
        "finished": False,
        "epochs": epoch_checkpoints(),
        **environment(),
        "resumed_from": resume_from and os.path.basename(resume_from),
    }
    records.write_json(common.PATHS.training_manifest, manifest)
    return manifest


def finish_manifest(manifest, state, train_loss, seconds, tokens_trained):
    """The manifest once trainer.train returned: the epochs saved, whether all are, and this invocation's figures."""
    import modeling

    epochs = epoch_checkpoints()
    manifest = dict(
        manifest,
        finished=str(common.NUM_EPOCHS) in epochs,
        epochs=epochs,
        global_step=state.global_step,
        wall_seconds=round(seconds, 1),
        tokens_per_second=round(tokens_trained / seconds, 1),
        train_loss=train_loss,
        peak_memory_gib=round(modeling.peak_memory_gib(), 3),
    )
    records.write_json(common.PATHS.training_manifest, manifest)
    return manifest


def move_previous_run_aside():
    lora = common.PATHS.lora
    if lora.exists():
        kept = lora.with_name(f"lora.previous-{time.strftime('%Y%m%d-%H%M%S')}")
        lora.rename(kept)
        print(f"previous run kept at {kept}")


def adapter_path(epoch):
    """The checkpoint folder of one training epoch, from the training manifest."""
    epochs = records.read_json(common.PATHS.training_manifest, fix=FRESH_HINT)["epochs"]
    if str(epoch) not in epochs:
        done = ", ".join(sorted(epochs, key=int)) or "none"
        raise common.PipelineError(
            f"no adapter for epoch {epoch} in {common.PATHS.training_manifest} (epochs done: {done}); "
            f"finish {TRAINING_SCRIPT} or set EVAL_EPOCHS to epochs that exist"
        )
    path = common.PATHS.lora / epochs[str(epoch)]
    check_adapter(path)
    return path


def check_adapter(folder):
    """An adapter folder must hold a readable adapter_config.json and a complete adapter_model.safetensors (its
    header's byte ranges all inside the file), so that a damaged checkpoint is one line, not a peft traceback."""
    hint = FRESH_HINT
    config, weights = folder / "adapter_config.json", folder / "adapter_model.safetensors"
    for path in (config, weights):
        if not path.is_file():
            raise common.PipelineError(f"adapter {folder} has no {path.name}; {hint}")
    try:
        schemas.check(json.loads(config.read_text(encoding="utf-8")), schemas.ADAPTER_CONFIG, f"adapter {config}", hint)
        with open(weights, "rb") as handle:
            header_length = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(header_length))
        end = max((entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__"), default=0)
        if weights.stat().st_size < 8 + header_length + end:
            raise ValueError("the file is truncated")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, MemoryError) as error:
        raise common.PipelineError(f"adapter {folder} is damaged ({error}); {hint}") from None


def check_adapters_exist(epochs):
    """Fail before any work if an adapter of EVAL_EPOCHS is missing."""
    for epoch in epochs:
        adapter_path(epoch)


# ---------------------------------------------------------------------------------------------------------------
# What made the run


def package_versions():
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


def git_commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=common.PROJECT_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def device_description():
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def environment():
    import modeling  # modeling imports this module

    return {
        "packages": package_versions(),
        "git_commit": git_commit(),
        "device": device_description(),
        "attn_implementation": modeling.ATTENTION_IMPLEMENTATION,
    }


def write_loss_log(log_history):
    """The logged training losses as loss_log.csv (step, epoch, loss, learning_rate, grad_norm)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["step", "epoch", "loss", "learning_rate", "grad_norm"])
    writer.writeheader()
    writer.writerows(loss_rows(log_history))
    records.write_text(common.PATHS.loss_log, buffer.getvalue())


def loss_rows(log_history):
    """The logged training losses of trainer.state.log_history, one row per logging step."""
    return [
        {key: entry.get(key) for key in ("step", "epoch", "loss", "learning_rate", "grad_norm")}
        for entry in log_history
        if "loss" in entry
    ]
