"""Execution accuracy on Spider: run untrusted SQL safely, compare result rows, expose both rules as DeepEval metrics.

Two rules, computed from the same executions:
    study   the study's rule (Figure 7): set(predicted rows) == set(gold rows); order and duplicates ignored.
    strict  the official Spider test-suite evaluator (exec_eval.py, eval_exec_match without value plugging):
            both queries normalised (DISTINCT removed, "> =" rejoined), rows compared as multisets, order only when
            the gold query has ORDER BY, columns matched up to permutation.

A prediction can be anything a model wrote, so every query runs on a read-only connection with an authorizer,
a wall-clock budget and a row cap; failures become a reason string, never an exception.
"""

import contextlib
import io
import itertools
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from deepeval import evaluate
from deepeval.evaluate.configs import AsyncConfig, CacheConfig, DisplayConfig, ErrorConfig
from deepeval.metrics import BaseMetric
from deepeval.test_case import LLMTestCase

import common  # sets DEEPEVAL_TELEMETRY_OPT_OUT=YES before deepeval is imported
from common import MAX_PREDICTION_CHARS, SQL_MAX_ROWS, SQL_TIMEOUT_SECONDS

# ---------------------------------------------------------------------------------------------------------------
# Safe execution: in sql_sandbox (a worker process killed at the deadline); re-exported under the old names.
from sql_sandbox import (  # noqa: F401
    ACTION_NAMES,
    DENIED_FUNCTIONS,
    MAX_VALUE_BYTES,
    PROGRESS_EVERY,
    READ_PRAGMAS,
    classify_error,
    execute_sql,
)

# ---------------------------------------------------------------------------------------------------------------
# Extracting the SQL from a model's output.

END_TOKENS = re.compile(r"<\|im_end\|>|<\|endoftext\|>|<\|eot_id\|>|<\|im_start\|>|</s>")
# The language tag that may follow an opening fence (```sql, ```SQLite).
FENCE_TAG = re.compile(r"^[ \t]*(?:sqlite|sql)?[ \t]*\n?", re.IGNORECASE)
# An inline code span that holds a query: "The query is `SELECT count(*) FROM singer`."
INLINE_QUERY = re.compile(r"`\s*((?:select|with)\s[^`]*)`", re.IGNORECASE)  # not a bare `SELECT`
LABEL = re.compile(r"^\s*(?:sql\s+query|sql|query|answer)\s*:\s*", re.IGNORECASE)
# A line that starts a query: SELECT, or WITH name [(columns)] AS ( ... (not "With this schema, ...").
SQL_LINE_START = re.compile(
    r"^[ \t]*(?:select\b|with\s+(?:recursive\s+)?\w+\s*(?:\([^)]*\)\s*)?as\s*\()", re.IGNORECASE | re.MULTILINE
)
# A line of commentary after the query; capitalised sentence starts only, so a column named "result" survives.
PROSE_LINE = re.compile(r"^\s*(?:Explanation|Note|This|The|Here|It|These|We|I|That|In this)\b(?!\s*[,.()])")


def _first_statement(text):
    """Up to the first ';' or blank line outside string literals; comments dropped, whitespace collapsed."""
    out, i, n = [], 0, len(text)
    while i < n:
        char = text[i]
        if char in "'\"`":  # copy a quoted literal or identifier verbatim ('' and "" escape themselves)
            end = i + 1
            while end < n:
                if text[end] == char:
                    if end + 1 < n and text[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            out.append(text[i : end + 1])
            i = end + 1
        elif char == ";":
            break
        elif text.startswith("--", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 2
            if out and out[-1] != " ":
                out.append(" ")
        elif char.isspace():
            end = i
            while end < n and text[end].isspace():
                end += 1
            if text[i:end].count("\n") >= 2:  # a blank line: what follows is commentary
                break
            if out and out[-1] != " ":
                out.append(" ")
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out).strip()


# A line that starts some other statement: what a model wrote as its SQL even when it is not a query.
STATEMENT_LINE_START = re.compile(
    r"^[ \t]*(?:create|insert|update|delete|drop|alter|pragma)\b", re.IGNORECASE | re.MULTILINE
)


def _has_query(text):
    return bool(SQL_LINE_START.search(text) or re.search(r"\bselect\b", text, re.IGNORECASE))


def _fenced_query(text):
    """The part of the output that holds the query when it has ``` fences: the first fenced block with a query in
    it; else the first stretch outside fences that has one (a model that writes the query bare, then a lone closing
    fence and its explanation); else the first block. An unclosed opening fence runs to the end."""
    parts = text.split("```")
    if len(parts) == 1:
        return text
    blocks = [FENCE_TAG.sub("", part, count=1) for part in parts[1::2]]
    for part in blocks + parts[0::2]:
        if _has_query(part):
            return part
    for part in blocks + parts[0::2]:  # no query anywhere: the statement it wrote (CREATE TABLE ...), not prose
        if STATEMENT_LINE_START.search(part):
            return part
    return blocks[0]


# What leaves a query open for a SELECT on the next line: a set operator or an opening parenthesis.
OPEN_QUERY_END = re.compile(r"(?:\b(?:union(?:\s+all)?|intersect|except)|\()\s*$", re.IGNORECASE)


def _starts_new_query(previous_lines, line):
    """A line that starts another SELECT at the top level, after a query that is complete: models list several
    queries one per line without ';' ("SELECT ... = 1\nSELECT ... = 1\n...")."""
    before = "\n".join(previous_lines)
    only_common_tables = re.match(r"\s*with\b", before, re.IGNORECASE) and before.rstrip().endswith(")")
    return (
        bool(SQL_LINE_START.match(line))
        and before.count("(") <= before.count(")")
        and not OPEN_QUERY_END.search(before)
        and not only_common_tables
    )


def extract_sql(raw_text):
    """The SQL in an LLM's raw output: fences, labels, prose and trailing explanations removed; one statement."""
    text = _fenced_query(END_TOKENS.split(raw_text or "", maxsplit=1)[0])
    inline = INLINE_QUERY.search(text)
    if inline and not SQL_LINE_START.match(text.lstrip()):
        text = inline.group(1)
    text = LABEL.sub("", text, count=1)
    start = (
        SQL_LINE_START.search(text) or re.search(r"\bSELECT\b", text) or re.search(r"\bselect\b", text, re.IGNORECASE)
    )
    if start is None:
        other = STATEMENT_LINE_START.search(text)
        return _first_statement(text[other.start() :]) if other else text.strip()
    text = text[start.start() :]
    lines = text.split("\n")
    for number, line in enumerate(lines[1:], 1):  # a prose line, or a new query, after the statement ends it
        if PROSE_LINE.match(line) or _starts_new_query(lines[:number], line):
            lines = lines[:number]
            break
    return _first_statement("\n".join(lines))


# ---------------------------------------------------------------------------------------------------------------
# Comparing results.


def study_match(predicted_rows, gold_rows):
    """The study's rule: the same set of rows, order and duplicates ignored."""
    return set(predicted_rows) == set(gold_rows)


# Tokens as sqlparse sees them for this purpose: quoted things stay whole, so only the keyword DISTINCT goes.
SQL_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|\w+|\s+|.", re.DOTALL)


def normalize_for_strict(sql):
    """What the official evaluator does to both queries before executing them: postprocess() then remove_distinct()."""
    sql = sql.replace("> =", ">=").replace("< =", "<=").replace("! =", "!=")
    return "".join(token for token in SQL_TOKEN.findall(sql) if token.lower() != "distinct")


def _unorder_row(row):
    return tuple(sorted(row, key=lambda value: str(value) + str(type(value))))


def _column_permutations(gold_rows, predicted_rows):
    """Column orders of the prediction that could equal the gold, as the official get_constraint_permutation.

    The official code prunes with 20 random rows when there are more than 3 columns; pruning with every row
    removes only permutations that can never match either, so the answer is the same and deterministic.
    """
    num_cols = len(gold_rows[0])
    gold_columns = [{row[i] for row in gold_rows} for i in range(num_cols)]
    allowed = [set(range(num_cols)) for _ in range(num_cols)]
    if num_cols > 3:
        for row in predicted_rows:
            for gold_col in range(num_cols):
                allowed[gold_col] = {col for col in allowed[gold_col] if row[col] in gold_columns[gold_col]}
    return itertools.product(*allowed)


def strict_match(predicted_rows, gold_rows, gold_sql):
    """The official result_eq: multisets of rows, ordered when gold has ORDER BY, columns up to permutation."""
    order_matters = "order by" in gold_sql.lower()
    if len(gold_rows) == 0 and len(predicted_rows) == 0:
        return True
    if len(gold_rows) != len(predicted_rows):
        return False
    num_cols = len(gold_rows[0])
    if len(predicted_rows[0]) != num_cols:
        return False
    gold_unordered = [_unorder_row(row) for row in gold_rows]
    predicted_unordered = [_unorder_row(row) for row in predicted_rows]
    if order_matters and gold_unordered != predicted_unordered:
        return False
    if not order_matters and set(gold_unordered) != set(predicted_unordered):
        return False
    gold_counts = None
    for perm in _column_permutations(gold_rows, predicted_rows):
        if len(set(perm)) != len(perm):
            continue
        permuted = list(predicted_rows) if num_cols == 1 else [tuple(row[i] for i in perm) for row in predicted_rows]
        if order_matters:
            if list(gold_rows) == permuted:
                return True
        elif set(gold_rows) == set(permuted):
            gold_counts = gold_counts or Counter(gold_rows)
            if Counter(permuted) == gold_counts:
                return True
    return False


# ---------------------------------------------------------------------------------------------------------------
# Scoring one prediction (cached: both metrics and every model share the executions).


@lru_cache(maxsize=8192)
def gold_result(db_path, sql, rule, timeout_seconds=SQL_TIMEOUT_SECONDS, max_rows=SQL_MAX_ROWS):
    """Gold rows, once per (database, query, rule); 'strict' executes the normalised query. Do not mutate."""
    query = normalize_for_strict(sql) if rule == "strict" else sql
    return execute_sql(db_path, query, timeout_seconds, max_rows)


def _wrong_result_message(predicted_rows, gold_rows):
    if predicted_rows and gold_rows and len(predicted_rows[0]) != len(gold_rows[0]):
        return f"{len(predicted_rows[0])} columns, expected {len(gold_rows[0])}"
    if len(predicted_rows) != len(gold_rows):
        return f"{len(predicted_rows)} rows, expected {len(gold_rows)}"
    return f"{len(predicted_rows)} rows, expected {len(gold_rows)}, values differ"


@lru_cache(maxsize=4096)
def _score(db_path, prediction, gold, timeout_seconds, max_rows):
    gold_run = gold_result(db_path, gold, "study", timeout_seconds, max_rows)
    if not gold_run["ok"]:
        reason = f"gold_failed: {gold_run['error_kind']}: {gold_run['message']}"
        return {
            "score": 0.0,
            "strict_score": 0.0,
            "reason": reason,
            "error_kind": "gold_failed",
            "strict_reason": reason,
        }
    if len(prediction) > MAX_PREDICTION_CHARS:  # before normalize_for_strict, whose tokens cost ~125 bytes a character
        reason = f"too_long: prediction over {MAX_PREDICTION_CHARS:,} characters"
        return {"score": 0.0, "strict_score": 0.0, "reason": reason, "error_kind": "too_long", "strict_reason": reason}
    predicted = execute_sql(db_path, prediction, timeout_seconds, max_rows)
    if not predicted["ok"]:
        reason = f"{predicted['error_kind']}: {predicted['message']}"
        return {
            "score": 0.0,
            "strict_score": 0.0,
            "reason": reason,
            "error_kind": predicted["error_kind"],
            "strict_reason": reason,
        }
    if study_match(predicted["rows"], gold_run["rows"]):
        score, error_kind, reason = 1.0, None, "correct"
    else:
        score, error_kind = 0.0, "wrong_result"
        reason = f"wrong_result: {_wrong_result_message(list(set(predicted['rows'])), list(set(gold_run['rows'])))}"

    # The strict rule executes the normalised queries; usually they are the unchanged ones (cache hit or reuse).
    gold_strict = gold_result(db_path, gold, "strict", timeout_seconds, max_rows)
    prediction_strict = normalize_for_strict(prediction)
    predicted_strict = (
        predicted
        if prediction_strict == prediction
        else execute_sql(db_path, prediction_strict, timeout_seconds, max_rows)
    )
    if not gold_strict["ok"]:
        strict_score, strict_reason = 0.0, f"gold_failed: {gold_strict['error_kind']}: {gold_strict['message']}"
    elif not predicted_strict["ok"]:
        strict_score, strict_reason = 0.0, f"{predicted_strict['error_kind']}: {predicted_strict['message']}"
    elif strict_match(predicted_strict["rows"], gold_strict["rows"], normalize_for_strict(gold)):
        strict_score, strict_reason = 1.0, "correct"
    else:
        strict_score = 0.0
        strict_reason = f"wrong_result: {_wrong_result_message(predicted_strict['rows'], gold_strict['rows'])}"
        if "order by" in normalize_for_strict(gold).lower():
            strict_reason += " (gold has ORDER BY: order matters)"
    return {
        "score": score,
        "strict_score": strict_score,
        "reason": reason,
        "error_kind": error_kind,
        "strict_reason": strict_reason,
    }


def score_prediction(db_path, prediction, gold, timeout_seconds=SQL_TIMEOUT_SECONDS, max_rows=SQL_MAX_ROWS):
    """Both rules for one prediction: {"score", "strict_score", "reason", "error_kind", "strict_reason"}.

    score/reason/error_kind follow the study's rule; error_kind is None when correct, else the execution error
    kind, "wrong_result", or "gold_failed" (the gold query itself failed: a data problem).
    """
    if not Path(db_path).is_file():
        raise FileNotFoundError(f"database {db_path} does not exist")
    prediction = (prediction or "")[: MAX_PREDICTION_CHARS + 1]  # still over the cap for _score; a small cache key
    return dict(_score(str(db_path), prediction, gold, float(timeout_seconds), int(max_rows)))


def test_suite_score(database_paths, prediction, gold, timeout_seconds=SQL_TIMEOUT_SECONDS, max_rows=SQL_MAX_ROWS):
    """The official test-suite accuracy of one prediction: 1 only if it matches the gold under the strict rule on
    every database of its suite (the official evaluator's eval_exec_match over the db_id's folder)."""
    return int(
        all(
            score_prediction(path, prediction, gold, timeout_seconds, max_rows)["strict_score"] == 1
            for path in database_paths
        )
    )


# ---------------------------------------------------------------------------------------------------------------
# DeepEval metrics. The database travels in the test case's metadata (DeepEval 4 renamed additional_metadata to
# metadata; the old name still works as a constructor keyword but warns when read).


class ExecutionAccuracy(BaseMetric):
    """The study's execution accuracy (Figure 7): 1.0 when the result sets are equal, ignoring order and duplicates."""

    score_key, reason_key, name = "score", "reason", "Execution Accuracy"

    def __init__(self, threshold=1.0, timeout_seconds=SQL_TIMEOUT_SECONDS, max_rows=SQL_MAX_ROWS):
        self.threshold = threshold
        self.timeout_seconds = timeout_seconds
        self.max_rows = max_rows
        self.include_reason = True
        self.async_mode = False
        self.strict_mode = False

    def measure(self, test_case, *args, **kwargs):
        metadata = test_case.metadata or {}
        result = score_prediction(
            metadata["db_path"], test_case.actual_output, test_case.expected_output, self.timeout_seconds, self.max_rows
        )
        self.score = result[self.score_key]
        self.reason = result[self.reason_key]
        self.error = None
        self.success = self.score >= self.threshold
        return self.score

    async def a_measure(self, test_case, *args, **kwargs):
        return self.measure(test_case)  # pure CPU and sqlite: nothing to await

    def is_successful(self):
        self.success = self.error is None and self.score is not None and self.score >= self.threshold
        return self.success

    @property
    def __name__(self):
        return self.name


class StrictExecutionAccuracy(ExecutionAccuracy):
    """The official Spider test-suite rule: multisets, ORDER BY-aware, columns up to permutation, DISTINCT removed."""

    score_key, reason_key, name = "strict_score", "strict_reason", "Strict Execution Accuracy"


def evaluate_predictions(items, work_dir=None, timeout_seconds=SQL_TIMEOUT_SECONDS, max_rows=SQL_MAX_ROWS):
    """Score items ({"question", "prediction", "gold", "db_path", "db_id"}) through deepeval.evaluate.

    Returns, in input order, score_prediction's {"score", "strict_score", "reason", "error_kind", "strict_reason"}
    per item, each checked equal to DeepEval's score.
    DeepEval writes .deepeval/ into the current directory, so it runs inside work_dir; it prints a summary
    unconditionally, so its stdout is swallowed.
    """
    items = list(items)
    if not items:
        return []
    for item in items:  # fail fast on a setup problem rather than mid-run inside deepeval
        if not Path(item["db_path"]).is_file():
            raise FileNotFoundError(f"database {item['db_path']} does not exist")
    test_cases = [
        LLMTestCase(
            input=item["question"],
            actual_output=item["prediction"] or "",
            expected_output=item["gold"],
            name=f"item-{index}",
            metadata={"db_path": str(item["db_path"]), "db_id": item.get("db_id"), "index": index},
        )
        for index, item in enumerate(items)
    ]
    metrics = [
        ExecutionAccuracy(timeout_seconds=timeout_seconds, max_rows=max_rows),
        StrictExecutionAccuracy(timeout_seconds=timeout_seconds, max_rows=max_rows),
    ]
    work_dir = Path(work_dir or common.project_path(common.CACHE_DIR) / "deepeval")
    work_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.chdir(work_dir), contextlib.redirect_stdout(io.StringIO()):
        # Sync: each case runs in DeepEval's timeout thread; async would block its event loop on sqlite anyway.
        outcome = evaluate(
            test_cases,
            metrics=metrics,
            async_config=AsyncConfig(run_async=False),
            display_config=DisplayConfig(show_indicator=False, print_results=False, inspect_after_run=False),
            cache_config=CacheConfig(write_cache=False, use_cache=False),
            error_config=ErrorConfig(ignore_errors=False),
        )
    # The records come from the scorer itself; DeepEval, the metric the study asked for, must agree on every score.
    results = [
        score_prediction(item["db_path"], item["prediction"], item["gold"], timeout_seconds, max_rows) for item in items
    ]
    for test_result in outcome.test_results:
        by_name = {data.name: data for data in test_result.metrics_data or []}
        result = results[test_result.metadata["index"]]
        for metric, field in ((ExecutionAccuracy, "score"), (StrictExecutionAccuracy, "strict_score")):
            data = by_name[metric.name]
            if data.error or data.score != result[field]:
                raise RuntimeError(
                    f"deepeval's {metric.name} disagrees with the scorer on {test_result.name}: "
                    f"{data.error or data.score} vs {result[field]}"
                )
    if len(outcome.test_results) != len(items):
        raise RuntimeError(f"deepeval returned {len(outcome.test_results)} results for {len(items)} items")
    return results
