"""sql_sandbox: every budget holds whatever a prediction calls; the worker is reused, replaced and cleaned up."""

import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc

import pytest

from conftest import PROJECT_DIR
from conftest import SQL_LIMITS as LIMITS
from tradeoff import sql_sandbox
from tradeoff.sql_sandbox import execute_sql
from tradeoff.sql_scoring import score_prediction


def worker_pid():
    """The sandbox worker's process id, None before the first query or once it is gone."""
    worker = sql_sandbox._worker
    return worker.process.pid if worker is not None and worker.alive() else None


GOLD = "SELECT name FROM singer"
FIFTY_THOUSAND = "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 50000) SELECT x FROM c)"
ONE_SECOND = dataclasses.replace(LIMITS, timeout_seconds=1.0)
# One function call of ~20 s here, no VM step to interrupt: instr's naive search, slow on every sqlite build (a huge
# printf width is not: newer builds, 3.54 for one, refuse it at once).
LONG_CALL = "SELECT instr(hex(zeroblob(5000000)), hex(zeroblob(50000)) || '1')"


def limits(**changes):
    return dataclasses.replace(LIMITS, **changes)


# ---------------------------------------------------------------------------------------------------------------
# Hostile predictions: no write, no file, a failure with its kind and a reason.

HOSTILE = {
    "DROP TABLE singer": "write_blocked",
    "DELETE FROM singer": "write_blocked",
    "UPDATE singer SET name = 'x'": "write_blocked",
    "INSERT INTO singer VALUES (9, 'x', 'y', 1)": "write_blocked",
    "CREATE TABLE evil (a)": "write_blocked",
    "ATTACH DATABASE '/tmp/x.db' AS x": "write_blocked",
    "PRAGMA writable_schema=ON": "write_blocked",
    "SELECT load_extension('x')": "write_blocked",
    "SELECT 1; DROP TABLE singer": "write_blocked",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c": ("timeout", "too_many_rows"),
    "SELECT count(*) FROM big a, big b, big c, big d": "timeout",
}


@pytest.mark.parametrize("prediction", list(HOSTILE))
def test_hostile_prediction_is_contained(singers_db, prediction):
    before = hashlib.sha256(singers_db.read_bytes()).hexdigest()
    result = score_prediction(singers_db, prediction, GOLD, ONE_SECOND)
    expected = HOSTILE[prediction]
    assert result["score"] == 0.0 and result["strict_score"] == 0.0
    assert result["error_kind"] in (expected if isinstance(expected, tuple) else (expected,)), result
    assert result["reason"].startswith(result["error_kind"] + ": ") and len(result["reason"]) > 12
    assert hashlib.sha256(singers_db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in singers_db.parent.iterdir()) == ["concert.sqlite"]  # no journal, no x.db
    assert not (singers_db.parent / "x.db").exists()


@pytest.mark.parametrize(
    "prediction, blocked",
    [
        ("CREATE TABLE evil (a)", "schema change: INSERT sqlite_master"),
        ("INSERT INTO singer VALUES (9, 'x', 'y', 1)", "INSERT singer"),
        ("DELETE FROM singer", "DELETE singer"),
        ("DROP TABLE singer", "schema change: DELETE sqlite_master"),
        ("UPDATE singer SET name = 'x'", "UPDATE singer"),
    ],
)
def test_writes_are_write_blocked_and_named(singers_db, prediction, blocked):
    result = execute_sql(singers_db, prediction, LIMITS)
    assert result["error_kind"] == "write_blocked" and blocked in result["message"], result["message"]


def test_statement_without_result_columns_is_not_a_query(singers_db):
    result = execute_sql(singers_db, "-- only a comment", LIMITS)
    assert result["error_kind"] == "not_a_query" and result["message"] == "no result columns"


def test_text_that_is_not_utf8(singers_db):
    # Spider's few non-UTF-8 strings come back with a visible mark; a lone surrogate cannot even be sent to sqlite.
    result = execute_sql(singers_db, "SELECT name FROM singer WHERE singer_id = 6", LIMITS)
    assert result["ok"] and result["rows"] == [("Jos\ufffd \ufffd",)]
    result = execute_sql(singers_db, "SELECT name FROM singer WHERE name = '\udcff'", LIMITS)
    assert result["error_kind"] == "syntax" and "surrogates not allowed at character 38" in result["message"]


def test_missing_database_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        execute_sql(tmp_path / "nope.sqlite", "SELECT 1", LIMITS)
    assert not (tmp_path / "nope.sqlite").exists()


# ---------------------------------------------------------------------------------------------------------------
# Time: a slow statement is interrupted; one long function call never sees the progress handler, so the worker is
# killed instead.


@pytest.mark.parametrize(
    "prediction, kinds",
    [
        (LONG_CALL, ("timeout",)),
        ("SELECT length(instr(hex(zeroblob(5000000)), hex(zeroblob(50000)) || '1')) FROM stadium", ("timeout",)),
        # slow on older sqlite builds (3.40), refused at once by newer ones (3.54)
        ("SELECT length(printf('%.*c', 2147483647, 'x')) FROM stadium", ("timeout", "too_large")),
    ],
)
def test_long_function_call_stops_at_the_budget(singers_db, prediction, kinds):
    result = score_prediction(singers_db, prediction, GOLD, ONE_SECOND)
    assert result["score"] == 0.0 and result["strict_score"] == 0.0
    assert result["error_kind"] in kinds, result
    assert score_prediction(singers_db, GOLD, GOLD, LIMITS)["score"] == 1.0  # the next query runs normally


def test_worker_is_reused_and_replaced_after_a_kill(singers_db):
    assert execute_sql(singers_db, "SELECT 1", LIMITS)["rows"] == [(1,)]
    pid = worker_pid()
    for _ in range(20):
        assert execute_sql(singers_db, "SELECT name FROM singer", LIMITS)["ok"]
    assert execute_sql(singers_db, "SELECT nom FROM singer", LIMITS)["error_kind"] == "unknown_table_or_column"
    assert worker_pid() == pid  # ordinary queries and ordinary errors keep the worker
    result = execute_sql(singers_db, LONG_CALL, ONE_SECOND)
    assert result["error_kind"] == "timeout" and "killed" in result["message"]
    assert worker_pid() is None and not process_alive(pid)
    assert execute_sql(singers_db, "SELECT 2", LIMITS)["rows"] == [(2,)]
    assert worker_pid() not in (None, pid)


def test_slow_statement_times_out_without_a_kill(singers_db):
    execute_sql(singers_db, "SELECT 1", LIMITS)
    pid = worker_pid()
    cross_join = "SELECT count(*) FROM stadium a, stadium b, stadium c, stadium d, stadium e, stadium f, stadium g"
    result = execute_sql(singers_db, cross_join, limits(timeout_seconds=0.5))
    assert result["error_kind"] == "timeout" and "killed" not in result["message"]
    assert worker_pid() == pid  # the progress handler stopped it: no restart needed


def test_a_worker_killed_from_outside_is_replaced(singers_db):
    execute_sql(singers_db, "SELECT 1", LIMITS)
    pid = worker_pid()
    os.kill(pid, signal.SIGKILL)
    assert wait_until_gone(pid)
    assert execute_sql(singers_db, "SELECT 3", LIMITS)["rows"] == [(3,)]  # between queries: restarted unnoticed
    assert worker_pid() not in (None, pid)


def test_worker_ignores_ctrl_c(singers_db):
    execute_sql(singers_db, "SELECT 1", LIMITS)
    pid = worker_pid()
    os.kill(pid, signal.SIGINT)  # what a Ctrl-C in the terminal sends the whole process group
    assert execute_sql(singers_db, "SELECT 4", LIMITS)["rows"] == [(4,)]
    assert worker_pid() == pid


# ---------------------------------------------------------------------------------------------------------------
# Memory: the row and result byte caps, the value length limit, sqlite's heap limit, the prediction length cap.


def test_row_cap(singers_db):
    result = execute_sql(singers_db, "SELECT x FROM big", limits(max_rows=100))
    assert result["error_kind"] == "too_many_rows" and result["rows"] is None
    assert execute_sql(singers_db, "SELECT x FROM big", limits(max_rows=3000))["ok"]


def test_result_byte_cap(singers_db):
    result = score_prediction(singers_db, f"SELECT zeroblob(1000000) FROM {FIFTY_THOUSAND}", GOLD, LIMITS)
    assert result["error_kind"] == "too_large" and result["reason"].startswith("too_large: result over")
    first_three = "SELECT name FROM singer WHERE singer_id <= 3"  # 'Joe' 'Ana' 'Tom': 9 bytes
    assert execute_sql(singers_db, first_three, limits(max_result_bytes=8))["error_kind"] == "too_large"
    assert execute_sql(singers_db, first_three, limits(max_result_bytes=9))["ok"]


def test_one_huge_value_is_too_large(singers_db):
    result = execute_sql(singers_db, "SELECT randomblob(100000000)", LIMITS)
    assert result["error_kind"] == "too_large" and "too big" in result["message"]


def test_sqlite_heap_limit_in_the_worker(singers_db):
    # 50 GB of blobs to sort in memory: sqlite's heap limit stops it long before the machine runs out.
    sql = f"SELECT count(*) FROM (SELECT randomblob(1000000) AS b FROM {FIFTY_THOUSAND} ORDER BY b)"
    result = execute_sql(singers_db, sql, limits(timeout_seconds=20.0))
    assert result["error_kind"] in ("too_large", "timeout"), result


def test_long_prediction_is_refused_before_normalisation(singers_db):
    prediction = "SELECT '" + "a" * 16_000_000 + "'"
    tracemalloc.start()
    try:
        result = score_prediction(singers_db, prediction, GOLD, LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result["error_kind"] == "too_long" and result["score"] == 0.0 and result["strict_score"] == 0.0
    assert peak < 10_000_000  # no 2 GB of normalisation tokens, no copy sent to the worker
    assert execute_sql(singers_db, prediction, LIMITS)["error_kind"] == "too_long"  # the sandbox checks on its own


# ---------------------------------------------------------------------------------------------------------------
# No worker left behind.


def process_alive(pid):
    """True for a running process; a zombie waiting for its (new) parent to reap it counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def wait_until_gone(pid, seconds=10.0):
    deadline = time.monotonic() + seconds
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not process_alive(pid)


def start_parent(db_path, sql):
    """A Python process that runs one query through the sandbox and prints its worker's pid first."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(PROJECT_DIR)!r})
        from tradeoff import sql_sandbox
        limits = sql_sandbox.SqlLimits(60.0, 100, 1_000_000, 1000)
        sql_sandbox.execute_sql({str(db_path)!r}, "SELECT 1", limits)
        print(sql_sandbox._worker.process.pid, flush=True)
        sql_sandbox.execute_sql({str(db_path)!r}, {sql!r}, limits)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    return parent, int(parent.stdout.readline())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_worker_ends_with_its_parent(singers_db):
    parent, worker = start_parent(singers_db, "SELECT 2")  # exits normally: atexit kills the worker
    assert parent.wait(timeout=30) == 0
    assert wait_until_gone(worker)
    parent, worker = start_parent(singers_db, LONG_CALL)  # busy for ~20 s
    time.sleep(0.5)
    assert process_alive(worker)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    assert wait_until_gone(worker, seconds=5.0)  # the worker notices its parent is gone, even mid-call
