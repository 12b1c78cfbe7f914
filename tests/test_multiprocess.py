"""The scripts under `torchrun` and `accelerate launch`, 2 CPU processes on the gloo backend: data-parallel training
whose loss log is a one-process run's at the same effective batch (within LOSS_TOLERANCE) and that resumes across
process counts; sharded evaluations whose records are a one-process run's byte for byte, also after a kill; the run
lock held once per run. Kept cheap: a few training steps, one evaluation recomputed on a copy of the shared demo run."""

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from conftest import PROJECT_DIR, demo_environment, run_script

PROCESSES = 2
# Loss and gradient norm of each logged step, 2 processes against 1 at the same effective batch (2 x 4 x 1 = 2 x 2 x
# 2): the same examples in each step, but sums taken in another order (the gradients are averaged across processes),
# so equal to rounding. Measured here in float16 autocast (2026-12-03): losses within 2.4e-5, gradient norms within
# 2.0e-4 relative.
LOSS_TOLERANCE = 1e-3
# 4 steps an epoch: micro-batches of 2, accumulated 4 times on one process or twice on each of two.
TRAINING = dict(
    MAX_TRAIN_EXAMPLES="32", NUM_EPOCHS="2", LOGGING_STEPS="1", LORA_DROPOUT="0.0", PER_DEVICE_TRAIN_BATCH_SIZE="2"
)


def launch(root, script, processes=PROCESSES, launcher="torchrun", args=(), wait=True, **changes):
    """Run a script as `torchrun --nproc_per_node N` or `accelerate launch --multi_gpu --num_processes N` (on a CPU
    both start N processes on gloo), the total threads split between them; a CompletedProcess, or the Popen. One
    process runs as the other tests run a script (conftest.run_script: from this worker's preloaded forkserver)."""
    if processes == 1:
        return run_script(script, dict(demo_environment(root, **changes), CUDA_VISIBLE_DEVICES=""), args)
    if launcher == "torchrun":
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    else:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--main_process_port=0"]
        command += [f"--num_processes={processes}"]
    threads = str(max(1, (os.cpu_count() or 1) // processes))
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=threads, **demo_environment(root, **changes))
    env["CUDA_VISIBLE_DEVICES"] = ""  # CPU processes also on a machine with fewer GPUs than processes
    run = subprocess.Popen(
        [*command, str(PROJECT_DIR / script), *args],
        env=env,
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if not wait:
        return run
    stdout, stderr = run.communicate(timeout=600)
    return subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)


def succeeded(result):
    assert result.returncode == 0, result.stderr[-3000:]
    assert "another run" not in result.stderr  # no process refused by its sibling's lock
    return result


def copy_run(demo_run, root, *parts):
    """A copy of the prepared data and of the named output folders of a demo run."""
    shutil.copytree(demo_run / "prepared", root / "prepared")
    for part in parts:
        shutil.copytree(demo_run / "outputs" / part, root / "outputs" / part)
    return root


def losses(root):
    rows = list(csv.DictReader((root / "outputs/lora/loss_log.csv").open()))
    return [(int(r["step"]), float(r["loss"]), float(r["grad_norm"] or "nan")) for r in rows]


def assert_same_losses(run, reference):
    assert [step for step, *_ in run] == [step for step, *_ in reference]
    for (step, loss, norm), (_, loss_1, norm_1) in zip(run, reference):
        assert loss == pytest.approx(loss_1, rel=LOSS_TOLERANCE), f"step {step}"
        assert norm == pytest.approx(norm_1, rel=LOSS_TOLERANCE, nan_ok=True), f"step {step}"


def manifest(root):
    return json.loads((root / "outputs/lora/run_manifest.json").read_text())


# ---------------------------------------------------------------------------------------------------------------
# Training


def test_data_parallel_training_is_the_one_process_run_and_resumes_under_any_count(prepared_demo, tmp_path):
    for name in ("one", "ddp"):
        shutil.copytree(prepared_demo, tmp_path / name / "prepared")
    one = tmp_path / "one"
    succeeded(launch(one, "1_fine-tuning.py", processes=1, GRADIENT_ACCUMULATION_STEPS="4", **TRAINING))
    reference = losses(one)
    assert [step for step, *_ in reference] == list(range(1, 9))  # 2 epochs of 4 steps

    ddp = tmp_path / "ddp"
    result = launch(
        ddp, "1_fine-tuning.py", args=["--stop-after-epoch", "1"], GRADIENT_ACCUMULATION_STEPS="2", **TRAINING
    )
    assert "effective batch 8 = 2 per device x 2 accumulated x 2 process(es)" in succeeded(result).stdout
    recorded = manifest(ddp)
    assert recorded["processes"] == 2 and recorded["config"]["EFFECTIVE_BATCH_SIZE"] == 8
    assert recorded["epochs"].keys() == {"1"} and not recorded["finished"]
    checkpoint = ddp / "outputs/lora" / recorded["epochs"]["1"]
    assert {path.name for path in checkpoint.glob("rng_state*")} == {"rng_state_0.pth", "rng_state_1.pth"}  # DDP's
    assert_same_losses(losses(ddp), reference[:4])
    assert not list((ddp / "outputs").rglob(".*.tmp-*")) and not (ddp / "outputs/.run.lock").exists()

    # The DDP checkpoint of epoch 1, resumed under one process (accumulation 4) and under two (accelerate launch).
    shutil.copytree(ddp, tmp_path / "ddp-again")
    succeeded(launch(ddp, "1_fine-tuning.py", processes=1, GRADIENT_ACCUMULATION_STEPS="4", **TRAINING))
    again = succeeded(
        launch(
            tmp_path / "ddp-again",
            "1_fine-tuning.py",
            launcher="accelerate",
            GRADIENT_ACCUMULATION_STEPS="2",
            **TRAINING,
        )
    )
    assert "resuming from" in again.stdout
    for root in (ddp, tmp_path / "ddp-again"):
        assert manifest(root)["finished"] and manifest(root)["resumed_from"] == recorded["epochs"]["1"]
        assert_same_losses(losses(root), reference)
    assert (manifest(ddp)["processes"], manifest(ddp)["gradient_accumulation_steps"]) == (1, 4)
    assert manifest(ddp)["config"] == manifest(tmp_path / "ddp-again")["config"] == recorded["config"]


# ---------------------------------------------------------------------------------------------------------------
# Evaluation


def test_sharded_spider_evaluation_writes_the_one_process_file(demo_run, tmp_path):
    """Script 2 on 2 processes recomputes base_0shot after its first 2 batches: the file is the one-process run's."""
    root = copy_run(demo_run, tmp_path, "spider")
    path, original = root / "outputs/spider/base_0shot.jsonl", (demo_run / "outputs/spider/base_0shot.jsonl")
    path.write_text("".join(original.read_text().splitlines(keepends=True)[:32]))
    result = succeeded(launch(root, "2_calculando_baseline.py"))
    assert path.read_bytes() == original.read_bytes()
    assert (root / "outputs/spider/base_3shot.jsonl").read_bytes() == (
        demo_run / "outputs/spider/base_3shot.jsonl"
    ).read_bytes()
    summary = json.loads(path.with_suffix(".summary.json").read_text())
    assert summary == json.loads(original.with_suffix(".summary.json").read_text())
    assert result.stdout.count("base_0shot: execution accuracy") == 1  # the main process speaks for all


def test_a_killed_sharded_mmlu_run_resumes_to_the_one_process_records(demo_run, tmp_path):
    """Script 4 on 2 processes, killed once its first round is written, then run again on one process."""
    root = copy_run(demo_run, tmp_path, "lora", "spider", "mmlu")
    path, original = root / "outputs/mmlu/lora_epoch5.jsonl", demo_run / "outputs/mmlu/lora_epoch5.jsonl"
    path.unlink()
    run = launch(root, "4_analise_mmlu.py", launcher="accelerate", wait=False)
    deadline, lines = time.time() + 300, 0
    while run.poll() is None and time.time() < deadline and lines == 0:
        lines = len(path.read_text().splitlines()) if path.exists() else 0
        time.sleep(0.01)
    for process in [psutil.Process(run.pid), *psutil.Process(run.pid).children(recursive=True)]:
        process.send_signal(signal.SIGKILL)  # the launcher and each process it started (each in its own session)
    run.communicate()
    assert 0 < len(path.read_text().splitlines()) < len(original.read_text().splitlines()), "not killed mid-run"
    result = succeeded(launch(root, "4_analise_mmlu.py", processes=1))
    assert "taking over the lock" in result.stdout  # the killed run's main process held it
    assert path.read_bytes() == original.read_bytes()
    assert (root / "outputs/results.csv").read_bytes() == (demo_run / "outputs/results.csv").read_bytes()


def test_every_process_stops_when_another_run_holds_the_folder(demo_run, tmp_path):
    root = copy_run(demo_run, tmp_path)
    lock = {"host": socket.gethostname(), "pid": os.getpid()}
    (root / "prepared/.run.lock").write_text(json.dumps(lock))
    result = launch(root, "0_preparando_dados.py")
    assert result.returncode != 0
    assert result.stderr.count(f"error: another run (PID {os.getpid()}") == PROCESSES
