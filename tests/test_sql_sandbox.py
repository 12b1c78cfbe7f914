"""sql_sandbox: every budget holds whatever a prediction calls; the worker is reused, replaced and cleaned up."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc

import pytest

import common
import spider
import sql_sandbox
from conftest import concert_database
from sql_eval import score_prediction
from sql_sandbox import execute_sql

GOLD = "SELECT name FROM singer"
FIFTY_THOUSAND = "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 50000) SELECT x FROM c)"


@pytest.fixture
def singers_db(tmp_path):
    """A small Spider-like database, as in test_sql_eval: singers, and a 25-row table for per-row function calls."""
    return concert_database(
        tmp_path,
        """
        CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, age INTEGER);
        INSERT INTO singer VALUES (1, 'Joe', 'France', 52), (2, 'Ana', 'Netherlands', 29), (3, 'Tom', 'France', 43);
        CREATE TABLE stadium (stadium_id INTEGER);
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 25)
            INSERT INTO stadium SELECT x FROM c;
        """,
    )


def timed_score(db_path, prediction, timeout_seconds=1.0):
    started = time.monotonic()
    result = score_prediction(db_path, prediction, GOLD, timeout_seconds=timeout_seconds)
    return result, time.monotonic() - started


# ---------------------------------------------------------------------------------------------------------------
# Time: one long function call never sees the progress handler; the worker is killed instead.


@pytest.mark.parametrize(
    "prediction, kinds",
    [
        ("SELECT printf('%.*c', 2147483647, 'x')", ("timeout",)),
        ("SELECT length(printf('%.*c', 2147483647, 'x')) FROM stadium", ("timeout",)),
        # fast on some sqlite builds (then simply a wrong answer), slow on others
        ("SELECT instr(printf('%.*c', 1000000, 'a'), 'b') FROM stadium", ("timeout", "wrong_result")),
    ],
)
def test_long_function_call_stops_at_the_budget(singers_db, prediction, kinds):
    result, elapsed = timed_score(singers_db, prediction)
    assert elapsed < 10.0
    assert result["score"] == 0.0 and result["strict_score"] == 0.0
    assert result["error_kind"] in kinds, result
    assert score_prediction(singers_db, GOLD, GOLD)["score"] == 1.0  # the next query runs normally


def test_worker_is_reused_and_replaced_after_a_kill(singers_db):
    assert execute_sql(singers_db, "SELECT 1")["rows"] == [(1,)]
    pid = sql_sandbox.worker_pid()
    for _ in range(20):
        assert execute_sql(singers_db, "SELECT name FROM singer")["ok"]
    assert execute_sql(singers_db, "SELECT nom FROM singer")["error_kind"] == "unknown_table_or_column"
    assert sql_sandbox.worker_pid() == pid  # ordinary queries and ordinary errors keep the worker
    started = time.monotonic()
    result = execute_sql(singers_db, "SELECT printf('%.*c', 2147483647, 'x')", timeout_seconds=1.0)
    assert result["error_kind"] == "timeout" and "killed" in result["message"]
    assert time.monotonic() - started < 10.0
    assert sql_sandbox.worker_pid() is None and not process_alive(pid)
    assert execute_sql(singers_db, "SELECT 2")["rows"] == [(2,)]
    assert sql_sandbox.worker_pid() not in (None, pid)


def test_a_worker_killed_from_outside_is_replaced(singers_db):
    execute_sql(singers_db, "SELECT 1")
    pid = sql_sandbox.worker_pid()
    os.kill(pid, signal.SIGKILL)
    assert wait_until_gone(pid)
    assert execute_sql(singers_db, "SELECT 3")["rows"] == [(3,)]  # between queries: restarted unnoticed
    assert sql_sandbox.worker_pid() not in (None, pid)


def test_slow_statement_times_out_without_a_kill(singers_db):
    execute_sql(singers_db, "SELECT 1")
    pid = sql_sandbox.worker_pid()
    result = execute_sql(
        singers_db,
        "SELECT count(*) FROM stadium a, stadium b, stadium c, stadium d, stadium e, stadium f, stadium g",
        timeout_seconds=0.5,
    )
    assert result["error_kind"] == "timeout" and "killed" not in result["message"]
    assert sql_sandbox.worker_pid() == pid  # the progress handler stopped it: no restart needed


def test_overhead_of_the_worker_is_small(singers_db):
    execute_sql(singers_db, "SELECT 1")  # start the worker
    started = time.monotonic()
    for _ in range(1000):
        execute_sql(singers_db, "SELECT 1")
    elapsed = time.monotonic() - started
    print(f"1000 trivial queries through the worker: {elapsed:.3f} s")
    assert elapsed < 5.0  # about 0.2 s measured on a 2-core machine; generous when shared


# ---------------------------------------------------------------------------------------------------------------
# Memory: the result byte cap, the value length limit, sqlite's heap limit, the prediction length cap.


def test_result_byte_cap(singers_db):
    result, elapsed = timed_score(singers_db, f"SELECT zeroblob(1000000) FROM {FIFTY_THOUSAND}", timeout_seconds=5.0)
    assert result["error_kind"] == "too_large" and result["reason"].startswith("too_large: result over")
    assert elapsed < 10.0
    assert execute_sql(singers_db, "SELECT name FROM singer", max_bytes=8)["error_kind"] == "too_large"
    assert execute_sql(singers_db, "SELECT name FROM singer", max_bytes=9)["ok"]  # 'Joe' 'Ana' 'Tom'


def test_one_huge_value_is_too_large(singers_db):
    result = execute_sql(singers_db, "SELECT randomblob(100000000)")
    assert result["error_kind"] == "too_large" and "too big" in result["message"]


def test_sqlite_heap_limit_in_the_worker(singers_db):
    # 50 GB of blobs to sort in memory: sqlite's heap limit stops it long before the machine runs out.
    sql = f"SELECT count(*) FROM (SELECT randomblob(1000000) AS b FROM {FIFTY_THOUSAND} ORDER BY b)"
    result = execute_sql(singers_db, sql, timeout_seconds=20.0)
    assert result["error_kind"] in ("too_large", "timeout"), result


def test_long_prediction_is_refused_before_normalisation(singers_db):
    prediction = "SELECT '" + "a" * 16_000_000 + "'"
    tracemalloc.start()
    try:
        result, elapsed = timed_score(singers_db, prediction)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result["error_kind"] == "too_long" and result["score"] == 0.0 and result["strict_score"] == 0.0
    assert result["reason"] == f"too_long: prediction over {common.MAX_PREDICTION_CHARS:,} characters"
    assert peak < 10_000_000  # no 2 GB of normalisation tokens, no copy sent to the worker
    assert elapsed < 10.0
    just_fits = "SELECT name FROM singer" + " " * (common.MAX_PREDICTION_CHARS - 23)
    assert score_prediction(singers_db, just_fits, GOLD)["score"] == 1.0
    assert execute_sql(singers_db, prediction)["error_kind"] == "too_long"  # the sandbox checks on its own too


# ---------------------------------------------------------------------------------------------------------------
# Names of what was blocked.


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
    result = score_prediction(singers_db, prediction, GOLD)
    assert result["error_kind"] == "write_blocked" and result["score"] == 0.0
    assert blocked in result["reason"], result["reason"]


def test_statement_without_result_columns_is_not_a_query(singers_db):
    result = execute_sql(singers_db, "-- only a comment")
    assert result["error_kind"] == "not_a_query" and result["message"] == "no result columns"


# ---------------------------------------------------------------------------------------------------------------
# Database ids.


@pytest.mark.parametrize("db_id", ["/somewhere/evil", "../x", "..", ".", "", "a/b", "a\\b", "concert/../../x", "x..y"])
def test_escaping_db_id_is_refused_by_name(tmp_path, db_id):
    with pytest.raises(common.PipelineError, match="must be a plain database name") as raised:
        spider.database_path(tmp_path, db_id)
    assert repr(db_id) in str(raised.value) and "\n" not in str(raised.value)


def test_plain_db_id_is_accepted(tmp_path):
    assert spider.database_path(tmp_path, "car_1") == tmp_path / "database" / "car_1" / "car_1.sqlite"


# ---------------------------------------------------------------------------------------------------------------
# No worker left behind.


def process_alive(pid):
    """True for a running process; a zombie waiting for its (new) parent to reap it counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def start_parent(db_path, sql):
    """A Python process that runs one query through the sandbox and prints its worker's pid first."""
    code = textwrap.dedent(f"""
        import sys, threading, time
        sys.path.insert(0, {str(sql_sandbox.Path(sql_sandbox.__file__).parent)!r})
        import sql_sandbox
        sql_sandbox.execute_sql({str(db_path)!r}, "SELECT 1")
        print(sql_sandbox.worker_pid(), flush=True)
        sql_sandbox.execute_sql({str(db_path)!r}, {sql!r}, timeout_seconds=60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    return parent, int(parent.stdout.readline())


def wait_until_gone(pid, seconds=10.0):
    deadline = time.monotonic() + seconds
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not process_alive(pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_worker_ends_with_its_parent(singers_db):
    parent, worker = start_parent(singers_db, "SELECT 2")  # exits normally: atexit kills the worker
    assert parent.wait(timeout=30) == 0
    assert wait_until_gone(worker)
    parent, worker = start_parent(singers_db, "SELECT printf('%.*c', 2147483647, 'x')")  # busy for ~20 s
    time.sleep(0.5)
    assert process_alive(worker)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    assert wait_until_gone(worker, seconds=5.0)  # the worker notices its parent is gone, even mid-call
