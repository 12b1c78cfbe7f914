"""Execution accuracy on Spider: extract the SQL from a model's output, run it in the sandbox, compare result rows,
expose both rules as DeepEval metrics.

Two rules, computed from the same executions:
    study   the study's rule (Figure 7): set(predicted rows) == set(gold rows); order and duplicates ignored.
    strict  the official Spider test-suite evaluator (exec_eval.py, eval_exec_match without value plugging):
            both queries normalised (DISTINCT removed, "> =" rejoined), rows compared as multisets, order only when
            the gold query has ORDER BY, columns matched up to permutation.

A prediction can be anything a model wrote: it is capped in characters and lines before any parsing or hashing,
extraction is linear in its length, and failures become a reason string, never an exception.
"""

import contextlib
import io
import os
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

# DeepEval reads this when it is imported: set before, it never phones home (a caller's own choice stands).
os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")

from deepeval import evaluate  # noqa: E402
from deepeval.evaluate.configs import AsyncConfig, CacheConfig, DisplayConfig, ErrorConfig  # noqa: E402
from deepeval.metrics import BaseMetric  # noqa: E402
from deepeval.test_case import LLMTestCase  # noqa: E402

from tradeoff import PipelineError  # noqa: E402
from tradeoff.sql_sandbox import execute_sql  # noqa: E402

# A generated output is at most a few hundred tokens; SqlLimits.max_prediction_chars caps the characters.
MAX_LINES = 2_000
# Rows hashed while searching the column orders of the strict rule: a few seconds at most, on any result.
MAX_COMPARISON_STEPS = 20_000_000


def too_long(text, limits):
    """Over the caps: more than limits.max_prediction_chars characters or MAX_LINES lines (cost bounded by the cap)."""
    return len(text) > limits.max_prediction_chars or text.count("\n", 0, limits.max_prediction_chars) >= MAX_LINES


# ---------------------------------------------------------------------------------------------------------------
# Extracting the SQL from a model's output.

END_TOKENS = re.compile(r"<\|im_end\|>|<\|endoftext\|>|<\|eot_id\|>|<\|im_start\|>|</s>")
# The language tag that may follow an opening fence (```sql, ```SQLite).
FENCE_TAG = re.compile(r"^[ \t]*(?:sqlite|sql)?[ \t]*\n?", re.IGNORECASE)
# An inline code span that holds a query: "The query is `SELECT count(*) FROM singer`."
INLINE_QUERY = re.compile(r"`\s*((?:select|with)\s[^`]*)`", re.IGNORECASE)  # not a bare `SELECT`
LABEL = re.compile(r"^\s*(?:sql\s+query|sql|query|answer)\s*:\s*", re.IGNORECASE)
# A line that starts a query: SELECT, or WITH name [(columns)] AS ( ... (not "With this schema, ..."). The column
# list stops at any parenthesis, so that no search scans past the next one.
SQL_LINE_START = re.compile(
    r"^[ \t]*(?:select\b|with\s+(?:recursive\s+)?\w+\s*(?:\([^()]*\)\s*)?as\s*\()", re.IGNORECASE | re.MULTILINE
)
# SELECT anywhere, the capitalised keyword first (it starts the query more often than the word in prose).
UPPER_SELECT, ANY_SELECT = re.compile(r"\bSELECT\b"), re.compile(r"\bselect\b", re.IGNORECASE)
WITH_START = re.compile(r"\s*with\b", re.IGNORECASE)
# A line that starts some other statement: what a model wrote as its SQL even when it is not a query.
STATEMENT_LINE_START = re.compile(
    r"^[ \t]*(?:create|insert|update|delete|drop|alter|pragma)\b", re.IGNORECASE | re.MULTILINE
)
# A line of commentary after the query; capitalised sentence starts only, so a column named "result" survives.
PROSE_LINE = re.compile(r"^\s*(?:Explanation|Note|This|The|Here|It|These|We|I|That|In this)\b(?!\s*[,.()])")
# What leaves a query open for a SELECT on the next line: a set operator or an opening parenthesis.
OPEN_QUERY_END = re.compile(r"(?:\b(?:union(?:\s+all)?|intersect|except)|\()\s*$", re.IGNORECASE)


# The pieces of a statement: quoted text (unclosed: to the end), comments (unclosed: to the end), whitespace, ';'.
STATEMENT_PIECE = re.compile(
    r"""'(?:[^']|'')*'?|"(?:[^"]|"")*"?|`[^`]*`?|--[^\n]*|/\*.*?(?:\*/|\Z)|\s+|;|[^'"`\s;/-]+|.""", re.DOTALL
)


def _first_statement(text):
    """Up to the first ';' or blank line outside string literals; comments dropped, whitespace collapsed."""
    out = []
    for piece in STATEMENT_PIECE.findall(text):
        if piece == ";" or (piece.isspace() and piece.count("\n") >= 2):  # a blank line: what follows is commentary
            break
        if piece.isspace() or piece.startswith("/*"):
            if out and out[-1] != " ":
                out.append(" ")
        elif not piece.startswith("--"):
            out.append(piece)
    return "".join(out).strip()


def _has_query(text):
    return bool(SQL_LINE_START.search(text) or ANY_SELECT.search(text))


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


def _statement_lines(lines):
    """The lines up to a prose line, or up to a line that starts another SELECT at the top level after a complete
    query (models list several queries one per line without ';'). One pass: the text before each line is summed up
    by its parenthesis depth, its last two non-blank lines and its last character."""
    in_common_tables = WITH_START.match(lines[0])
    depth, tail, last_char = 0, [], ""
    for number, line in enumerate(lines):
        if number and (
            PROSE_LINE.match(line)
            or (
                SQL_LINE_START.match(line)
                and depth <= 0
                and not (in_common_tables and last_char == ")")
                and not OPEN_QUERY_END.search("\n".join(tail))
            )
        ):
            return lines[:number]
        depth += line.count("(") - line.count(")")
        if line.strip():
            tail = [*tail[-1:], line]
            last_char = line.rstrip()[-1]
    return lines


def extract_sql(raw_text, limits):
    """The SQL in an LLM's raw output: fences, labels, prose and trailing explanations removed; one statement.

    A text over the caps (too_long) is not parsed: its first max_prediction_chars + 1 characters come back, still
    over the caps, for score_prediction to score as too_long."""
    text = raw_text or ""
    if too_long(text, limits):
        return text[: limits.max_prediction_chars + 1]
    text = _fenced_query(END_TOKENS.split(text, maxsplit=1)[0])
    inline = INLINE_QUERY.search(text)
    if inline and not SQL_LINE_START.match(text.lstrip()):
        text = inline.group(1)
    text = LABEL.sub("", text, count=1)
    start = SQL_LINE_START.search(text) or UPPER_SELECT.search(text) or ANY_SELECT.search(text)
    if start is None:
        other = STATEMENT_LINE_START.search(text)
        return _first_statement(text[other.start() :]) if other else text.strip()
    return _first_statement("\n".join(_statement_lines(text[start.start() :].split("\n"))))


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


def _column_order_exists(predicted_rows, gold_rows, order_matters):
    """Whether some order of the predicted columns gives the gold rows (as lists under ORDER BY, else as multisets):
    the official get_constraint_permutation search, pruned without changing its answer. Gold columns are placed left
    to right; a predicted column is tried only if it holds the gold column's values, of identical predicted columns
    only the first unused one, and an order is extended only while the rows cut to the columns placed so far agree
    (compared by hash; a complete order is compared exactly). None after MAX_COMPARISON_STEPS rows hashed."""
    agree = list if order_matters else Counter

    def values(column):
        return column if order_matters else frozenset(Counter(column).items())

    candidates, last_twin, previous_twin = {}, {}, []
    for index, column in enumerate(zip(*predicted_rows)):
        candidates.setdefault(values(column), []).append(index)
        previous_twin.append(last_twin.get(column))
        last_twin[column] = index
    wanted = [candidates.get(values(column), []) for column in zip(*gold_rows)]
    gold = agree(gold_rows)
    gold_keys, gold_views = [0] * len(gold_rows), [None]  # by columns placed: gold rows cut so far, hashed
    stack, steps = [((), [0] * len(predicted_rows))], 0  # (predicted columns placed, the parent's row hashes)
    while stack:
        order, keys = stack.pop()
        depth = len(order)
        if depth:
            steps += len(keys)
            if steps > MAX_COMPARISON_STEPS:
                return None
            keys = [hash((key, row[order[-1]])) for key, row in zip(keys, predicted_rows)]
            if len(gold_views) == depth:
                gold_keys = [hash((key, row[depth - 1])) for key, row in zip(gold_keys, gold_rows)]
                gold_views.append(agree(gold_keys))
            if agree(keys) != gold_views[depth]:
                continue
        if depth == len(wanted):
            if agree(tuple(row[i] for i in order) for row in predicted_rows) == gold:
                return True
            continue
        for index in reversed(wanted[depth]):
            if index not in order and (previous_twin[index] is None or previous_twin[index] in order):
                stack.append(((*order, index), keys))
    return False


def strict_match(predicted_rows, gold_rows, gold_sql):
    """The official result_eq: multisets of rows, ordered when gold has ORDER BY, columns up to permutation; None
    when the column orders are too many to search (see _column_order_exists)."""
    order_matters = "order by" in gold_sql.lower()
    if not gold_rows and not predicted_rows:
        return True
    if len(gold_rows) != len(predicted_rows) or len(predicted_rows[0]) != len(gold_rows[0]):
        return False
    gold_unordered = [_unorder_row(row) for row in gold_rows]
    predicted_unordered = [_unorder_row(row) for row in predicted_rows]
    if order_matters and gold_unordered != predicted_unordered:
        return False
    if not order_matters and set(gold_unordered) != set(predicted_unordered):
        return False
    return _column_order_exists(predicted_rows, gold_rows, order_matters)


# ---------------------------------------------------------------------------------------------------------------
# Scoring one prediction (cached: both metrics, every model and every test-suite database share the executions).


def _outcome(score, strict_score, reason, strict_reason, error_kind):
    return dict(
        score=score, strict_score=strict_score, reason=reason, strict_reason=strict_reason, error_kind=error_kind
    )


def _failed(kind, message):
    return _outcome(0.0, 0.0, f"{kind}: {message}", f"{kind}: {message}", kind)


@lru_cache(maxsize=8192)
def gold_result(db_path, sql, rule, limits):
    """Gold rows, once per (database, query, rule); 'strict' executes the normalised query. Do not mutate."""
    return execute_sql(db_path, normalize_for_strict(sql) if rule == "strict" else sql, limits)


def _wrong_result_message(predicted_rows, gold_rows):
    if predicted_rows and gold_rows and len(predicted_rows[0]) != len(gold_rows[0]):
        return f"{len(predicted_rows[0])} columns, expected {len(gold_rows[0])}"
    differ = ", values differ" if len(predicted_rows) == len(gold_rows) else ""
    return f"{len(predicted_rows)} rows, expected {len(gold_rows)}{differ}"


@lru_cache(maxsize=4096)
def _score(db_path, prediction, gold, limits):
    gold_run = gold_result(db_path, gold, "study", limits)
    if not gold_run["ok"]:
        return _failed("gold_failed", f"{gold_run['error_kind']}: {gold_run['message']}")
    predicted = execute_sql(db_path, prediction, limits)
    if not predicted["ok"]:
        return _failed(predicted["error_kind"], predicted["message"])
    if study_match(predicted["rows"], gold_run["rows"]):
        score, error_kind, reason = 1.0, None, "correct"
    else:
        score, error_kind = 0.0, "wrong_result"
        reason = f"wrong_result: {_wrong_result_message(list(set(predicted['rows'])), list(set(gold_run['rows'])))}"

    # The strict rule executes the normalised queries; usually they are the unchanged ones (cache hit or reuse).
    gold_strict = gold_result(db_path, gold, "strict", limits)
    prediction_strict = normalize_for_strict(prediction)
    predicted_strict = predicted if prediction_strict == prediction else execute_sql(db_path, prediction_strict, limits)
    match = None
    if not gold_strict["ok"]:
        strict_reason = f"gold_failed: {gold_strict['error_kind']}: {gold_strict['message']}"
    elif not predicted_strict["ok"]:
        strict_reason = f"{predicted_strict['error_kind']}: {predicted_strict['message']}"
    else:
        match = strict_match(predicted_strict["rows"], gold_strict["rows"], normalize_for_strict(gold))
        if match:
            strict_reason = "correct"
        elif match is None:
            strict_reason = f"too_large: over {MAX_COMPARISON_STEPS:,} rows hashed comparing column orders"
        else:
            strict_reason = f"wrong_result: {_wrong_result_message(predicted_strict['rows'], gold_strict['rows'])}"
            if "order by" in normalize_for_strict(gold).lower():
                strict_reason += " (gold has ORDER BY: order matters)"
    return _outcome(score, float(bool(match)), reason, strict_reason, error_kind)


def _check_gold(gold, where, limits):
    if not isinstance(gold, str) or too_long(gold, limits):
        start = repr(gold[:60]) if isinstance(gold, str) else f"a {type(gold).__name__}"
        raise PipelineError(
            f"the gold query of {where} is not text of at most {limits.max_prediction_chars:,} characters and "
            f"{MAX_LINES:,} lines ({start}); fix the Spider data or raise MAX_PREDICTION_CHARS"
        )


def score_prediction(db_path, prediction, gold, limits):
    """Both rules for one prediction: {"score", "strict_score", "reason", "strict_reason", "error_kind"}.

    score/reason/error_kind follow the study's rule; error_kind is None when correct, else one of
    sql_sandbox.ERROR_KINDS. A prediction over the caps scores 0 as too_long before it is parsed or hashed; a gold
    query over them is a PipelineError, a missing database a FileNotFoundError
    (setup problems, not wrong predictions)."""
    if not Path(db_path).is_file():
        raise FileNotFoundError(f"database {db_path} does not exist")
    _check_gold(gold, db_path, limits)
    prediction = prediction or ""
    if too_long(prediction, limits):
        return _failed("too_long", f"prediction over {limits.max_prediction_chars:,} characters or {MAX_LINES:,} lines")
    return dict(_score(str(db_path), prediction, gold, limits))


def test_suite_score(database_paths, prediction, gold, limits):
    """The official test-suite accuracy of one prediction: 1 only if it matches the gold under the strict rule on
    every database of its suite (the official evaluator's eval_exec_match over the db_id's folder)."""
    return int(all(score_prediction(path, prediction, gold, limits)["strict_score"] == 1 for path in database_paths))


# ---------------------------------------------------------------------------------------------------------------
# DeepEval metrics. The database travels in the test case's metadata.


class ExecutionAccuracy(BaseMetric):
    """The study's execution accuracy (Figure 7): 1.0 when the result sets are equal, ignoring order and duplicates."""

    score_key, reason_key, name = "score", "reason", "Execution Accuracy"

    def __init__(self, limits, threshold=1.0):
        self.limits = limits
        self.threshold = threshold
        self.include_reason = True
        self.async_mode = False
        self.strict_mode = False

    def measure(self, test_case, *args, **kwargs):
        db_path = test_case.metadata["db_path"]
        result = score_prediction(db_path, test_case.actual_output, test_case.expected_output, self.limits)
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


def evaluate_predictions(items, limits, work_dir):
    """Score items ({"question", "prediction", "gold", "db_path", "db_id"}) through deepeval.evaluate.

    Returns, in input order, score_prediction's dict per item, each checked equal to DeepEval's scores. DeepEval
    writes .deepeval/ into the current directory, so it runs inside work_dir; it prints a summary unconditionally,
    so its stdout is swallowed.
    """
    items = list(items)
    if not items:
        return []
    for item in items:  # fail fast on a setup problem rather than mid-run inside deepeval
        if not Path(item["db_path"]).is_file():
            raise FileNotFoundError(f"database {item['db_path']} does not exist")
        _check_gold(item["gold"], item["db_id"], limits)
    # Over the caps either way: a bounded copy keeps DeepEval and the caches off unbounded text.
    predictions = [(item["prediction"] or "")[: limits.max_prediction_chars + 1] for item in items]
    test_cases = [
        LLMTestCase(
            input=item["question"],
            actual_output=prediction,
            expected_output=item["gold"],
            name=f"item-{index}",
            metadata={"db_path": str(item["db_path"]), "db_id": item.get("db_id"), "index": index},
        )
        for index, (item, prediction) in enumerate(zip(items, predictions))
    ]
    metrics = [ExecutionAccuracy(limits), StrictExecutionAccuracy(limits)]
    Path(work_dir).mkdir(parents=True, exist_ok=True)
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
    if len(outcome.test_results) != len(items):
        raise RuntimeError(f"deepeval returned {len(outcome.test_results)} results for {len(items)} items")
    # The records come from the scorer itself; DeepEval, the metric the study asked for, must agree on every score.
    results = [score_prediction(item["db_path"], p, item["gold"], limits) for item, p in zip(items, predictions)]
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
    return results
