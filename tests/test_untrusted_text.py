"""Untrusted text through extraction, both match rules and hardness: random and adversarial inputs from a seeded
generator. No input raises, and extraction's work is linear: the characters handed to sql_scoring's regular
expressions stay within a constant times the input's length (the old extraction handed each line all the lines
before it: 68 s on 128,000 lines)."""

import dataclasses
import itertools
import random
import re
from collections import Counter

import pytest

from conftest import SQL_LIMITS
from tradeoff import sql_scoring
from tradeoff.hardness import hardness
from tradeoff.sql_sandbox import ERROR_KINDS
from tradeoff.sql_scoring import (
    evaluate_predictions,
    extract_sql,
    normalize_for_strict,
    strict_match,
    study_match,
)

LINES = 20_000
ADVERSARIAL = {
    "queries one per line": "SELECT a FROM t WHERE b = 1\n" * LINES,
    "set operators left open": "SELECT a FROM t UNION\n" * LINES,
    "parentheses left open": "SELECT (\n" * LINES,
    "common tables never closed": "WITH a AS (\n" * LINES,
    "column lists never closed": "with a (\n" * LINES,
    "blank lines": "SELECT 1" + "\n" * LINES,
    "prose lines": "SELECT a\nThe " * LINES,
    "fences": "```" * LINES,
    "fenced queries": "```sql\nselect\n" * LINES,
    "inline spans": "`select " * LINES,
    "unclosed quotes": "SELECT '" + "a''" * LINES,
    "comments": "SELECT /*" * LINES,
    "line comments": "SELECT --\n" * LINES,
    "deep nesting": "SELECT " + "(" * LINES,
    "lone surrogates": "SELECT '\ud800\n" * LINES,
}
TOKENS = [
    *"SELECT select WITH FROM WHERE UNION ALL INTERSECT CASE WHEN THEN END AS JOIN ON IN NOT LIKE OR AND".split(),
    *"singer name t a 1 0.5 , = > ( ) ; ' '' \" ` ``` ```sql -- /* */ * count(*)".split(),
    *"The Note: Here SQL: Answer: <|im_end|> \ud800 \udfff é \x00".split(),
    "with x AS (",
    " ",
    "\n",
    "\n\n",
    "\t",
]


def random_texts(count, seed=0):
    generator = random.Random(seed)
    for _ in range(count):
        yield "".join(generator.choice(TOKENS) + generator.choice(["", " "]) for _ in range(generator.randrange(60)))


@pytest.fixture
def scanned(monkeypatch):
    """The characters handed to sql_scoring's regular expressions from now on, summed: [total]."""
    total = [0]

    class Counted:
        def __init__(self, pattern):
            self.pattern = pattern

        def __getattr__(self, name):
            def call(*args, **kwargs):
                total[0] += len(args[1] if name == "sub" else args[0])
                return getattr(self.pattern, name)(*args, **kwargs)

            return call

    for name, value in vars(sql_scoring).items():
        if isinstance(value, re.Pattern):
            monkeypatch.setattr(sql_scoring, name, Counted(value))
    return total


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_text_is_extracted_in_linear_work(name, monkeypatch, scanned):
    monkeypatch.setattr(sql_scoring, "MAX_LINES", 10 * LINES)  # no cap: the extraction itself is under test
    text = ADVERSARIAL[name]
    sql = extract_sql(text, dataclasses.replace(SQL_LIMITS, max_prediction_chars=10 * len(text)))
    assert isinstance(sql, str) and len(sql) <= len(text)
    assert scanned[0] <= 20 * len(text)
    if name == "queries one per line":
        assert sql == "SELECT a FROM t WHERE b = 1"


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_text_over_the_caps_is_never_parsed(name):
    sql = extract_sql(ADVERSARIAL[name], SQL_LIMITS)
    assert sql == ADVERSARIAL[name][: SQL_LIMITS.max_prediction_chars + 1]
    assert sql_scoring.too_long(sql, SQL_LIMITS)


def test_random_text_never_raises():
    levels = {"easy", "medium", "hard", "extra", None}
    for text in random_texts(800):
        sql = extract_sql(text, SQL_LIMITS)
        assert isinstance(sql, str) and len(sql) <= len(text)
        assert isinstance(normalize_for_strict(sql), str)
        assert hardness(text) in levels and hardness(sql) in levels


def test_deep_nesting_gets_no_hardness():
    for depth in (1_000, 3_000):
        assert hardness("SELECT " + "(" * depth + "1" + ")" * depth) is None
        assert hardness("SELECT " + "CASE WHEN a THEN " * depth + "1" + " END" * depth) is None
        assert hardness("SELECT a FROM t WHERE " + " OR ".join(["b = 1"] * depth)) in ("extra", None)


def test_random_text_through_deepeval_and_the_sandbox_gets_a_known_kind(singers_db, tmp_path):
    texts = [*random_texts(200, seed=1), "SELECT " + "(" * 3000 + "1" + ")" * 3000, "SELECT name FROM singer"]
    items = [
        {"question": text, "prediction": extract_sql(text, SQL_LIMITS), "gold": "SELECT name FROM singer"}
        | {"db_path": singers_db, "db_id": "concert"}
        for text in texts
    ]
    results = evaluate_predictions(items, SQL_LIMITS, tmp_path)
    assert all(result["error_kind"] in (None, *ERROR_KINDS) for result in results)
    assert results[-1]["score"] == 1 and results[-2]["error_kind"] == "other"  # sqlite: expression tree too deep


def official_strict_match(predicted_rows, gold_rows, order_matters):
    """The official result_eq, its column search by brute force: every column permutation."""
    if not gold_rows and not predicted_rows:
        return True
    if len(gold_rows) != len(predicted_rows) or len(predicted_rows[0]) != len(gold_rows[0]):
        return False

    def unordered(rows):
        return (list if order_matters else set)(tuple(sorted(row, key=lambda v: str(v) + str(type(v)))) for row in rows)

    if unordered(predicted_rows) != unordered(gold_rows):
        return False
    for order in itertools.permutations(range(len(gold_rows[0]))):
        permuted = [tuple(row[i] for i in order) for row in predicted_rows]
        if permuted == gold_rows if order_matters else Counter(permuted) == Counter(gold_rows):
            return True
    return False


def test_strict_rule_agrees_with_the_official_search_on_random_rows():
    generator = random.Random(2)
    values = [0, 1, 1.0, "a", "\ud800", None, b"x"]
    matches = 0
    for _ in range(2000):
        columns, rows = generator.randrange(1, 5), generator.randrange(0, 5)
        gold = [tuple(generator.choice(values[:3]) for _ in range(columns)) for _ in range(rows)]
        order = generator.sample(range(columns), columns)
        predicted = [tuple(row[i] for i in order) for row in generator.sample(gold, rows)]
        if generator.random() < 0.5 and predicted:  # a near miss: one value changed
            row = generator.randrange(rows)
            predicted[row] = (generator.choice(values), *predicted[row][1:])
        for gold_sql in ("SELECT *", "SELECT * ORDER BY 1"):
            expected = official_strict_match(predicted, gold, "ORDER BY" in gold_sql)
            assert strict_match(predicted, gold, gold_sql) == expected, (predicted, gold, gold_sql)
            matches += expected
        study_match(predicted, gold)
    print(f"{matches} matches in 4000 comparisons")
    assert 1000 < matches < 3000  # both answers are well represented
