"""The handed-off files: atomic writes, readers whose errors name the script to run, the per-example result files
(what made them, resumption, checkpoints), the run lock and the one-line exit of every script.

Result files are JSONL, one record per example keyed by "index" and carrying the hash of its prompt, beside a
`<key>.made_with.json` saying what made them. Nothing here ever deletes a finished record: results made otherwise
are kept aside as `<key>.stale-<time>.jsonl`, and records beyond the current EVALUATION_ENTRIES_SIZE stay in the file.
"""

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from filelock import FileLock, Timeout

import common
import schemas
from prompts import prompt_digest

SCRIPTS = (
    "0_preparando_dados.py",
    "1_fine-tuning.py",
    "2_calculando_baseline.py",
    "3_avaliacao_customizada.py",
    "4_analise_mmlu.py",
)


def producer(path):
    """The script that writes a handed-off file, for the hints of errors about it (None: not a handed-off file)."""
    path, paths = Path(path), common.PATHS
    if path.is_relative_to(paths.prepared):
        return SCRIPTS[0]
    if path.is_relative_to(paths.lora):
        return SCRIPTS[1]
    if path.is_relative_to(paths.spider_results):
        return SCRIPTS[2] if path.name.startswith("base_") else SCRIPTS[3]
    if path.is_relative_to(paths.mmlu_results):
        return SCRIPTS[4]
    return None


def model_key(epoch):
    """The name of one evaluated model's result files: base, or the adapter of one epoch."""
    return "base" if epoch is None else f"lora_epoch{epoch}"


def results_path(benchmark, key):
    """One model's per-example file: spider/<key>.jsonl or mmlu/<key>.jsonl."""
    return {"spider": common.PATHS.spider_results, "mmlu": common.PATHS.mmlu_results}[benchmark] / f"{key}.jsonl"


def key_epoch(key):
    """model_key's inverse: the epoch of a LoRA key, 0 for the base model (under any prompt)."""
    return int(key.removeprefix("lora_epoch")) if key.startswith("lora_epoch") else 0


# ---------------------------------------------------------------------------------------------------------------
# Files


def write_bytes(path, data):
    """Write atomically: a temporary file in the same folder, then a rename. A crash leaves the old file. An
    unchanged file is not written at all, so a finished run re-run on a read-only folder writes nothing."""
    path = Path(path)
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise cannot_write(path, error) from None


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def cannot_write(path, error):
    """The one line for a write that failed: a read-only folder, a full disk."""
    return common.PipelineError(
        f"cannot write {path} ({error.strerror or error}); check that its folder is writable and the disk is not full"
    )


def write_json(path, data):
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_json(path, schema=None, fix=None):
    """Read a JSON file, checked against its schema (schemas.py), or fail with one line naming the file, the entry at
    fault and the fix (by default: run the script that makes it)."""
    path = Path(path)
    script = producer(path)
    if not path.is_file():
        state = "is a folder, not a file" if path.is_dir() else "is missing"
        raise common.PipelineError(f"{path} {state}" + (f"; run {script} first" if script else ""))
    fix = fix or (f"run {script} again" if script else "correct or replace it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise common.PipelineError(f"{path} is not valid JSON ({error}); {fix}") from None
    schema = schema or schemas.schema_of(path)
    return data if schema is None else schemas.check(data, schema, str(path), fix)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Per-example result files


def read_jsonl_records(path):
    """Records of a per-example file in file order, the last one per index. A torn last line (a kill mid-write) is
    dropped."""
    path = Path(path)
    if not path.exists():
        return []
    fix = "delete the file to recompute it"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except IsADirectoryError:
        raise common.PipelineError(f"{path} is a folder, not a results file; move it away") from None
    except UnicodeDecodeError as error:
        raise common.PipelineError(f"{path} is not UTF-8 text (byte {error.start}); {fix}") from None
    schema = schemas.schema_of(path)
    by_index = {}
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise common.PipelineError(f"{path} line {number} is corrupt; {fix}") from None
        schemas.check(record, schema, f"{path} line {number}", fix)
        by_index[record["index"]] = record  # a repeated index keeps its first place and its last record
    return list(by_index.values())


def made_with_path(path):
    return Path(path).with_name(Path(path).stem + ".made_with.json")


def set_aside(path, why, move=True):
    """Keep a results file under a stale name (moved, or copied when its valid records stay in use)."""
    kept = path.with_name(f"{path.stem}.stale-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
    (path.rename if move else lambda target: shutil.copy2(path, target))(kept)
    print(f"{path.name} {why}: kept as {kept.name}, recomputing")


def resume_records(path, made_with, prompts):
    """The records of a per-example file that this run keeps (in file order), and the indices it reuses.

    Reused: made with the same model and settings (made_with) and, each, the same prompt. A file made otherwise
    (say, adapters retrained with --fresh) is set aside whole; records whose prompt changed are recomputed, the file
    copied aside first. Records beyond the prompts (a lower EVALUATION_ENTRIES_SIZE) are kept, not used."""
    path = Path(path)
    settings_file = made_with_path(path)
    if path.exists():
        try:
            previous = json.loads(settings_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):  # absent or torn: unknown provenance is treated as different
            previous = None
        previous = previous if isinstance(previous, dict) else None
        if previous != made_with:
            changed = sorted(key for key in made_with if (previous or {}).get(key) != made_with[key])
            set_aside(
                path, f"was made with other {', '.join(changed)}" if previous else "has no record of what made it"
            )
    write_json(settings_file, made_with)  # written only if changed
    records = read_jsonl_records(path)
    within = [record for record in records if record["index"] < len(prompts)]
    reused = {record["index"] for record in within if record.get("prompt") == prompt_digest(prompts[record["index"]])}
    if len(reused) < len(within):
        set_aside(path, f"has {len(within) - len(reused)} records of other prompts", move=False)
    return [record for record in records if record["index"] in reused or record["index"] >= len(prompts)], reused


def read_text_or_none(path):
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return None


def open_checkpoint(path, records):
    """Open a per-example file for appending, rewriting it first from the given records (drops a torn line)."""
    path = Path(path)
    write_text(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
    try:
        return open(path, "a", encoding="utf-8")
    except OSError as error:
        raise cannot_write(path, error) from None


def append_record(handle, record):
    """Append one example's outcome and flush it to disk, so a kill loses at most the example in flight. A line
    torn by a full disk is dropped when the file is read again, as after a kill."""
    try:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    except OSError as error:
        with contextlib.suppress(OSError):
            handle.close()  # its unwritten buffer would fail again on the way out
        raise cannot_write(handle.name, error) from None


def say_what_was_set_aside():
    """One line if earlier runs left stale result files or previous training runs (README: cleaning up)."""
    outputs = common.PATHS.outputs
    stale = sorted(outputs.glob("*/*.stale-*")) + sorted(outputs.glob("lora.previous-*"))
    if stale:
        print(
            f"{len(stale)} set-aside file(s) or run(s) from earlier runs in {outputs} (*.stale-*, lora.previous-*); "
            f"delete them when you no longer need them"
        )


# ---------------------------------------------------------------------------------------------------------------
# Running a script


def run_main(main, *args, lock_folder=None):
    """Run a script's main() holding the lock of the folder it writes: a PipelineError becomes one line on stderr
    and exit code 2, Ctrl-C one line and exit code 130, another run on the same folder one line naming its PID.
    A finished run ends with one line about the stale files and earlier runs kept aside, if any."""
    try:
        if lock_folder is None:
            main(*args)
        else:
            with folder_lock(lock_folder):
                main(*args)
        say_what_was_set_aside()
    except common.PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("interrupted; run the same command to continue", file=sys.stderr)
        raise SystemExit(130) from None


def lock_path(folder):
    """Where the lock of a folder lives: in the machine's temporary folder, keyed by the folder's real path, so that
    two clones writing one OUTPUT_DIR share it and taking it writes nothing into the folder itself."""
    folder = Path(folder).resolve()
    name = f"{folder.name}-{hashlib.sha256(str(folder).encode()).hexdigest()[:12]}.lock"
    return Path(tempfile.gettempdir()) / "spider-tradeoff-locks" / name


@contextlib.contextmanager
def folder_lock(folder):
    """Hold the lock of a folder for this process, its PID written beside it; a second run stops at once."""
    path = lock_path(folder)
    pid_file = path.with_suffix(".pid")
    lock = FileLock(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=0)
    except Timeout:
        pid = (read_text_or_none(pid_file) or "unknown").strip()
        raise common.PipelineError(
            f"another run (PID {pid}) is writing {folder}; wait for it to finish, or stop it, then run this again"
        ) from None
    except OSError as error:
        raise common.PipelineError(
            f"cannot create the lock {path} ({error.strerror or error}); check that {path.parent} is writable"
        ) from None
    try:
        pid_file.write_text(str(os.getpid()), encoding="utf-8")
        yield
    finally:
        pid_file.unlink(missing_ok=True)
        lock.release()
