"""Running untrusted SQL: a read-only sqlite connection inside a reused worker process that is killed at the deadline.

Each layer closes a hole the others leave:
    authorizer, mode=ro, query_only     no writes, no schema changes, no ATTACH, no extensions
    progress handler                    stops a slow statement between VM steps (the usual timeout: no restart)
    kill at the deadline                stops what the progress handler cannot see: one long function call
    row, byte and value caps            bounded results (SqlLimits, SQLITE_LIMIT_LENGTH)
    sqlite heap limit, RLIMIT_AS        memory backstops inside the worker only
The worker exits when its request pipe closes or its parent dies, and ignores Ctrl-C (the parent decides).
"""

import atexit
import contextlib
import os
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from pathlib import Path


@dataclass(frozen=True)
class SqlLimits:
    """The budget of one query: seconds, rows, payload bytes of a result, characters of the SQL text."""

    timeout_seconds: float
    max_rows: int
    max_result_bytes: int
    max_prediction_chars: int


# Every error_kind a Spider record can carry, in the report's order: this sandbox's kinds, "too_long" (over the caps),
# "not_text" (an external prediction that is not a string), "wrong_result", "other".
ERROR_KINDS = tuple(
    "syntax unknown_table_or_column not_a_query write_blocked timeout too_many_rows too_large too_long not_text "
    "wrong_result other".split()
)
# Read-only pragmas a query may use as a statement (pragma_table_info(...) in a SELECT stays refused: sqlite checks it
# as a write to sqlite_master).
READ_PRAGMAS = set(
    "table_info table_xinfo table_list index_list index_info index_xinfo foreign_key_list collation_list "
    "function_list".split()
)
DENIED_FUNCTIONS = {"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"}
ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}
PROGRESS_EVERY = 10_000  # VM instructions between deadline checks: well under a millisecond each
MAX_VALUE_BYTES = 50_000_000  # one string or blob, also inside an expression: printf('%.*c', 2e9, 'x') fails early
KILL_GRACE_SECONDS = 0.5  # the progress handler usually answers at the deadline; the kill waits this much longer
WORKER_START_SECONDS = 60.0  # a fresh interpreter on a loaded machine; exceeding it is a setup problem
SQLITE_HEAP_BYTES = 512 * 2**20  # sqlite's own allocations (sorts, temp tables in memory) fail beyond this
WORKER_ADDRESS_SPACE_BYTES = 2 * 2**30  # the whole worker: a bare interpreter maps ~30 MB, a full result ~200 MB
PROJECT_DIR = Path(__file__).resolve().parent.parent

# sqlite's authorizer action codes by number (1 to 33): for saying what was blocked ("DELETE singer").
ACTION_NAMES = """- CREATE_INDEX CREATE_TABLE CREATE_TEMP_INDEX CREATE_TEMP_TABLE CREATE_TEMP_TRIGGER CREATE_TEMP_VIEW
    CREATE_TRIGGER CREATE_VIEW DELETE DROP_INDEX DROP_TABLE DROP_TEMP_INDEX DROP_TEMP_TABLE DROP_TEMP_TRIGGER
    DROP_TEMP_VIEW DROP_TRIGGER DROP_VIEW INSERT PRAGMA READ SELECT TRANSACTION UPDATE ATTACH DETACH ALTER_TABLE
    REINDEX ANALYZE CREATE_VTABLE DROP_VTABLE FUNCTION SAVEPOINT RECURSIVE""".split()
SCHEMA_TABLES = {"sqlite_master", "sqlite_temp_master", "sqlite_schema", "sqlite_temp_schema"}


def classify_error(message):
    """sqlite's (or Python's) message to one of ERROR_KINDS."""
    text = message.lower()
    if "no such table" in text or "no such column" in text or "ambiguous column" in text:
        return "unknown_table_or_column"
    if "syntax error" in text or "incomplete input" in text or "unrecognized token" in text:
        return "syntax"
    if "string or blob too big" in text or "out of memory" in text or text == "memoryerror":
        return "too_large"
    # Blocked by the sandbox: writes, schema changes, ATTACH, pragmas, extensions, a second statement (a hidden write).
    blocked = ("not authorized", "authorization denied", "readonly database", "one statement at a time")
    return "write_blocked" if any(phrase in text for phrase in blocked) else "other"


def _failure(kind, message):
    return {"ok": False, "rows": None, "error_kind": kind, "message": message}


def run_query(db_uri, sql, limits):
    """One statement on a fresh read-only connection, in this process; never raises for a bad query."""
    deadline = time.monotonic() + limits.timeout_seconds
    denied = []

    def authorize(action, arg1, arg2, db_name, trigger):
        """Reading and computing, nothing else; what is refused is named, e.g. "DELETE singer"."""
        target = arg2 if action == sqlite3.SQLITE_FUNCTION else arg1
        name = (target or "").lower()
        if (
            action in ALLOWED_ACTIONS
            or (action == sqlite3.SQLITE_FUNCTION and name not in DENIED_FUNCTIONS)
            or (action == sqlite3.SQLITE_PRAGMA and name in READ_PRAGMAS)
        ):
            return sqlite3.SQLITE_OK
        description = ACTION_NAMES[action] + (f" {target}" if target else "")
        # CREATE and DROP are first checked as writes to the schema table: "INSERT sqlite_master" alone puzzles.
        denied.append(f"schema change: {description}" if target in SCHEMA_TABLES else description)
        return sqlite3.SQLITE_DENY

    try:
        # mode=ro: sqlite itself refuses every write, whatever gets past the authorizer (extensions: never enabled).
        with contextlib.closing(sqlite3.connect(db_uri, uri=True, timeout=1.0, isolation_level=None)) as connection:
            connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
            connection.execute("PRAGMA query_only=ON")
            connection.execute("PRAGMA temp_store=MEMORY")  # sorts spill to the capped heap, not to temp files
            connection.set_authorizer(authorize)
            # Spider has a few non-UTF-8 strings; the official evaluator ignores bad bytes, we keep a visible mark.
            connection.text_factory = lambda data: data.decode("utf-8", errors="replace")
            connection.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_EVERY)
            cursor = connection.execute(sql)  # execute() refuses a second statement
            if cursor.description is None:
                return _failure("not_a_query", "no result columns")
            rows, size = [], 0
            for row in cursor:  # one at a time: neither cap is overshot by more than one row
                size += sum(len(value) if isinstance(value, (str, bytes)) else 8 for value in row)
                if size > limits.max_result_bytes:
                    return _failure("too_large", f"result over {limits.max_result_bytes:,} bytes")
                if len(rows) == limits.max_rows:
                    return _failure("too_many_rows", f"more than {limits.max_rows} rows")
                rows.append(tuple(row))
            return {"ok": True, "rows": rows, "error_kind": None, "message": ""}
    except Exception as error:  # noqa: BLE001 -- sqlite errors, MemoryError, anything: a bad prediction must never crash a run
        message = str(error) or type(error).__name__
        if message == "interrupted":  # only the progress handler interrupts
            return _failure("timeout", f"exceeded {limits.timeout_seconds:g} s")
        if denied:  # say what was blocked: "not authorized (DELETE singer)"
            message += f" ({', '.join(dict.fromkeys(denied))})"
        return _failure(classify_error(message), message)


def serve(fd, parent_pid):
    """The worker's loop: one request, one reply, until the parent closes its end of the pipe."""

    def exit_with_parent():  # a killed parent must not leave this worker spinning: sqlite releases the GIL
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    with contextlib.suppress(ValueError, OSError):  # refused on some systems; the other caps still hold
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_ADDRESS_SPACE_BYTES, WORKER_ADDRESS_SPACE_BYTES))
    with contextlib.closing(sqlite3.connect(":memory:")) as connection:
        connection.execute(f"PRAGMA hard_heap_limit={SQLITE_HEAP_BYTES}")  # process-wide
    pipe = Connection(fd)
    pipe.send("ready")
    with contextlib.suppress(EOFError):
        while True:
            pipe.send(run_query(**pipe.recv()))


_worker = None
_worker_lock = threading.Lock()  # DeepEval scores each case in its own thread: one query in the worker at a time


class _Worker:
    """The worker process and the parent's end of the pipe to it."""

    def __init__(self):
        self.pipe, worker_end = Pipe()
        worker_fd = worker_end.fileno()
        # -c with an explicit path: works whatever sys.path the parent had (PYTHONSAFEPATH, a script elsewhere).
        # SIGINT is ignored before anything else: a Ctrl-C in the terminal reaches the whole process group.
        boot = (
            f"import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); import sys; "
            f"sys.path.insert(0, {str(PROJECT_DIR)!r}); from tradeoff import sql_sandbox; "
            f"sql_sandbox.serve({worker_fd}, {os.getpid()})"
        )
        self.process = subprocess.Popen([sys.executable, "-c", boot], pass_fds=[worker_fd], stdin=subprocess.DEVNULL)
        worker_end.close()
        self.owner = os.getpid()
        with contextlib.suppress(EOFError):  # it died while starting; its traceback is on stderr
            if self.pipe.poll(WORKER_START_SECONDS) and self.pipe.recv() == "ready":
                return
        self.stop()
        raise RuntimeError(f"the SQL sandbox worker did not start within {WORKER_START_SECONDS:g} s")

    def alive(self):
        return self.owner == os.getpid() and self.process.poll() is None

    def stop(self):
        self.process.kill()  # nothing to save: it holds only a read-only connection
        self.process.wait()
        self.pipe.close()


@atexit.register
def stop_worker():
    """Kill the worker, if this process started one (at exit, after a timeout)."""
    global _worker
    if _worker is not None and _worker.owner == os.getpid():
        _worker.stop()
    _worker = None


def _ask_worker(request, timeout_seconds, attempts=2):
    """The worker's reply, or a failure after killing it: at the deadline (timeout) or when it died (other). A dead
    worker's request goes once more to a fresh one: one killed between queries then answers, a fatal query fails."""
    global _worker
    if _worker is not None and not _worker.alive():  # killed, or inherited by a forked child: start a fresh one
        stop_worker()
    worker = _worker = _worker or _Worker()
    try:
        worker.pipe.send(request)
        if worker.pipe.poll(timeout_seconds + KILL_GRACE_SECONDS):
            return worker.pipe.recv()
        stop_worker()
        return _failure("timeout", f"exceeded {timeout_seconds:g} s (worker killed)")
    except (EOFError, OSError):  # the memory backstop, a crash or an outside kill took the worker down
        stop_worker()
        if attempts > 1:
            return _ask_worker(request, timeout_seconds, attempts - 1)
        return _failure("other", f"the SQL worker died (exit code {worker.process.poll()})")
    except BaseException:  # Ctrl-C while waiting: a reply may still come, and would answer the next request
        stop_worker()
        raise


def execute_sql(db_path, sql, limits):
    """{"ok", "rows" (tuples, or None), "error_kind", "message"} of sql's one statement, run read-only in the worker;
    never raises for a bad query, only for a missing database (a setup problem)."""
    db_path = Path(db_path)
    if not db_path.is_file():
        raise FileNotFoundError(f"database {db_path} does not exist")
    if len(sql) > limits.max_prediction_chars:
        return _failure("too_long", f"query over {limits.max_prediction_chars:,} characters")
    if not sql.strip():
        return _failure("syntax", "empty query")
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate: no UTF-8 text, so no SQL sqlite could read
        return _failure("syntax", f"not UTF-8 text: {error.reason} at character {error.start}")
    request = {"db_uri": db_path.resolve().as_uri() + "?mode=ro", "sql": sql, "limits": limits}
    with _worker_lock:
        return _ask_worker(request, float(limits.timeout_seconds))
