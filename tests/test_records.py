"""records.py and runner.py: atomic files, readable errors, resumable per-example files that never lose work."""

import json
import multiprocessing
import os

import pytest

import common
import records
import runner
from conftest import use_directories
from prompts import prompt_digest


def test_write_json_is_atomic_and_read_json_names_the_problem(tmp_path, monkeypatch):
    use_directories(monkeypatch, tmp_path / "prepared", tmp_path / "outputs")
    path = common.PATHS.spider_dev
    records.write_json(path, {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1} and [p.name for p in path.parent.iterdir()] == [path.name]
    path.write_text("{broken")
    with pytest.raises(common.PipelineError, match=r"spider_dev.json is not valid JSON .*run 0_preparando_dados.py"):
        records.read_json(path)
    with pytest.raises(common.PipelineError, match=r"run_manifest.json is missing; run 1_fine-tuning.py first"):
        records.read_json(common.PATHS.training_manifest)
    with pytest.raises(common.PipelineError, match=r"spider/base_3shot.jsonl is a folder.*run 2_calculando_baseline"):
        (common.PATHS.spider_results / "base_3shot.jsonl").mkdir(parents=True)
        records.read_json(common.PATHS.spider_results / "base_3shot.jsonl")


def test_producer_of_each_handed_off_file(tmp_path, monkeypatch):
    use_directories(monkeypatch, tmp_path / "prepared", tmp_path / "outputs")
    assert records.producer(common.PATHS.mmlu_dev) == "0_preparando_dados.py"
    assert records.producer(common.PATHS.training_manifest) == "1_fine-tuning.py"
    assert records.producer(records.results_path("spider", "base_0shot")) == "2_calculando_baseline.py"
    assert records.producer(records.results_path("spider", records.model_key(3))) == "3_avaliacao_customizada.py"
    assert records.producer(records.results_path("mmlu", "base")) == "4_analise_mmlu.py"
    assert records.key_epoch(records.model_key(5)) == 5 and records.key_epoch("base_3shot") == 0


def test_unwritable_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(common.PipelineError, match=r"cannot write .*check that its folder is writable"):
        records.write_json(blocker / "x.json", {})


def test_checkpoint_file_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "model.jsonl"
    path.write_text('{"index": 0}\n{"index": 1}\n{"ind')
    kept = records.read_jsonl_records(path)
    assert kept == [{"index": 0}, {"index": 1}]
    with records.open_checkpoint(path, kept) as handle:
        records.append_record(handle, {"index": 2})
    assert records.read_jsonl_records(path) == [{"index": 0}, {"index": 1}, {"index": 2}]
    path.write_text('{"index": 0}\n{bad\n{"index": 2}\n')
    with pytest.raises(common.PipelineError, match="line 2 is corrupt"):
        records.read_jsonl_records(path)
    path.write_text('{"no_index": 0}\n{"index": 2}\n')
    with pytest.raises(common.PipelineError, match="line 1: 'index' is a required property; delete the file"):
        records.read_jsonl_records(path)


def write_records(path, texts, indices):
    with records.open_checkpoint(path, []) as handle:
        for index in indices:
            records.append_record(handle, {"index": index, "prompt": prompt_digest(texts[index])})


def test_resume_reuses_only_records_made_the_same_way(tmp_path, capsys):
    path = tmp_path / "lora_epoch3.jsonl"
    texts = ["p0", "p1", "p2"]
    made_with = {"adapter_sha256": "aaa", "batch_size": 2}
    assert records.resume_records(path, made_with, texts) == ([], set())
    write_records(path, texts, (0, 1))
    # Same settings, more questions asked for (EVALUATION_ENTRIES_SIZE raised): the finished ones are reused.
    kept, reused = records.resume_records(path, made_with, texts + ["p3"])
    assert [r["index"] for r in kept] == [0, 1] and reused == {0, 1}
    # A changed prompt (other data, shots or template) is recomputed; the file is copied aside first.
    assert records.resume_records(path, made_with, ["p0", "changed", "p2"])[1] == {0}
    assert "has 1 records of other prompts: kept as" in capsys.readouterr().out
    # Another adapter (training redone with --fresh): the file is kept aside and nothing is reused.
    assert records.resume_records(path, dict(made_with, adapter_sha256="bbb"), texts) == ([], set())
    stale = sorted(tmp_path.glob("lora_epoch3.stale-*.jsonl"))
    assert len(stale) >= 1 and len(stale[-1].read_text().splitlines()) == 2 and not path.exists()
    assert "made with other adapter_sha256: kept as lora_epoch3.stale-" in capsys.readouterr().out
    assert json.loads((tmp_path / "lora_epoch3.made_with.json").read_text())["adapter_sha256"] == "bbb"


def test_resume_treats_a_torn_record_of_what_made_a_file_as_unknown(tmp_path, capsys):
    path = tmp_path / "base.jsonl"
    path.write_text('{"index": 0, "prompt": "x"}\n')
    (tmp_path / "base.made_with.json").write_text('{"model": ')
    assert records.resume_records(path, {"model": "m"}, ["p0"]) == ([], set())
    assert "has no record of what made it" in capsys.readouterr().out
    assert len(list(tmp_path.glob("base.stale-*.jsonl"))) == 1


def test_a_finished_file_is_not_rewritten(tmp_path):
    path = tmp_path / "base.jsonl"
    texts = ["p0", "p1"]
    runner.evaluate(path, {"m": 1}, texts, [0, 0], 2, lambda indices: [{"v": i} for i in indices], "t")
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    os.chmod(tmp_path, 0o555)  # read-only: a finished run must still succeed
    try:
        again = runner.evaluate(path, {"m": 1}, texts, [0, 0], 2, lambda indices: pytest.fail("recomputed"), "t")
    finally:
        os.chmod(tmp_path, 0o755)
    assert [r["v"] for r in again] == [0, 1]
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps


def test_shrinking_then_growing_the_set_recomputes_nothing(tmp_path):
    path = tmp_path / "base.jsonl"
    texts = [f"p{i}" for i in range(10)]
    computed = []

    def evaluate_batch(indices):
        computed.extend(indices)
        return [{"v": i} for i in indices]

    runner.evaluate(path, {"m": 1}, texts, [0] * 10, 4, evaluate_batch, "t")
    assert sorted(computed) == list(range(10))
    few = runner.evaluate(path, {"m": 1}, texts[:3], [0] * 3, 4, evaluate_batch, "t")
    assert [r["index"] for r in few] == [0, 1, 2] and len(computed) == 10
    assert len(records.read_jsonl_records(path)) == 10  # the 7 beyond the current size are kept
    again = runner.evaluate(path, {"m": 1}, texts, [0] * 10, 4, evaluate_batch, "t")
    assert [r["v"] for r in again] == list(range(10)) and len(computed) == 10


def hold_lock(folder, ready, release):
    with records.folder_lock(folder):
        ready.set()
        release.wait(30)


def test_a_second_run_on_the_same_folder_is_refused_naming_the_first(tmp_path):
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=hold_lock, args=(tmp_path, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(common.PipelineError, match=rf"another run \(PID {holder.pid}\) is writing"):
            with records.folder_lock(tmp_path):
                pass
    finally:
        release.set()
        holder.join(30)
    with records.folder_lock(tmp_path):  # free again once the first run ended
        pass


def test_a_finished_run_names_what_earlier_runs_left_aside(isolated_run, capsys):
    records.run_main(lambda: None)
    assert "set-aside" not in capsys.readouterr().out
    (common.PATHS.spider_results).mkdir(parents=True)
    (common.PATHS.spider_results / "base_0shot.stale-20260101-000000.jsonl").write_text("")
    (common.PATHS.outputs / "lora.previous-20260101-000000").mkdir()
    records.run_main(lambda: None)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "2 set-aside file(s) or run(s) from earlier runs" in out


def refuse_writes(monkeypatch, errno_code):
    """Every write of records.py fails as on a read-only folder or a full disk (root ignores chmod, so patch it)."""
    import builtins

    def failing_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise OSError(errno_code, os.strerror(errno_code), str(file))
        return builtins.open(file, mode, *args, **kwargs)

    def failing(*args, **kwargs):
        raise OSError(errno_code, os.strerror(errno_code))

    monkeypatch.setattr(records, "open", failing_open, raising=False)
    monkeypatch.setattr(records.os, "replace", failing)


def test_a_finished_run_on_a_read_only_folder_writes_nothing_and_succeeds(tmp_path, monkeypatch):
    import errno

    path = tmp_path / "base.jsonl"
    texts = ["p0", "p1", "p2"]
    runner.evaluate(path, {"m": 1}, texts, [0, 0, 0], 2, lambda indices: [{"v": i} for i in indices], "t")
    refuse_writes(monkeypatch, errno.EROFS)
    again = runner.evaluate(path, {"m": 1}, texts, [0, 0, 0], 2, lambda indices: pytest.fail("recomputed"), "t")
    assert [r["v"] for r in again] == [0, 1, 2]
    with pytest.raises(common.PipelineError, match=r"cannot write .*base.jsonl \(Read-only file system\); check"):
        runner.evaluate(path, {"m": 1}, texts + ["p3"], [0] * 4, 2, lambda indices: [{"v": i} for i in indices], "t")


def test_a_disk_that_fills_mid_run_is_one_line_and_the_run_resumes(tmp_path, monkeypatch):
    import errno

    path = tmp_path / "base.jsonl"
    texts = [f"p{i}" for i in range(4)]
    fsyncs = []

    def fsync_until_full(descriptor):
        fsyncs.append(descriptor)
        if len(fsyncs) > 2:  # the made_with file and the first record fit; then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(records.os, "fsync", fsync_until_full)
        with pytest.raises(common.PipelineError, match=r"cannot write .*base.jsonl \(No space left on device\)"):
            runner.evaluate(path, {"m": 1}, texts, [0] * 4, 1, lambda indices: [{"v": i} for i in indices], "t")
    done = runner.evaluate(path, {"m": 1}, texts, [0] * 4, 1, lambda indices: [{"v": i} for i in indices], "t")
    assert [r["v"] for r in done] == [0, 1, 2, 3]


def test_a_made_with_file_of_another_shape_is_unknown_provenance(tmp_path, capsys):
    path = tmp_path / "base.jsonl"
    runner.evaluate(path, {"m": 1}, ["p0"], [0], 1, lambda indices: [{"v": 0}], "t")
    records.made_with_path(path).write_text("[1]")
    runner.evaluate(path, {"m": 1}, ["p0"], [0], 1, lambda indices: [{"v": 9}], "t")
    assert "has no record of what made it: kept as base.stale-" in capsys.readouterr().out
    assert [r["v"] for r in records.read_jsonl_records(path)] == [9]
