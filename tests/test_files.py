"""tradeoff/files.py: atomic files, one-line errors, resumable per-example files that never lose work, the run lock."""

import errno
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import time

import pytest

from tradeoff import PipelineError, files


def values(indices):
    return [{"v": index} for index in indices]


def never(indices):
    pytest.fail(f"recomputed {indices}")


def evaluate(path, keys, evaluate_batch=values, made_with=None, batch_size=2):
    return files.evaluate(path, made_with or {"m": 1}, keys, [0] * len(keys), batch_size, evaluate_batch, "t")


def test_write_json_is_atomic_and_read_json_names_the_file_and_the_fix(tmp_path):
    paths = files.Paths(tmp_path / "prepared", tmp_path / "outputs")
    files.write_json(paths.spider_dev, {"a": 1})
    assert files.read_json(paths.spider_dev) == {"a": 1}
    assert [p.name for p in paths.prepared.iterdir()] == ["spider_dev.json"]  # no temporary file left
    stamp = paths.spider_dev.stat().st_mtime_ns
    files.write_json(paths.spider_dev, {"a": 1})
    assert paths.spider_dev.stat().st_mtime_ns == stamp  # unchanged: not written again
    paths.spider_dev.write_text("{broken")
    with pytest.raises(
        PipelineError, match=r"spider_dev.json is not valid JSON \(.*\); run 0_preparando_dados.py again"
    ):
        files.read_json(paths.spider_dev, made_by=paths.producer(paths.spider_dev))
    with pytest.raises(PipelineError, match=r"run_manifest.json is missing; run 1_fine-tuning.py first$"):
        files.read_json(paths.training_manifest, made_by=paths.producer(paths.training_manifest))
    folder = paths.results("spider", "base_3shot")
    folder.mkdir(parents=True)
    with pytest.raises(PipelineError, match=r"base_3shot.jsonl is a folder, not a file; run 2_calculando_baseline"):
        files.read_json(folder, made_by=paths.producer(folder))
    files.write_json(paths.spider_dev, [{"n": 1}, {"n": "x"}])
    schema = {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}}
    with pytest.raises(PipelineError, match=r"spider_dev.json entry 1, field 'n': 'x' is not of type 'integer'; fix"):
        files.read_json(paths.spider_dev, fix="fix", schema=schema)


def test_producer_of_each_handed_off_file(tmp_path):
    paths = files.Paths(tmp_path / "prepared", tmp_path / "outputs")
    assert paths.producer(paths.mmlu_dev) == "0_preparando_dados.py"
    assert paths.producer(paths.training_manifest) == "1_fine-tuning.py"
    assert paths.producer(paths.results("spider", "base_0shot")) == "2_calculando_baseline.py"
    assert paths.producer(paths.results("spider", files.model_key(3))) == "3_avaliacao_customizada.py"
    assert paths.producer(paths.results("mmlu", files.model_key(None))) == "4_analise_mmlu.py"
    assert paths.producer(paths.report) is None
    assert files.key_epoch(files.model_key(5)) == 5 and files.key_epoch("base_3shot") == 0


def test_unwritable_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PipelineError, match=r"cannot write .*x.json \(.*\); check that its folder is writable"):
        files.write_json(blocker / "x.json", {})


def test_a_torn_last_line_is_dropped_and_the_file_continues(tmp_path):
    path = tmp_path / "base.jsonl"
    keys = ["k0", "k1", "k2"]
    path.write_text('{"index": 0, "key": "k0", "v": 0}\n{"index": 1, "key": "k1", "v": 1}\n{"ind')
    (tmp_path / "base.made_with.json").write_text(json.dumps({"m": 1}))
    assert [r["index"] for r in files.read_records(path)] == [0, 1]
    assert [r["v"] for r in evaluate(path, keys, lambda indices: [{"v": 2} for _ in indices])] == [0, 1, 2]
    assert [json.loads(line)["index"] for line in path.read_text().splitlines()] == [0, 1, 2]
    path.write_text('{"index": 0}\n{bad\n{"index": 2}\n')
    with pytest.raises(PipelineError, match=r"base.jsonl line 2 is corrupt; delete the file to recompute it"):
        files.read_records(path)
    path.write_text('{"no_index": 0}\n{"index": 2}\n')
    with pytest.raises(PipelineError, match=r"base.jsonl line 1 has no index; delete the file"):
        files.read_records(path)


def test_resume_reuses_only_records_made_the_same_way_with_the_same_key(tmp_path, capsys):
    path = tmp_path / "lora_epoch3.jsonl"
    made_with = {"adapter_sha256": "aaa", "batch_size": 2}
    assert files.resume(path, made_with, ["k0", "k1", "k2"]) == ([], set())
    path.write_text("".join(json.dumps({"index": i, "key": f"k{i}"}) + "\n" for i in (0, 1)))
    # Same settings, more questions asked for (EVALUATION_ENTRIES_SIZE raised): the finished ones are reused.
    kept, reused = files.resume(path, made_with, ["k0", "k1", "k2", "k3"])
    assert [r["index"] for r in kept] == [0, 1] and reused == {0, 1}
    assert capsys.readouterr().out == ""
    # A changed input (other prompt, gold, database...) is recomputed; the file is copied aside first.
    kept, reused = files.resume(path, made_with, ["k0", "changed", "k2"])
    assert reused == {0} and [r["index"] for r in kept] == [0]
    assert "lora_epoch3.jsonl has 1 records of other inputs: kept as lora_epoch3.stale-" in capsys.readouterr().out
    assert path.exists() and len(list(tmp_path.glob("lora_epoch3.stale-*.jsonl"))) == 1
    # Another adapter (training redone with --fresh): the file is moved aside and nothing is reused.
    assert files.resume(path, dict(made_with, adapter_sha256="bbb"), ["k0", "k1", "k2"]) == ([], set())
    assert "was made with other adapter_sha256: kept as lora_epoch3.stale-" in capsys.readouterr().out
    assert not path.exists() and len(list(tmp_path.glob("lora_epoch3.stale-*.jsonl"))) >= 1
    assert json.loads((tmp_path / "lora_epoch3.made_with.json").read_text())["adapter_sha256"] == "bbb"


@pytest.mark.parametrize("made_with_text", ['{"m": ', "[1]"], ids=["torn", "another shape"])
def test_an_unreadable_record_of_what_made_a_file_is_unknown_provenance(tmp_path, capsys, made_with_text):
    path = tmp_path / "base.jsonl"
    evaluate(path, ["k0"])
    (tmp_path / "base.made_with.json").write_text(made_with_text)
    assert [r["v"] for r in evaluate(path, ["k0"], lambda indices: [{"v": 9}])] == [9]
    assert "base.jsonl has no record of what made it: kept as base.stale-" in capsys.readouterr().out
    assert len(list(tmp_path.glob("base.stale-*.jsonl"))) == 1


def test_shrinking_then_growing_the_set_recomputes_nothing(tmp_path):
    path = tmp_path / "base.jsonl"
    keys = [f"k{i}" for i in range(10)]
    computed = []

    def evaluate_batch(indices):
        computed.extend(indices)
        return values(indices)

    evaluate(path, keys, evaluate_batch, batch_size=4)
    assert sorted(computed) == list(range(10))
    few = evaluate(path, keys[:3], evaluate_batch, batch_size=4)
    assert [r["index"] for r in few] == [0, 1, 2] and len(computed) == 10
    assert len(files.read_records(path)) == 10  # the 7 beyond the current size are kept
    again = evaluate(path, keys, evaluate_batch, batch_size=4)
    assert [r["v"] for r in again] == list(range(10)) and len(computed) == 10
    assert all(r["key"] == keys[r["index"]] for r in again)


def refuse_writes(monkeypatch, errno_code):
    """Every write of files.py fails as on a read-only folder or a full disk (root ignores chmod, so patch it)."""
    import builtins

    def failing_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise OSError(errno_code, os.strerror(errno_code), str(file))
        return builtins.open(file, mode, *args, **kwargs)

    def failing(*args, **kwargs):
        raise OSError(errno_code, os.strerror(errno_code))

    monkeypatch.setattr(files, "open", failing_open, raising=False)
    monkeypatch.setattr(files.os, "replace", failing)


def test_a_finished_file_is_not_rewritten_and_a_read_only_folder_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "base.jsonl"
    keys = ["k0", "k1", "k2"]
    evaluate(path, keys)
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    refuse_writes(monkeypatch, errno.EROFS)
    assert [r["v"] for r in evaluate(path, keys, never)] == [0, 1, 2]  # a finished run on a read-only folder
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps
    with pytest.raises(PipelineError, match=r"cannot write .*base.jsonl \(Read-only file system\); check"):
        evaluate(path, keys + ["k3"])


def test_a_disk_that_fills_mid_run_is_one_line_and_the_run_resumes(tmp_path, monkeypatch):
    path = tmp_path / "base.jsonl"
    keys = [f"k{i}" for i in range(4)]
    fsyncs = []
    real_fsync = os.fsync

    def fsync_until_full(descriptor):
        fsyncs.append(descriptor)
        if len(fsyncs) > 3:  # made_with.json, the emptied results file and the first record fit; then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    with monkeypatch.context() as patch:
        patch.setattr(files.os, "fsync", fsync_until_full)
        with pytest.raises(PipelineError, match=r"cannot write .*base.jsonl \(No space left on device\)"):
            evaluate(path, keys, batch_size=1)
    saved = {r["index"] for r in files.read_records(path)}
    assert 0 in saved and saved != set(range(4))
    computed = []

    def evaluate_batch(indices):
        computed.extend(indices)
        return values(indices)

    assert [r["v"] for r in evaluate(path, keys, evaluate_batch, batch_size=1)] == [0, 1, 2, 3]
    assert sorted(computed) == sorted(set(range(4)) - saved)


def test_batch_plan_groups_by_length_and_skips_only_whole_batches_done():
    lengths = [5, 50, 10, 40, 20, 30, 1]
    assert files.batch_plan(lengths, batch_size=3) == [[1, 3, 5], [4, 2, 0], [6]]
    # A resumed run recomputes the batches it still needs exactly as planned, whole, and skips finished ones.
    assert files.batch_plan(lengths, batch_size=3, done={1, 3, 5, 4}) == [[4, 2, 0], [6]]


@pytest.mark.parametrize(
    "message",
    ["CUDA out of memory. Tried to allocate 2.00 GiB", "CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate"],
)
def test_out_of_memory_halves_the_batch_and_loses_nothing(tmp_path, capsys, message):
    calls = []

    def run_batch(chunk):
        calls.append(len(chunk))
        if len(chunk) > 2:
            raise RuntimeError(message)
        return [{"value": i * 10} for i in chunk]

    records = evaluate(tmp_path / "r.jsonl", [f"k{i}" for i in range(10)], run_batch, batch_size=8)
    assert [record["value"] for record in records] == [i * 10 for i in range(10)]
    out = capsys.readouterr().out
    assert calls[:3] == [8, 4, 2] and out.count("out of memory: batch size halved") == 2 and "halved to 2" in out
    # A batch split on the way says so in its records (batching changes the arithmetic); [8, 9] was computed whole.
    assert [record.get("batch_size") for record in records] == [2] * 8 + [None] * 2

    def broken(chunk):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):  # not out of memory: not retried
        list(files.run_batches([[0, 1]], 2, broken))


# ---------------------------------------------------------------------------------------------------------------
# The run lock and the one-line exit


def hold_lock(folder, ready, release):
    with files.folder_lock(folder):
        ready.set()
        release.wait(30)


def write_lock(folder, age=0, **holder):
    """A lock naming holder, its heartbeat (the file's time) age seconds old."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / files.LOCK_NAME).write_text(json.dumps(holder))
    os.utime(folder / files.LOCK_NAME, (time.time() - age, time.time() - age))


def test_a_second_run_on_the_same_folder_is_refused_naming_the_first(tmp_path):
    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=hold_lock, args=(tmp_path, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        lock = json.loads((tmp_path / files.LOCK_NAME).read_text())
        assert lock["pid"] == holder.pid and lock["host"] == socket.gethostname()
        with pytest.raises(PipelineError, match=rf"another run \(PID {holder.pid} on .*\) is writing {tmp_path}; wait"):
            with files.folder_lock(tmp_path):
                pass
    finally:
        release.set()
        holder.join(30)
    assert not (tmp_path / files.LOCK_NAME).exists()
    with files.folder_lock(tmp_path):  # free again once the first run ended
        assert json.loads((tmp_path / files.LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not (tmp_path / files.LOCK_NAME).exists()


def test_a_lock_on_another_machine_with_a_recent_heartbeat_holds(tmp_path):
    write_lock(tmp_path, host="other-machine", pid=1)
    with pytest.raises(PipelineError, match=r"another run \(PID 1 on other-machine\) is writing"):
        with files.folder_lock(tmp_path):
            pass


def test_a_lock_not_yet_written_holds_until_it_is_stale(tmp_path, capsys):
    """A run that has created the lock but not yet written into it (this instant) is a holder; a lock left empty
    that long ago, by a run that died there, is not."""
    write_lock(tmp_path)
    (tmp_path / files.LOCK_NAME).write_text("")
    with pytest.raises(PipelineError, match=r"another run \(starting now\) is writing"):
        with files.folder_lock(tmp_path):
            pass
    long_ago = time.time() - files.STALE_AFTER_SECONDS - 5
    os.utime(tmp_path / files.LOCK_NAME, (long_ago, long_ago))
    with files.folder_lock(tmp_path):
        assert json.loads((tmp_path / files.LOCK_NAME).read_text())["pid"] == os.getpid()
    assert "taking over the lock" in capsys.readouterr().out


@pytest.mark.parametrize("holder", [{}, {"pid": None}, {"pid": "x"}, {"pid": 0}], ids=["none", "null", "text", "zero"])
def test_a_lock_on_this_machine_with_no_usable_pid_holds_until_it_is_stale(tmp_path, holder):
    write_lock(tmp_path, host=socket.gethostname(), **holder)
    with pytest.raises(PipelineError, match=rf"another run \(PID {holder.get('pid')} on .*\) is writing"):
        with files.folder_lock(tmp_path):
            pass
    write_lock(tmp_path, age=files.STALE_AFTER_SECONDS + 5, host=socket.gethostname(), **holder)
    with files.folder_lock(tmp_path):
        assert json.loads((tmp_path / files.LOCK_NAME).read_text())["pid"] == os.getpid()


def finished_pid():
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def zombie_pid():
    """A process that has ended but that its parent has not reaped (as a launcher's killed worker can stay)."""
    process = subprocess.Popen(["true"])
    deadline = time.time() + 30
    while time.time() < deadline and open(f"/proc/{process.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.01)
    ZOMBIES.append(process)  # held: a Popen let go of is reaped when the next one starts
    return process.pid


ZOMBIES = []


@pytest.mark.parametrize(
    "holder",
    [
        pytest.param(lambda: {"host": socket.gethostname(), "pid": finished_pid()}, id="pid"),
        pytest.param(lambda: {"host": "other-machine", "pid": 1, "age": files.STALE_AFTER_SECONDS + 5}, id="heartbeat"),
        pytest.param(lambda: {"host": socket.gethostname(), "pid": zombie_pid()}, id="zombie"),
    ],
)
def test_a_lock_whose_holder_is_gone_is_taken_over_saying_so(tmp_path, capsys, holder):
    write_lock(tmp_path, **holder())
    with files.folder_lock(tmp_path):
        assert json.loads((tmp_path / files.LOCK_NAME).read_text())["pid"] == os.getpid()
    assert f"taking over the lock of {tmp_path}: its holder (" in capsys.readouterr().out
    assert not (tmp_path / files.LOCK_NAME).exists()


def test_the_heartbeat_is_refreshed_while_the_run_lasts(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "HEARTBEAT_SECONDS", 0.01)
    with files.folder_lock(tmp_path):
        first = (tmp_path / files.LOCK_NAME).stat().st_mtime_ns
        for _ in range(500):
            time.sleep(0.01)
            if (tmp_path / files.LOCK_NAME).stat().st_mtime_ns != first:
                break
        else:
            pytest.fail("the heartbeat was never refreshed")


def asleep_then_awake(folder, ready):
    """A script's run (its main thread holds the lock) that sleeps while another run takes its folder over, the
    takeover landing inside a heartbeat, between its reading the lock and its refreshing it."""
    files.HEARTBEAT_SECONDS = 0.01  # in this process only
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a background job of a shell script
    read_object = files.read_object

    def read_then_pause(path):
        holder = read_object(path)
        ready.set()
        time.sleep(0.5)
        return holder

    files.read_object = read_then_pause

    def main():
        time.sleep(20)
        print("went on writing a folder another run holds")

    files.run_main(main, folder)


@pytest.mark.parametrize("taken_over", [True, False], ids=["taken-over", "removed"])
def test_a_run_whose_lock_was_taken_over_stops_in_one_line_and_leaves_the_lock_alone(tmp_path, capfd, taken_over):
    """Its heartbeat silent for 5 minutes (a machine asleep), another run took the folder over, or took it over and
    finished, removing the lock: on waking it stops, and leaves the lock as it found it."""
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    run = context.Process(target=asleep_then_awake, args=(tmp_path, ready))
    run.start()
    assert ready.wait(30)
    other = {"host": "elsewhere", "pid": run.pid}  # the same PID on another machine
    if taken_over:
        write_lock(tmp_path, **other)
    else:
        (tmp_path / files.LOCK_NAME).unlink()
    run.join(30)
    out, err = capfd.readouterr()
    assert run.exitcode == 2 and "went on" not in out
    assert err.strip().splitlines() == [
        f"error: another run took over {tmp_path} while this one was silent (asleep?), or its lock was removed; this "
        "one stopped: let any other run finish, then run this again"
    ]
    lock = tmp_path / files.LOCK_NAME
    assert json.loads(lock.read_text()) == other if taken_over else not lock.exists()


def test_run_main_is_one_line_exit_2_and_names_what_earlier_runs_left_aside(tmp_path, capsys):
    outputs = tmp_path / "outputs"
    files.run_main(lambda: None, outputs)
    assert capsys.readouterr().out == "" and not (outputs / files.LOCK_NAME).exists()
    (outputs / "spider").mkdir()
    (outputs / "spider" / "base_0shot.stale-20260101-000000.jsonl").write_text("")
    (outputs / "lora.previous-20260101-000000").mkdir()
    files.run_main(lambda: None, outputs)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "2 set-aside file(s) or run(s) from earlier runs" in out
    assert "(*/*.stale-*, lora.previous-*); delete them" in out  # where they are, as README's cleaning up says

    def failing():
        raise PipelineError("the problem; the fix")

    with pytest.raises(SystemExit) as exit_:
        files.run_main(failing, outputs)
    assert exit_.value.code == 2 and capsys.readouterr().err == "error: the problem; the fix\n"
    assert not (outputs / files.LOCK_NAME).exists()


def test_more_processes_than_gpus_on_a_machine_is_one_line(monkeypatch):
    import torch

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(PipelineError, match=r"^2 processes on this machine but 1 GPU\(s\).*--nproc_per_node=1\)"):
        files.distributed()
