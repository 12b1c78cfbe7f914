"""Handed-off files, the resumable per-example loop, the work shared by processes, the run lock, the one-line exit."""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import jsonschema
from tqdm.auto import tqdm

from tradeoff import PipelineError

SCRIPTS = ("0_preparando_dados.py", "1_fine-tuning.py", "2_calculando_baseline.py", "3_avaliacao_customizada.py",
           "4_analise_mmlu.py")  # fmt: skip
FRESH_HINT = f"run {SCRIPTS[1]} --fresh to train again (the old run is kept beside it)"
STALE_MARK = ".stale-"  # in the name of a results file set aside
PREVIOUS_RUN = "lora.previous-"  # the start of the name of an earlier training run, kept by --fresh


def _under(folder, name):
    return property(lambda self: getattr(self, folder) / name)


@dataclass(frozen=True)
class Paths:
    """Every handed-off file, one name each, under the prepared-data and output folders."""

    prepared: Path
    outputs: Path
    spider_train = _under("prepared", "spider_train.json")
    spider_dev = _under("prepared", "spider_dev.json")
    mmlu_test = _under("prepared", "mmlu_test.json")
    mmlu_dev = _under("prepared", "mmlu_dev.json")
    prepared_manifest = _under("prepared", "manifest.json")
    lora = _under("outputs", "lora")
    training_manifest = _under("outputs", "lora/run_manifest.json")
    loss_log = _under("outputs", "lora/loss_log.csv")
    spider_results = _under("outputs", "spider")
    mmlu_results = _under("outputs", "mmlu")
    report = _under("outputs", "report.md")
    results_json = _under("outputs", "results.json")
    results_csv = _under("outputs", "results.csv")
    tradeoff_plot = _under("outputs", "tradeoff.png")
    loss_plot = _under("outputs", "training_loss.png")

    def results(self, benchmark, key):
        return (self.spider_results if benchmark == "spider" else self.mmlu_results) / f"{key}.jsonl"

    def prepared_sha256(self, benchmark):
        """The prepared files a benchmark's evaluations read, by name, with their sha256 (None for an absent one)."""
        read = (self.spider_dev, self.spider_train) if benchmark == "spider" else (self.mmlu_test, self.mmlu_dev)
        return {path.name: sha256_file(path) if path.exists() else None for path in read}

    def producer(self, path):
        """The script that writes a handed-off file, for the hints of errors about it (None: not one of ours)."""
        path = Path(path)
        if path.is_relative_to(self.spider_results):
            return SCRIPTS[2] if path.name.startswith("base_") else SCRIPTS[3]
        producers = {self.prepared: SCRIPTS[0], self.lora: SCRIPTS[1], self.mmlu_results: SCRIPTS[4]}
        return next((script for folder, script in producers.items() if path.is_relative_to(folder)), None)


def model_key(epoch):
    """The name of one evaluated model's result files: base, or the adapter of one epoch."""
    return "base" if epoch is None else f"lora_epoch{epoch}"


def key_epoch(key):
    """model_key's inverse: the epoch of a LoRA key, 0 for the base model (under any prompt)."""
    return int(key.removeprefix("lora_epoch")) if key.startswith("lora_epoch") else 0


def digest(*parts):
    """A short hash of any JSON-able inputs (lone surrogates included: json escapes them to ASCII)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("ascii")).hexdigest()[:16]


def sha256_file(path):
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def process_count():
    """The number of processes of this run, as accelerate launch and torchrun announce it."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def process_index():
    """This process's rank among them; rank 0 is the main process."""
    return int(os.environ.get("RANK", "0"))


def is_main_process():
    return process_index() == 0


def distributed():
    """accelerate's PartialState under several processes (gloo on CPUs, nccl on GPUs), None for one (no import)."""
    if process_count() == 1:
        return None
    import torch
    from accelerate import PartialState

    gpus, local = torch.cuda.device_count(), int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if torch.cuda.is_available() and local > gpus:  # each process takes its own GPU
        raise PipelineError(
            f"{local} processes on this machine but {gpus} GPU(s): start at most one per GPU "
            f"(torchrun --nproc_per_node={gpus}), or one process for all of them"
        )
    return PartialState(cpu=not torch.cuda.is_available())


def main_process_first():
    """A context in which the main process runs first, the others once it is done."""
    state = distributed()
    return state.main_process_first() if state else contextlib.nullcontext()


def broadcast(value):
    """The main process's value, on every process."""
    if distributed() is None:
        return value
    from accelerate.utils import broadcast_object_list

    return broadcast_object_list([value])[0]


def cannot_write(path, error):
    return PipelineError(
        f"cannot write {path} ({error.strerror or error}); check that its folder is writable and the disk is not full"
    )


def write_bytes(path, data):
    """Write atomically (a temporary file, then a rename), on the main process only. An unchanged file is not
    written at all, so a finished run re-run rewrites nothing."""
    path = Path(path)
    if not is_main_process():
        return
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
    write_bytes(path, text.encode("utf-8", errors="surrogatepass"))


def write_json(path, data):
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def check(data, schema, where, fix):
    """Raise one line (where, the entry at fault, what is wrong, fix) if data does not match the JSON Schema."""
    error = next(jsonschema.Draft202012Validator(schema).iter_errors(data), None)  # the first in file order
    if error is not None:
        at = ", ".join(f"entry {p}" if isinstance(p, int) else f"field {p!r}" for p in error.absolute_path)
        message = error.message if len(error.message) <= 120 else error.message[:120] + "..."
        raise PipelineError(f"{where}{f' {at}' if at else ''}: {message}; {fix}")
    return data


def read_json(path, made_by=None, fix=None, schema=None):
    """A JSON file, or one line naming the file and the fix (by default: run the script that makes it)."""
    path = Path(path)
    if not path.is_file():
        state = "is a folder, not a file" if path.is_dir() else "is missing"
        raise PipelineError(f"{path} {state}; " + (fix or (f"run {made_by} first" if made_by else "provide it")))
    fix = fix or (f"run {made_by} again" if made_by else "correct or replace it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PipelineError(f"{path} is not valid JSON ({error}); {fix}") from None
    return data if schema is None else check(data, schema, str(path), fix)


def read_object(path):
    """A JSON object file of ours, {} if it is absent, torn (a kill mid-write) or not an object."""
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    return {}


def read_records(path):
    """Records of a per-example file in file order, the last one per index ([] if absent). A torn last line (a kill
    mid-write) is dropped."""
    path, fix = Path(path), "delete the file to recompute it"
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except IsADirectoryError:
        raise PipelineError(f"{path} is a folder, not a results file; move it away") from None
    except UnicodeDecodeError as error:
        raise PipelineError(f"{path} is not UTF-8 text (byte {error.start}); {fix}") from None
    by_index = {}
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise PipelineError(f"{path} line {number} is corrupt; {fix}") from None
        if not isinstance(record, dict) or type(record.get("index")) is not int or record["index"] < 0:
            raise PipelineError(f"{path} line {number} has no index; {fix}")
        by_index[record["index"]] = record  # a repeated index keeps its first place and its last record
    return list(by_index.values())


def set_aside(path, why, move=True):
    """Keep a results file under a stale name (moved, or copied when its valid records stay in use)."""
    kept = path.with_name(f"{path.stem}{STALE_MARK}{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
    (shutil.move if move else shutil.copy2)(path, kept)
    print(f"{path.name} {why}: kept as {kept.name}, recomputing")


def made_with_path(path):
    """Where a per-example file's record of what made it lives."""
    return Path(path).with_suffix(".made_with.json")


def resume(path, made_with, keys):
    """The records of a per-example file that this run keeps (in file order), and the indices it reuses: those of a
    file made the same way (made_with) whose key is still the example's. A file made otherwise is set aside whole;
    records of other inputs are recomputed, the file copied aside first; records beyond the keys are kept unused.
    made_with's "inputs" are recorded for the report, not compared: the keys tell which records still hold."""
    path, settings_file = Path(path), made_with_path(path)
    previous = read_object(settings_file)  # {}: unknown provenance, taken as different
    changed = sorted(key for key in {*previous, *made_with} - {"inputs"} if previous.get(key) != made_with.get(key))
    if path.exists() and (changed or not previous):
        set_aside(path, f"was made with other {', '.join(changed)}" if previous else "has no record of what made it")
    write_json(settings_file, made_with)
    records = read_records(path)
    within = [record for record in records if record["index"] < len(keys)]
    reused = {record["index"] for record in within if record.get("key") == keys[record["index"]]}
    if len(reused) < len(within):
        set_aside(path, f"has {len(within) - len(reused)} records of other inputs", move=False)
    return [record for record in records if record["index"] in reused or record["index"] >= len(keys)], reused


def batch_plan(lengths, batch_size, done=()):
    """Batches of indices of similar length, longest first (little padding; an out-of-memory shows at once), planned
    over the whole set so a resumed run computes each batch as an uninterrupted one would; done batches left out."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    return [batch for batch in batches if not set(done).issuperset(batch)]


def is_out_of_memory(error):
    """torch.OutOfMemoryError, or a RuntimeError saying so ("CUDA out of memory", cuBLAS failing to allocate)."""
    message = str(error)
    return type(error).__name__ == "OutOfMemoryError" or "out of memory" in message.lower() or "ALLOC_FAILED" in message


def run_batches(plan, batch_size, evaluate_batch):
    """Yield each planned batch as [(index, output)], computed in chunks halved on out-of-memory. Batching changes the
    arithmetic: the outputs of a batch split on the way say in what size they were computed (made_with has the
    planned one)."""
    for batch in plan:
        outputs = []
        while len(outputs) < len(batch):
            chunk = batch[len(outputs) : len(outputs) + batch_size]
            try:
                chunk_outputs = evaluate_batch(chunk)
            except RuntimeError as error:  # torch.OutOfMemoryError is a RuntimeError
                if not is_out_of_memory(error) or batch_size == 1:
                    raise
                batch_size //= 2
                print(f"out of memory: batch size halved to {batch_size}")
                continue
            split = {"batch_size": len(chunk)} if len(chunk) < len(batch) else {}
            outputs += [{**output, **split} for output in chunk_outputs]
        yield list(zip(batch, outputs))


def jsonl(records):
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def append_records(path, records):
    """Append records to a per-example file on the main process, synced, so a kill loses at most the batch in flight
    (and tears at most its last line, which read_records drops)."""
    if not is_main_process():
        return
    try:
        with open(path, "a", encoding="utf-8", errors="surrogatepass") as handle:
            handle.write(jsonl(records))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise cannot_write(path, error) from None


def evaluate(path, made_with, keys, lengths, batch_size, evaluate_batch, description):
    """Evaluate every example, resuming from its per-example file; returns the records of these examples in order.
    keys: a digest per example of every input of its score; evaluate_batch(indices): a record (dict) per index, which
    the loop completes with "index" and "key"; lengths order the batches (all equal: file order).
    Under several processes batch i of each round of the plan goes to process i and the main process appends the
    round in plan order: the file is the one process's, byte for byte, and resumes under any number of processes."""
    path, main, rank, count = Path(path), is_main_process(), process_index(), process_count()
    kept, done = resume(path, made_with, keys) if main else ([], set())
    done = set(broadcast(sorted(done)))
    plan = batch_plan(lengths, batch_size, done)
    if plan:  # all done: write nothing
        write_text(path, jsonl(kept))  # drops a torn line
        mine = run_batches(plan[rank::count], batch_size, evaluate_batch)
        with tqdm(total=len(keys), initial=len(done), desc=description, unit="question", disable=not main) as progress:
            for start in range(0, len(plan), count):
                computed = [next(mine)] if start + rank < len(plan) else []
                if count > 1:
                    from accelerate.utils import gather_object

                    computed = gather_object(computed)  # every process's batch of this round, in process order
                for batch in computed:
                    new = [{"index": i, "key": keys[i], **output} for i, output in batch if i not in done]
                    append_records(path, new)
                    progress.update(len(new))
    records = read_records(path) if main else []
    return broadcast(sorted((r for r in records if r["index"] < len(keys)), key=lambda r: r["index"]))


LOCK_NAME = ".run.lock"
HEARTBEAT_SECONDS = 30
STALE_AFTER_SECONDS = 300  # a holder silent this long is gone (a Colab disconnect, a machine that died)


def _holder_is_gone(holder, path):
    try:  # the heartbeat is the file's time: refreshing it cannot overwrite who holds the lock
        if time.time() - path.stat().st_mtime > STALE_AFTER_SECONDS:
            return True
    except OSError:  # let go of meanwhile
        return True
    if holder.get("host") != socket.gethostname():
        return False
    try:
        pid = int(holder["pid"])
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, LookupError, TypeError, ValueError):  # no usable PID (a lock edited by hand): held until stale
        return False
    with contextlib.suppress(OSError):  # killed but not yet reaped by its parent (a zombie): gone too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return False


@contextlib.contextmanager
def folder_lock(folder):
    """Hold the lock of an output folder: a file inside it naming host and PID, its time (the heartbeat) refreshed
    while the run lasts. Another run on the folder stops at once; a lock whose holder is gone is taken over, and a
    holder that finds at its heartbeat that it was taken over (it had stalled) or that its lock is gone stops. It
    lives with the folder, so it holds whatever TMPDIR is, and across machines sharing a Drive or network folder."""
    folder, me = Path(folder), {"host": socket.gethostname(), "pid": os.getpid()}
    path = folder / LOCK_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        open(path, "x").close()  # created only if absent; until filled below, another run reads "starting now"
    except FileExistsError:
        holder = read_object(path)
        if not _holder_is_gone(holder, path):
            who = f"PID {holder.get('pid')} on {holder.get('host')}" if holder else "starting now"
            raise PipelineError(
                f"another run ({who}) is writing {folder}; wait for it to finish, or stop it, then run this again"
            ) from None
        print(f"taking over the lock of {folder}: its holder ({holder or 'unknown'}) is gone")
    except OSError as error:
        raise PipelineError(
            f"cannot create the lock {path} ({error.strerror}); check that {folder} is writable"
        ) from None
    write_json(path, me)
    stop, taken_over = threading.Event(), threading.Event()
    # A takeover stops the run as Ctrl-C would, by SIGUSR1: SIGINT is ignored in a background job of a shell script.
    previous = signal.signal(signal.SIGUSR1, signal.default_int_handler)  # every caller is a script's main thread

    def beat():
        while not stop.wait(HEARTBEAT_SECONDS):
            holder = read_object(path)  # {} also while unreadable an instant: then only a missing lock counts
            if holder != me and (holder or not path.exists()):
                taken_over.set()  # silent too long (a machine asleep): another run holds the folder, or held it
                signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)  # wakes a sleep or a wait too
                return
            with contextlib.suppress(OSError):  # a takeover between the read and now only freshens the other's
                os.utime(path)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    except KeyboardInterrupt:
        if taken_over.is_set():
            raise PipelineError(
                f"another run took over {folder} while this one was silent (asleep?), or its lock was removed; this "
                "one stopped: let any other run finish, then run this again"
            ) from None
        raise
    finally:
        stop.set()
        thread.join()
        if previous is not None:  # None also for a handler not installed from Python: then left as ours
            signal.signal(signal.SIGUSR1, previous)
        if read_object(path) == me:
            path.unlink(missing_ok=True)


def run_main(main, lock_folder):
    """Run a script's main() with the lock of the folder it writes, held by the main process: a PipelineError becomes
    one line on stderr and exit code 2 (on every process), Ctrl-C one line and exit code 130; then one line about
    files earlier runs left aside, if any. The other processes print nothing but errors."""
    try:
        state = distributed()
        if state and is_main_process():
            print(f"{state.num_processes} processes: this one (rank 0) writes every file, the others compute with it")
        with contextlib.ExitStack() as stack:
            refusal = None
            if is_main_process():
                try:
                    stack.enter_context(folder_lock(lock_folder))
                except PipelineError as error:
                    refusal = str(error)
            else:
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
            if refusal := broadcast(refusal):
                raise PipelineError(refusal)
            main()
            patterns = (f"*/*{STALE_MARK}*", f"{PREVIOUS_RUN}*")
            stale = [path for pattern in patterns for path in Path(lock_folder).glob(pattern)]
            if stale:  # README: cleaning up
                print(
                    f"{len(stale)} set-aside file(s) or run(s) from earlier runs in {lock_folder} "
                    f"({', '.join(patterns)}); delete them when you no longer need them"
                )
            if state:
                state.wait_for_everyone()  # the lock is let go once every process is done
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("interrupted; run the same command to continue", file=sys.stderr)
        raise SystemExit(130) from None
