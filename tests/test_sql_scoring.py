"""sql_scoring: SQL extraction, the study and official comparison rules, the caps, and the DeepEval metrics."""

import dataclasses

import pytest

from conftest import SQL_LIMITS as LIMITS
from tradeoff import PipelineError, sql_scoring
from tradeoff.sql_sandbox import ERROR_KINDS
from tradeoff.sql_scoring import (
    MAX_LINES,
    evaluate_predictions,
    extract_sql,
    normalize_for_strict,
    score_prediction,
    strict_match,
    study_match,
)

# ---------------------------------------------------------------------------------------------------------------
# Scoring.


def test_gold_as_prediction_is_correct_under_both_rules(singers_db):
    gold = "SELECT name FROM singer WHERE country = 'France' ORDER BY age DESC"
    result = score_prediction(singers_db, gold, gold, LIMITS)
    assert result == dict(score=1.0, strict_score=1.0, reason="correct", strict_reason="correct", error_kind=None)


def test_wrong_answer_scores_zero_with_reason(singers_db):
    result = score_prediction(singers_db, "SELECT name FROM singer", "SELECT name FROM singer WHERE age > 40", LIMITS)
    assert result["score"] == 0.0 and result["strict_score"] == 0.0
    assert result["error_kind"] == "wrong_result"
    assert result["reason"] == "wrong_result: 6 rows, expected 2"


def test_execution_errors_are_classified(singers_db):
    gold = "SELECT name FROM singer"
    syntax = score_prediction(singers_db, "SELEC name FROM singer", gold, LIMITS)
    assert syntax["error_kind"] == "syntax" and syntax["reason"].startswith('syntax: near "SELEC"')
    for prediction, kind in [
        ("SELECT nom FROM singer", "unknown_table_or_column"),
        ("SELECT name FROM singers", "unknown_table_or_column"),
        ("SELECT name FROM singer WHERE", "syntax"),
        ("", "syntax"),
        ("SELECT '\ud800'", "syntax"),  # a lone surrogate: valid JSON, not UTF-8
    ]:
        assert score_prediction(singers_db, prediction, gold, LIMITS)["error_kind"] == kind, prediction
    # A gold query that fails stops the run (as the official evaluators): scored 0, a right answer would count wrong.
    with pytest.raises(
        PipelineError, match=rf"the gold query 'SELECT x FROM nowhere' fails on the database {singers_db} "
    ):
        score_prediction(singers_db, gold, "SELECT x FROM nowhere", LIMITS)


def test_every_kind_the_scorer_gives_is_a_report_kind(singers_db):
    from tradeoff.sql_sandbox import classify_error

    messages = ["no such table: x", "near x: syntax error", "string or blob too big", "not authorized"]
    assert {classify_error(message) for message in messages + ["disk I/O error"]} <= set(ERROR_KINDS)
    assert classify_error("disk I/O error") == "other"
    assert ERROR_KINDS[-1] == "other" and len(set(ERROR_KINDS)) == len(ERROR_KINDS)


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
    assert strict_match([(1, "x"), (2, "y")], [("x", 1), ("y", 2)], ordered)
    wide_gold = [(1, "a", 2.5, None, "q"), (2, "b", 3.5, None, "r")]
    wide_pred = [("q", None, 2.5, 1, "a"), ("r", None, 3.5, 2, "b")]
    assert strict_match(wide_pred, wide_gold, unordered)
    assert not strict_match([(1, "x"), (2, "x")], [(1, "x"), (2, "y")], unordered)
    assert not strict_match([(1,)], [(1, 2)], unordered)  # different column counts
    assert strict_match([], [], unordered)
    assert not strict_match([], [(1,)], unordered)


def test_strict_rule_column_search_is_bounded(singers_db, monkeypatch):
    # Twelve identical columns: one order to try, where the official product of candidates has 12**12.
    assert strict_match([(0,) * 12] * 3, [(0,) * 12] * 3, "SELECT *")
    # Twenty columns holding the same values (rotations): found through the rows cut to the columns placed so far.
    gold = [tuple((i + j) % 20 for j in range(20)) for i in range(20)]
    shuffled = [row[::-1] for row in reversed(gold)]  # the rows in another order: only ORDER BY tells them apart
    assert strict_match(shuffled, gold, "SELECT *")
    assert not strict_match(shuffled, gold, "SELECT * ORDER BY 1")
    # Past the budget: no answer, and the strict rule says why.
    monkeypatch.setattr(sql_scoring, "MAX_COMPARISON_STEPS", 10)
    assert strict_match(shuffled, gold, "SELECT *") is None
    result = score_prediction(
        singers_db, "SELECT age, name FROM singer -- budget", "SELECT name, age FROM singer", LIMITS
    )
    assert result["strict_score"] == 0.0 and result["strict_reason"].startswith("too_large: over 10 rows hashed")
    assert result["score"] == 0.0 and result["error_kind"] == "wrong_result"  # the study rule is unaffected


def test_strict_and_study_disagree_on_duplicates_and_order(singers_db):
    gold = "SELECT country FROM singer WHERE country = 'France'"  # France three times
    distinct = "SELECT DISTINCT country FROM singer WHERE country = 'France'"
    assert score_prediction(singers_db, distinct, gold, LIMITS)["strict_score"] == 1.0  # DISTINCT removed on both
    result = score_prediction(singers_db, "SELECT country FROM singer WHERE country = 'France' LIMIT 1", gold, LIMITS)
    assert result["score"] == 1.0 and result["strict_score"] == 0.0
    ordered = "SELECT name FROM singer ORDER BY age, name"
    result = score_prediction(singers_db, "SELECT name FROM singer ORDER BY age DESC, name", ordered, LIMITS)
    assert result["score"] == 1.0 and result["strict_score"] == 0.0
    assert "ORDER BY" in result["strict_reason"]
    result = score_prediction(singers_db, "SELECT age, name FROM singer", "SELECT name, age FROM singer", LIMITS)
    assert result["score"] == 0.0 and result["strict_score"] == 1.0  # only the official rule permutes columns


def test_normalize_for_strict():
    assert normalize_for_strict("SELECT DISTINCT name FROM t WHERE a > = 3") == "SELECT  name FROM t WHERE a >= 3"
    assert (
        normalize_for_strict("SELECT count(distinct a) FROM t WHERE b < = 1 AND c ! = 2")
        == "SELECT count( a) FROM t WHERE b <= 1 AND c != 2"
    )
    # only the keyword: a string literal or a longer identifier keep their text
    kept = "SELECT distinct_id FROM t WHERE x = 'distinct'"
    assert normalize_for_strict(kept) == kept


def test_test_suite_score_needs_every_database(singers_db, tmp_path):
    other = tmp_path / "other.sqlite"
    other.write_bytes(singers_db.read_bytes())
    import sqlite3

    with sqlite3.connect(other) as connection:
        connection.execute("UPDATE singer SET age = 99 WHERE singer_id = 2")
    gold, lucky = "SELECT name FROM singer WHERE age < 30", "SELECT name FROM singer WHERE singer_id IN (2, 5)"
    assert score_prediction(singers_db, lucky, gold, LIMITS)["strict_score"] == 1.0
    assert sql_scoring.test_suite_score([singers_db], lucky, gold, LIMITS) == 1
    assert sql_scoring.test_suite_score([singers_db, other], lucky, gold, LIMITS) == 0
    assert sql_scoring.test_suite_score([singers_db, other], gold, gold, LIMITS) == 1
    broken = tmp_path / "broken.sqlite"  # a suite database the gold query fails on
    broken.write_bytes(singers_db.read_bytes())
    with sqlite3.connect(broken) as connection:
        connection.execute("ALTER TABLE singer RENAME TO performer")
    with pytest.raises(PipelineError, match=rf"the gold query .* fails on the database {broken} \(unknown_table"):
        sql_scoring.test_suite_score([singers_db, broken], gold, gold, LIMITS)
    assert sql_scoring.test_suite_score([singers_db, broken], "SELECT 1", gold, LIMITS) == 0  # wrong where gold runs


# ---------------------------------------------------------------------------------------------------------------
# The caps: characters and lines, before any parsing or hashing.


def test_caps_apply_before_extraction_and_scoring(singers_db):
    cap = LIMITS.max_prediction_chars
    just_fits = "SELECT name FROM singer" + " " * (cap - 23)
    assert score_prediction(singers_db, just_fits, "SELECT name FROM singer", LIMITS)["score"] == 1.0
    for raw in ["SELECT name FROM singer" + " " * (cap - 22), "SELECT name FROM singer" + "\n" * MAX_LINES]:
        prediction = extract_sql(raw, LIMITS)
        assert len(prediction) <= cap + 1
        result = score_prediction(singers_db, prediction, "SELECT name FROM singer", LIMITS)
        assert result["error_kind"] == "too_long" and result["score"] == 0.0 and result["strict_score"] == 0.0
        assert result["reason"].startswith(f"too_long: prediction over {cap:,} characters or {MAX_LINES:,} lines")
    assert extract_sql("SELECT name FROM singer" + "\n" * (MAX_LINES - 1), LIMITS) == "SELECT name FROM singer"


def test_gold_over_the_caps_is_a_setup_error(singers_db):
    gold = "SELECT name FROM singer" + " " * LIMITS.max_prediction_chars
    with pytest.raises(PipelineError, match="the gold query of .* is not text of at most 20,000 characters"):
        score_prediction(singers_db, "SELECT 1", gold, LIMITS)
    item = {"question": "q", "prediction": "SELECT 1", "gold": gold, "db_path": singers_db, "db_id": "concert"}
    with pytest.raises(PipelineError, match="the gold query of .*concert.sqlite is not text"):
        evaluate_predictions([item], LIMITS, singers_db.parent / "w")


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
        # several queries, one per line without ';': the first; a SELECT after UNION or '(' continues the query
        ("SELECT a FROM t WHERE b = 1\nSELECT a FROM t WHERE b = 2", "SELECT a FROM t WHERE b = 1"),
        ("SELECT a FROM t UNION\nSELECT a FROM u", "SELECT a FROM t UNION SELECT a FROM u"),
        ("SELECT a FROM t WHERE b IN (\nSELECT b FROM u)", "SELECT a FROM t WHERE b IN ( SELECT b FROM u)"),
        ("SELECT a /* why */ FROM t 'open", "SELECT a FROM t 'open"),
        ("", ""),
        ("  I don't know.  ", "I don't know."),
        ("CREATE TABLE x (a)", "CREATE TABLE x (a)"),
    ],
)
def test_extract_sql(raw, expected):
    assert extract_sql(raw, LIMITS) == expected


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
    results = evaluate_predictions(items * 3, LIMITS, tmp_path / "deepeval")
    expected = [(1.0, None), (0.0, "wrong_result"), (0.0, "syntax"), (0.0, "wrong_result"), (1.0, None)]
    assert [(r["score"], r["error_kind"]) for r in results] == expected * 3
    assert [r["strict_score"] for r in results[:5]] == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert results[2]["reason"].startswith("syntax: ")
    assert list(run_dir.iterdir()) == []  # deepeval's .deepeval/ went to work_dir
    assert evaluate_predictions([], LIMITS, tmp_path / "deepeval") == []


def test_metrics_directly(singers_db):
    from deepeval.metrics.utils.metrics import copy_metrics
    from deepeval.test_case import LLMTestCase

    case = LLMTestCase(
        input="q",
        actual_output="SELECT country FROM singer LIMIT 1",
        expected_output="SELECT country FROM singer WHERE country = 'France'",
        metadata={"db_path": str(singers_db), "db_id": "concert"},
    )
    study, strict = sql_scoring.ExecutionAccuracy(LIMITS), sql_scoring.ExecutionAccuracy(LIMITS, strict=True)
    assert study.measure(case) == 1.0 and study.is_successful() and study.reason == "correct"
    assert strict.measure(case) == 0.0 and not strict.is_successful()
    assert strict.reason.startswith("wrong_result")
    assert study.__name__ == "Execution Accuracy" and strict.__name__ == "Strict Execution Accuracy"
    # DeepEval copies metrics (its concurrent paths) from their constructor's arguments: a copy keeps its rule.
    copied = copy_metrics([study, strict])
    assert [metric.measure(case) for metric in copied] == [1.0, 0.0] and copied[1].__name__ == strict.__name__


def test_deepeval_disagreeing_with_the_scorer_stops_the_run(singers_db, tmp_path, monkeypatch):
    gold = "SELECT name FROM singer WHERE country = 'France'"
    doubled = f"{gold} UNION ALL {gold}"  # the same set (study rule: 1), twice the rows (official rule: 0)
    item = {"question": "q", "prediction": doubled, "gold": gold, "db_path": singers_db, "db_id": "concert"}
    assert [(r["score"], r["strict_score"]) for r in evaluate_predictions([item], LIMITS, tmp_path / "a")] == [(1, 0)]
    measure = sql_scoring.ExecutionAccuracy.measure

    def misreport(metric, test_case, *args, **kwargs):  # DeepEval now reports otherwise on the strict rule
        measure(metric, test_case)
        if metric.score_key == "strict_score":
            metric.score = 1 - metric.score
        return metric.score

    monkeypatch.setattr(sql_scoring.ExecutionAccuracy, "measure", misreport)
    with pytest.raises(RuntimeError, match="deepeval's Strict Execution Accuracy disagrees with the scorer"):
        evaluate_predictions([item], LIMITS, tmp_path / "b")


def test_missing_database_raises(tmp_path):
    missing = tmp_path / "nope.sqlite"
    with pytest.raises(FileNotFoundError):
        score_prediction(missing, "SELECT 1", "SELECT 1", LIMITS)
    item = {"question": "q", "prediction": "SELECT 1", "gold": "SELECT 1", "db_path": missing, "db_id": "nope"}
    with pytest.raises(FileNotFoundError):
        evaluate_predictions([item], LIMITS, tmp_path / "w")
    assert not missing.exists()


def test_limits_are_part_of_the_cache_key(singers_db):
    prediction, gold = "SELECT x FROM big", "SELECT x FROM big WHERE x < 3"
    assert score_prediction(singers_db, prediction, gold, LIMITS)["error_kind"] == "wrong_result"
    fewer_rows = dataclasses.replace(LIMITS, max_rows=100)
    assert score_prediction(singers_db, prediction, gold, fewer_rows)["error_kind"] == "too_many_rows"
