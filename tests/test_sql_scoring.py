"""sql_eval: safe execution, SQL extraction, the study and official comparison rules, and the DeepEval metrics."""

import hashlib
import sqlite3
import time

import pytest

import spider
import sql_eval
from conftest import concert_database
from sql_eval import (
    evaluate_predictions,
    execute_sql,
    extract_sql,
    normalize_for_strict,
    score_prediction,
    strict_match,
    study_match,
)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def singers_db(tmp_path):
    """A small Spider-like database: singers with duplicate countries, and a 3000-row table for cross joins."""
    path = concert_database(
        tmp_path,
        """
        CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, age INTEGER);
        INSERT INTO singer VALUES (1, 'Joe', 'France', 52), (2, 'Ana', 'Netherlands', 29), (3, 'Tom', 'France', 43),
                                  (4, 'Eve', 'United States', 35), (5, 'Bob', 'France', 29);
        CREATE TABLE big (x INTEGER);
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) INSERT INTO big SELECT x FROM c;
        """,
    )
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO singer VALUES (6, CAST(? AS TEXT), 'Peru', 40)", (b"Jos\xe9 \xff",))
    connection.commit()
    connection.close()
    return path


# ---------------------------------------------------------------------------------------------------------------
# Scoring.


def test_gold_as_prediction_is_correct_under_both_rules(singers_db):
    gold = "SELECT name FROM singer WHERE country = 'France' ORDER BY age DESC"
    result = score_prediction(singers_db, gold, gold)
    assert result["score"] == 1.0 and result["strict_score"] == 1.0
    assert result["reason"] == "correct" and result["error_kind"] is None


def test_wrong_answer_scores_zero_with_reason(singers_db):
    result = score_prediction(singers_db, "SELECT name FROM singer", "SELECT name FROM singer WHERE age > 40")
    assert result["score"] == 0.0 and result["strict_score"] == 0.0
    assert result["error_kind"] == "wrong_result"
    assert result["reason"] == "wrong_result: 6 rows, expected 2"


def test_execution_errors_are_classified(singers_db):
    gold = "SELECT name FROM singer"
    syntax = score_prediction(singers_db, "SELEC name FROM singer", gold)
    assert syntax["error_kind"] == "syntax" and syntax["reason"].startswith('syntax: near "SELEC"')
    assert score_prediction(singers_db, "SELECT nom FROM singer", gold)["error_kind"] == "unknown_table_or_column"
    assert score_prediction(singers_db, "SELECT name FROM singers", gold)["error_kind"] == "unknown_table_or_column"
    assert score_prediction(singers_db, "SELECT name FROM singer WHERE", gold)["error_kind"] == "syntax"
    assert score_prediction(singers_db, "", gold)["error_kind"] == "syntax"
    failed = score_prediction(singers_db, gold, "SELECT x FROM nowhere")
    assert failed["error_kind"] == "gold_failed" and "no such table" in failed["reason"]


def test_study_rule_ignores_order_and_duplicates():
    assert study_match([("a",), ("b",)], [("b",), ("a",)])
    assert study_match([("a",), ("a",), ("b",)], [("b",), ("a",)])
    assert not study_match([("a",)], [("a",), ("b",)])
    assert study_match([], [])


def test_strict_rule_official_semantics():
    unordered, ordered = "SELECT name FROM t", "SELECT name FROM t ORDER BY age"
    assert strict_match([("b",), ("a",)], [("a",), ("b",)], unordered)
    assert not strict_match([("b",), ("a",)], [("a",), ("b",)], ordered)  # ORDER BY in gold: order matters
    assert not strict_match([("a",), ("a",), ("b",)], [("a",), ("b",), ("b",)], unordered)  # multisets
    assert not strict_match([("a",), ("b",)], [("a",), ("a",), ("b",)], unordered)
    assert strict_match([(1, "x"), (2, "y")], [("x", 1), ("y", 2)], unordered)  # columns up to permutation
    wide_gold = [(1, "a", 2.5, None, "q"), (2, "b", 3.5, None, "r")]
    wide_pred = [("q", None, 2.5, 1, "a"), ("r", None, 3.5, 2, "b")]
    assert strict_match(wide_pred, wide_gold, unordered)
    assert not strict_match([(1, "x"), (2, "x")], [(1, "x"), (2, "y")], unordered)
    assert not strict_match([(1,)], [(1, 2)], unordered)  # different column counts
    assert strict_match([], [], unordered)
    assert not strict_match([], [(1,)], unordered)


def test_strict_and_study_disagree_on_duplicates_and_order(singers_db):
    gold = "SELECT country FROM singer WHERE country = 'France'"  # France three times
    result = score_prediction(singers_db, "SELECT DISTINCT country FROM singer WHERE country = 'France'", gold)
    assert result["score"] == 1.0 and result["strict_score"] == 1.0  # strict removes DISTINCT on both sides
    result = score_prediction(singers_db, "SELECT country FROM singer WHERE country = 'France' LIMIT 1", gold)
    assert result["score"] == 1.0 and result["strict_score"] == 0.0
    ordered = "SELECT name FROM singer ORDER BY age, name"
    result = score_prediction(singers_db, "SELECT name FROM singer ORDER BY age DESC, name", ordered)
    assert result["score"] == 1.0 and result["strict_score"] == 0.0
    assert "ORDER BY" in result["strict_reason"]
    result = score_prediction(singers_db, "SELECT age, name FROM singer", "SELECT name, age FROM singer")
    assert result["score"] == 0.0 and result["strict_score"] == 1.0  # only the official rule permutes columns


def test_normalize_for_strict():
    assert normalize_for_strict("SELECT DISTINCT name FROM t WHERE a > = 3") == "SELECT  name FROM t WHERE a >= 3"
    assert (
        normalize_for_strict("SELECT count(distinct a) FROM t WHERE b < = 1 AND c ! = 2")
        == "SELECT count( a) FROM t WHERE b <= 1 AND c != 2"
    )
    # only the keyword: a string literal or a longer identifier keep their text
    assert (
        normalize_for_strict("SELECT distinct_id FROM t WHERE x = 'distinct'")
        == "SELECT distinct_id FROM t WHERE x = 'distinct'"
    )


# ---------------------------------------------------------------------------------------------------------------
# Hostile predictions.

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
    before = sha256(singers_db)
    started = time.monotonic()
    result = score_prediction(singers_db, prediction, "SELECT name FROM singer", timeout_seconds=1.0)
    elapsed = time.monotonic() - started
    expected = HOSTILE[prediction]
    assert result["score"] == 0.0 and result["strict_score"] == 0.0
    assert result["error_kind"] in (expected if isinstance(expected, tuple) else (expected,)), result
    assert result["reason"].startswith(result["error_kind"] + ": ") and len(result["reason"]) > 12
    assert elapsed < 3.0
    assert sha256(singers_db) == before
    assert sorted(p.name for p in singers_db.parent.iterdir()) == ["concert.sqlite"]  # no journal, no x.db
    assert not (singers_db.parent / "x.db").exists()


def test_row_cap(singers_db):
    result = execute_sql(singers_db, "SELECT x FROM big", max_rows=100)
    assert result["error_kind"] == "too_many_rows" and result["rows"] is None
    assert execute_sql(singers_db, "SELECT x FROM big", max_rows=3000)["ok"]


def test_invalid_utf8_is_replaced(singers_db):
    result = execute_sql(singers_db, "SELECT name FROM singer WHERE singer_id = 6")
    assert result["ok"] and result["rows"] == [("Jos\ufffd \ufffd",)]


def test_missing_database_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        execute_sql(tmp_path / "nope.sqlite", "SELECT 1")
    with pytest.raises(FileNotFoundError):
        score_prediction(tmp_path / "nope.sqlite", "SELECT 1", "SELECT 1")
    with pytest.raises(FileNotFoundError):
        evaluate_predictions(
            [
                {
                    "question": "q",
                    "prediction": "SELECT 1",
                    "gold": "SELECT 1",
                    "db_path": tmp_path / "nope.sqlite",
                    "db_id": "nope",
                }
            ],
            work_dir=tmp_path / "w",
        )
    assert not (tmp_path / "nope.sqlite").exists()


def test_database_path(tmp_path):
    assert spider.database_path(tmp_path, "concert") == tmp_path / "database" / "concert" / "concert.sqlite"


# ---------------------------------------------------------------------------------------------------------------
# Extraction.


@pytest.mark.parametrize(
    "raw, expected",
    [
        (
            "Here is the query:\n```sql\nSELECT name\nFROM singer;\n```\nIt lists every singer.",
            "SELECT name FROM singer",
        ),
        ("```\nSELECT count(*) FROM singer\n```", "SELECT count(*) FROM singer"),
        ("SQL: SELECT name FROM singer", "SELECT name FROM singer"),
        ("Query: select name from singer", "select name from singer"),
        (
            "To answer this we need the singer table.\nSELECT name FROM singer WHERE age > 30",
            "SELECT name FROM singer WHERE age > 30",
        ),
        ("SELECT name FROM singer\n\nThis query returns the names.", "SELECT name FROM singer"),
        ("SELECT name FROM singer\nThis query returns the names.", "SELECT name FROM singer"),
        ("SELECT name FROM singer; this returns names", "SELECT name FROM singer"),
        ("SELECT name FROM singer; SELECT age FROM singer;", "SELECT name FROM singer"),
        ("SELECT name FROM singer WHERE name = 'a;  b'; DROP TABLE x", "SELECT name FROM singer WHERE name = 'a;  b'"),
        ("SELECT name FROM singer<|im_end|>\n<|im_start|>user", "SELECT name FROM singer"),
        ("WITH t AS (SELECT 1 AS a)\nSELECT a  FROM t -- the end\n", "WITH t AS (SELECT 1 AS a) SELECT a FROM t"),
        (
            "With the schema above, the query is:\nWITH x AS (SELECT 1) SELECT * FROM x",
            "WITH x AS (SELECT 1) SELECT * FROM x",
        ),
        ("We select the names: SELECT name FROM singer", "SELECT name FROM singer"),
        ("Answer: SELECT\n  name,\n  result\nFROM t", "SELECT name, result FROM t"),
        ("```sql\nSELECT name FROM singer", "SELECT name FROM singer"),
        ("", ""),
        ("  I don't know.  ", "I don't know."),
    ],
)
def test_extract_sql(raw, expected):
    assert extract_sql(raw) == expected


# ---------------------------------------------------------------------------------------------------------------
# DeepEval.


def test_evaluate_predictions_in_order_and_leaves_cwd_clean(singers_db, tmp_path, monkeypatch):
    run_dir = tmp_path / "cwd"
    run_dir.mkdir()
    monkeypatch.chdir(run_dir)
    gold = "SELECT name FROM singer WHERE country = 'France'"
    predictions = [
        gold,
        "SELECT name FROM singer",
        "SELEC name",
        "SELECT DISTINCT name FROM singer WHERE age > 40",
        "SELECT name FROM singer WHERE country = 'France' ORDER BY name",
    ]
    items = [
        {"question": f"q{i}", "prediction": p, "gold": gold, "db_path": singers_db, "db_id": "concert"}
        for i, p in enumerate(predictions)
    ]
    results = evaluate_predictions(items * 3, work_dir=tmp_path / "deepeval")
    assert len(results) == 15
    expected = [(1.0, None), (0.0, "wrong_result"), (0.0, "syntax"), (0.0, "wrong_result"), (1.0, None)]
    assert [(r["score"], r["error_kind"]) for r in results] == expected * 3
    assert [r["strict_score"] for r in results[:5]] == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert results[2]["reason"].startswith("syntax: ")
    assert set(results[0]) >= {"score", "strict_score", "reason", "error_kind"}
    assert list(run_dir.iterdir()) == []  # deepeval's .deepeval/ went to work_dir
    assert evaluate_predictions([], work_dir=tmp_path / "deepeval") == []


def test_metrics_directly(singers_db):
    from deepeval.test_case import LLMTestCase

    case = LLMTestCase(
        input="q",
        actual_output="SELECT country FROM singer LIMIT 1",
        expected_output="SELECT country FROM singer WHERE country = 'France'",
        metadata={"db_path": str(singers_db), "db_id": "concert"},
    )
    study, strict = sql_eval.ExecutionAccuracy(), sql_eval.StrictExecutionAccuracy()
    assert study.measure(case) == 1.0 and study.is_successful() and study.reason == "correct"
    assert strict.measure(case) == 0.0 and not strict.is_successful()
    assert strict.reason.startswith("wrong_result")
    assert study.__name__ == "Execution Accuracy" and strict.__name__ == "Strict Execution Accuracy"


def test_deepeval_disagreeing_with_the_scorer_stops_the_run(singers_db, tmp_path, monkeypatch):
    gold = "SELECT name FROM singer WHERE country = 'France'"
    doubled = f"{gold} UNION ALL {gold}"  # the same set (study rule: 1), twice the rows (official rule: 0)
    item = {"question": "q", "prediction": doubled, "gold": gold, "db_path": singers_db, "db_id": "concert"}
    assert [(r["score"], r["strict_score"]) for r in evaluate_predictions([item], tmp_path / "a")] == [(1.0, 0.0)]
    monkeypatch.setattr(sql_eval.StrictExecutionAccuracy, "score_key", "score")  # DeepEval now reports otherwise
    with pytest.raises(RuntimeError, match="deepeval's Strict Execution Accuracy disagrees with the scorer"):
        evaluate_predictions([item], work_dir=tmp_path / "b")
