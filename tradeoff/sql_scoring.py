"""Execution accuracy on Spider: the SQL extracted from a model's output, run in the sandbox, the result rows
compared under two rules, both DeepEval metrics; one keyed record per question.

    study   the study's rule (Figure 7): set(predicted rows) == set(gold rows); order and duplicates ignored.
    strict  the official test-suite evaluator (exec_eval.py, eval_exec_match without value plugging): both queries
            normalised (DISTINCT removed, "> =" rejoined), rows compared as multisets, ordered only when the gold
            query has ORDER BY, columns matched up to permutation.

A prediction can be anything a model wrote: it is capped before any parsing or hashing, extraction is linear in its
length, and failures become a reason string, never an exception.
"""

import contextlib
import functools
import io
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# DeepEval reads this when it is imported: set before, it never phones home (a caller's own choice stands).
os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")

from deepeval import evaluate  # noqa: E402
from deepeval.evaluate.configs import AsyncConfig, CacheConfig, DisplayConfig  # noqa: E402
from deepeval.metrics import BaseMetric  # noqa: E402
from deepeval.test_case import LLMTestCase  # noqa: E402

from tradeoff import PipelineError, files, hardness, spider, stats  # noqa: E402
from tradeoff.sql_sandbox import SqlLimits, execute_sql  # noqa: E402

MAX_LINES = 2_000  # a generated output is at most a few hundred tokens; SqlLimits caps the characters
MAX_COMPARISON_STEPS = 20_000_000  # rows hashed searching the strict rule's column orders: seconds at most


def too_long(text, limits):
    """Over the caps: more than limits.max_prediction_chars characters or MAX_LINES lines (cost bounded by the cap)."""
    return len(text) > limits.max_prediction_chars or text.count("\n", 0, limits.max_prediction_chars) >= MAX_LINES


END_TOKENS = re.compile(r"<\|im_end\|>|<\|endoftext\|>|<\|eot_id\|>|<\|im_start\|>|</s>")
FENCE_TAG = re.compile(r"^[ \t]*(?:sqlite|sql)?[ \t]*\n?", re.IGNORECASE)  # after an opening fence: ```sql
# An inline code span that holds a query: "The query is `SELECT count(*) FROM singer`." (not a bare `SELECT`)
INLINE_QUERY = re.compile(r"`\s*((?:select|with)\s[^`]*)`", re.IGNORECASE)
LABEL = re.compile(r"^\s*(?:sql\s+query|sql|query|answer)\s*:\s*", re.IGNORECASE)
# A line that starts a query: SELECT, or WITH name [(columns)] AS ( ... (not "With this schema, ..."). The column
# list stops at any parenthesis, so that no search scans past the next one.
SQL_LINE_START = re.compile(
    r"^[ \t]*(?:select\b|with\s+(?:recursive\s+)?\w+\s*(?:\([^()]*\)\s*)?as\s*\()", re.IGNORECASE | re.MULTILINE
)
# SELECT anywhere, the capitalised keyword first (it starts the query more often than the word in prose).
UPPER_SELECT, ANY_SELECT = re.compile(r"\bSELECT\b"), re.compile(r"\bselect\b", re.IGNORECASE)
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


def _fenced_query(text):
    """With ``` fences: the first fenced block holding a query, else the first stretch outside fences holding one (a
    bare query, then a lone closing fence and its explanation), else the first block; an unclosed fence runs on."""
    parts = text.split("```")
    if len(parts) == 1:
        return text
    blocks = [FENCE_TAG.sub("", part, count=1) for part in parts[1::2]]
    candidates = blocks + parts[0::2]
    queries = (part for part in candidates if SQL_LINE_START.search(part) or ANY_SELECT.search(part))
    # No query anywhere: the statement it wrote (CREATE TABLE ...), not prose.
    statements = (part for part in candidates if STATEMENT_LINE_START.search(part))
    return next(queries, None) or next(statements, blocks[0])


def _statement_lines(lines):
    """The lines up to a prose line, or up to a line that starts another SELECT at the top level after a complete
    query (models list several queries one per line without ';'); one pass over the lines."""
    in_common_tables = re.match(r"\s*with\b", lines[0], re.IGNORECASE)
    depth, tail = 0, []  # the last two non-blank lines
    for number, line in enumerate(lines):
        if number and (
            PROSE_LINE.match(line)
            or (
                SQL_LINE_START.match(line)
                and depth <= 0
                and not (in_common_tables and tail[-1].rstrip().endswith(")"))
                and not OPEN_QUERY_END.search("\n".join(tail))
            )
        ):
            return lines[:number]
        depth += line.count("(") - line.count(")")
        if line.strip():
            tail = [*tail[-1:], line]
    return lines


def extract_sql(text, limits):
    """The SQL in an LLM's raw output: fences, labels, prose and trailing explanations removed; one statement. A text
    over the caps is not parsed: its first max_prediction_chars + 1 characters come back, still over them."""
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


def study_match(predicted_rows, gold_rows):
    """The study's rule: the same set of rows, order and duplicates ignored."""
    return set(predicted_rows) == set(gold_rows)


# Tokens as sqlparse sees them for this purpose: quoted things stay whole, so only the keyword DISTINCT goes.
SQL_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|\w+|\s+|.", re.DOTALL)


def normalize_for_strict(sql):
    """What the official evaluator does to both queries before executing them: postprocess() then remove_distinct()."""
    sql = sql.replace("> =", ">=").replace("< =", "<=").replace("! =", "!=")
    return "".join(token for token in SQL_TOKEN.findall(sql) if token.lower() != "distinct")


def _column_order_exists(predicted_rows, gold_rows, order_matters):
    """Whether some order of the predicted columns gives the gold rows (lists under ORDER BY, else multisets): the
    official get_constraint_permutation search, pruned without changing its answer. A predicted column is tried for a
    gold column only if it holds its values, of identical columns only the first unused one, and an order is extended
    only while the rows cut so far agree (by hash). None after MAX_COMPARISON_STEPS rows hashed."""
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
    when the column orders are too many to search."""
    order_matters = "order by" in gold_sql.lower()
    if not gold_rows and not predicted_rows:
        return True
    if len(gold_rows) != len(predicted_rows) or len(predicted_rows[0]) != len(gold_rows[0]):
        return False

    def unordered(rows):  # the official quick rejection: each row's values sorted
        return (list if order_matters else set)(tuple(sorted(row, key=lambda v: str(v) + str(type(v)))) for row in rows)

    return unordered(predicted_rows) == unordered(gold_rows) and _column_order_exists(
        predicted_rows, gold_rows, order_matters
    )


def _failed(kind, message):
    reason = f"{kind}: {message}"
    return dict(score=0.0, strict_score=0.0, reason=reason, strict_reason=reason, error_kind=kind)


def _wrong_result(predicted_rows, gold_rows):
    if predicted_rows and gold_rows and len(predicted_rows[0]) != len(gold_rows[0]):
        return f"wrong_result: {len(predicted_rows[0])} columns, expected {len(gold_rows[0])}"
    differ = ", values differ" if len(predicted_rows) == len(gold_rows) else ""
    return f"wrong_result: {len(predicted_rows)} rows, expected {len(gold_rows)}{differ}"


@functools.lru_cache(maxsize=8192)
def gold_result(db_path, gold, limits):
    """The gold query's result, once per (database, query, limits) for every model and both rules: do not mutate it.
    One that fails stops the run, as it stops the official evaluators: scored 0, it would count a right answer wrong."""
    result = execute_sql(db_path, gold, limits)
    if not result["ok"]:
        raise PipelineError(
            f"the gold query {gold[:80]!r} fails on the database {db_path} ({result['error_kind']}: "
            f"{result['message'][:200]}); take the gold queries and the databases (SPIDER_DIR, TEST_SUITE_DIR) from "
            "one Spider release (a timeout: raise SQL_TIMEOUT_SECONDS)"
        )
    return result


@functools.lru_cache(maxsize=4096)
def _score(db_path, prediction, gold, limits):
    gold_run = gold_result(db_path, gold, limits)
    predicted = execute_sql(db_path, prediction, limits)
    if not predicted["ok"]:
        return _failed(predicted["error_kind"], predicted["message"])
    predicted_rows, gold_rows = list(set(predicted["rows"])), list(set(gold_run["rows"]))
    correct = study_match(predicted_rows, gold_rows)
    reason = "correct" if correct else _wrong_result(predicted_rows, gold_rows)

    # The strict rule executes the normalised queries; usually they are the unchanged ones (cache hit or reuse).
    strict_gold, strict_prediction = normalize_for_strict(gold), normalize_for_strict(prediction)
    gold_run = gold_result(db_path, strict_gold, limits)
    if strict_prediction != prediction:
        predicted = execute_sql(db_path, strict_prediction, limits)
    match = predicted["ok"] and strict_match(predicted["rows"], gold_run["rows"], strict_gold)
    if not predicted["ok"]:
        strict_reason = f"{predicted['error_kind']}: {predicted['message']}"
    elif match is None:
        strict_reason = f"too_large: over {MAX_COMPARISON_STEPS:,} rows hashed comparing column orders"
    elif match:
        strict_reason = "correct"
    else:
        ordered = " (gold has ORDER BY: order matters)" if "order by" in strict_gold.lower() else ""
        strict_reason = _wrong_result(predicted["rows"], gold_run["rows"]) + ordered
    return dict(
        score=float(correct),
        strict_score=float(bool(match)),
        reason=reason,
        strict_reason=strict_reason,
        error_kind=None if correct else "wrong_result",
    )


def score_prediction(db_path, prediction, gold, limits):
    """Both rules for one prediction: score, reason and error_kind (None or one of ERROR_KINDS) by the study's rule,
    strict_score and strict_reason. A gold over the caps or a missing database raises: a setup problem."""
    if not Path(db_path).is_file():
        raise FileNotFoundError(f"database {db_path} does not exist")
    if not isinstance(gold, str) or too_long(gold, limits):
        start = repr(gold[:60]) if isinstance(gold, str) else f"a {type(gold).__name__}"
        raise PipelineError(
            f"the gold query of {db_path} is not text of at most {limits.max_prediction_chars:,} characters and "
            f"{MAX_LINES:,} lines ({start}); fix the Spider data or raise MAX_PREDICTION_CHARS"
        )
    if too_long(prediction, limits):
        return _failed("too_long", f"prediction over {limits.max_prediction_chars:,} characters or {MAX_LINES:,} lines")
    return dict(_score(str(db_path), prediction, gold, limits))


def test_suite_score(database_paths, prediction, gold, limits):
    """The official test-suite accuracy: 1 only if the prediction matches under the strict rule on every database."""
    return int(all(score_prediction(path, prediction, gold, limits)["strict_score"] == 1 for path in database_paths))


class ExecutionAccuracy(BaseMetric):
    """Execution accuracy as a DeepEval metric (the database in the test case's metadata), by either rule."""

    async_mode, include_reason, threshold = False, True, 1.0

    def __init__(self, limits, strict=False):
        self.limits, self.strict = limits, strict  # DeepEval's copy_metrics rebuilds a metric from these
        self.score_key, self.reason_key = ("strict_score", "strict_reason") if strict else ("score", "reason")
        self.name = "Strict Execution Accuracy" if strict else "Execution Accuracy"

    def measure(self, test_case, *args, **kwargs):
        db_path = test_case.metadata["db_path"]
        result = score_prediction(db_path, test_case.actual_output, test_case.expected_output, self.limits)
        self.score, self.reason, self.error = result[self.score_key], result[self.reason_key], None
        return self.score

    @property
    def __name__(self):
        return self.name


def evaluate_predictions(items, limits, work_dir):
    """score_prediction's dict for each item ({"question", "prediction", "gold", "db_path"}), in order, checked equal
    to both metrics' scores through deepeval.evaluate (run in work_dir: it writes .deepeval/ into the current one)."""
    if not items:
        return []
    # Over the caps either way: a bounded copy keeps DeepEval and the caches off unbounded text.
    predictions = [item["prediction"][: limits.max_prediction_chars + 1] for item in items]
    # Scored first: a setup problem fails fast rather than mid-run inside DeepEval, whose metrics then hit the cache.
    results = [score_prediction(item["db_path"], p, item["gold"], limits) for item, p in zip(items, predictions)]
    test_cases = [
        LLMTestCase(
            input=item["question"],
            actual_output=prediction,
            expected_output=item["gold"],
            metadata={"db_path": str(item["db_path"]), "index": index},
        )
        for index, (item, prediction) in enumerate(zip(items, predictions))
    ]
    metrics = [ExecutionAccuracy(limits), ExecutionAccuracy(limits, strict=True)]
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    with contextlib.chdir(work_dir), contextlib.redirect_stdout(io.StringIO()):  # it always prints a summary
        # Sync: each case runs in DeepEval's timeout thread; async would block its event loop on sqlite anyway.
        outcome = evaluate(
            test_cases,
            metrics=metrics,
            async_config=AsyncConfig(run_async=False),
            display_config=DisplayConfig(show_indicator=False, print_results=False, inspect_after_run=False),
            cache_config=CacheConfig(write_cache=False),
        )
    # The records come from the scorer itself; DeepEval, the metric the study asked for, must agree on every score.
    for test_result in outcome.test_results:
        reported = {data.name: data.error or data.score for data in test_result.metrics_data or []}
        index = test_result.metadata["index"]
        for metric in metrics:
            got, expected = reported.get(metric.name), results[index][metric.score_key]
            if got != expected:
                raise RuntimeError(
                    f"deepeval's {metric.name} disagrees with the scorer on item {index}: {got} vs {expected}"
                )
    return results


@dataclass(frozen=True)
class Scoring:
    """Where the databases are and how a query may run: what every Spider score depends on besides its texts."""

    spider_dir: Path
    test_suite_dir: Path | None
    limits: SqlLimits
    deepeval_dir: Path

    def database(self, db_id):
        return spider.database_path(self.spider_dir, db_id)

    def suite(self, db_id):
        """Every database of db_id's test suite (<test_suite_dir>/database/<db_id>/*.sqlite), () without a suite."""
        if self.test_suite_dir is None:
            return ()
        folder = spider.database_path(self.test_suite_dir, db_id).parent
        databases = tuple(sorted(str(path) for path in folder.glob("*.sqlite")))
        if not databases:
            raise PipelineError(
                f"TEST_SUITE_DIR={self.test_suite_dir} has no databases for {db_id!r} in {folder}; point it at the "
                f"official test-suite folder that belongs to SPIDER_DIR, or set TEST_SUITE_DIR to nothing"
            )
        return databases

    def check_databases(self, entries, where="the evaluated questions"):
        """Fail before any work if a database is missing or a db_id is not a plain name."""
        for number, entry in enumerate(entries):
            if not spider.database_path(self.spider_dir, entry["db_id"], f"{where} entry {number}").is_file():
                raise PipelineError(
                    f"database {entry['db_id']!r} is missing from {self.spider_dir}/database; set SPIDER_DIR to the "
                    f"Spider release the data was prepared from, or run {files.SCRIPTS[0]}"
                )
            self.suite(entry["db_id"])

    def key(self, text, entry):
        """The digest of every input of an entry's scores: text (a prompt or a prediction), gold, databases, limits."""
        suite = [file_hash(path) for path in self.suite(entry["db_id"])]
        database = file_hash(self.database(entry["db_id"]))
        return files.digest(text, entry["query"], entry["db_id"], database, suite, self.limits.__dict__)


file_hash = functools.cache(files.sha256_file)


def score_outputs(scoring, entries, raw_outputs):
    """Records of the entries' raw outputs (a model's, or external predictions, which score not_text unless text)."""
    predictions = [extract_sql(raw, scoring.limits) if isinstance(raw, str) else "" for raw in raw_outputs]
    items = [
        {"question": entry["question"], "prediction": prediction, "gold": entry["query"]}
        | {"db_path": str(scoring.database(entry["db_id"]))}
        for entry, prediction in zip(entries, predictions)
    ]
    outcomes = evaluate_predictions(items, scoring.limits, scoring.deepeval_dir)
    records = []
    for entry, raw, prediction, outcome in zip(entries, raw_outputs, predictions, outcomes):
        if not isinstance(raw, str):
            outcome = _failed("not_text", "the prediction is not a string")
        suite = scoring.suite(entry["db_id"])
        suite_score = test_suite_score(suite, prediction, entry["query"], scoring.limits) if suite else None
        records.append(
            {
                "db_id": entry["db_id"],
                "question": entry["question"],
                "gold": entry["query"],
                "hardness": hardness.hardness(entry["query"]),
                "raw_output": raw,
                "prediction": prediction,
                **outcome,
                "score": int(outcome["score"]),  # the scores as 0 or 1 in the records
                "strict_score": int(outcome["strict_score"]),
                "test_suite_score": suite_score,
            }
        )
    return records


def evaluate_model(complete, path, entries, prompts, lengths, made_with, batch_size, max_new_tokens, scoring):
    """One model (complete(texts, max_new_tokens) -> completions) on entries whose databases the caller checked,
    resumable; records in entry order."""
    keys = [scoring.key(prompt, entry) for prompt, entry in zip(prompts, entries)]

    def evaluate_batch(indices):
        raw_outputs = complete([prompts[i] for i in indices], max_new_tokens)
        return score_outputs(scoring, [entries[i] for i in indices], raw_outputs)

    return files.evaluate(path, made_with, keys, lengths, batch_size, evaluate_batch, f"spider {path.stem}")


def evaluate_predictions_file(predictions_file, path, batch_size, scoring):
    """A predictions file scored in file order, as a model whose outputs are the predictions."""
    rows = spider.read_predictions(predictions_file, scoring.limits.max_prediction_chars)
    scoring.check_databases(rows)
    predictions, made_with = [row["prediction"] for row in rows], {"predictions_file": str(predictions_file.resolve())}
    return evaluate_model(
        lambda texts, _: texts, path, rows, predictions, [0] * len(rows), made_with, batch_size, None, scoring
    )


def summarize(path, records):
    """Accuracy, interval and outcome counts of one model, printed and written beside its per-example file."""
    summary = {
        "model": path.stem,
        **stats.summarize_scores([r["score"] for r in records], ddof=stats.SPIDER_STD_DDOF),
        "strict": stats.summarize_scores([r["strict_score"] for r in records], ddof=stats.SPIDER_STD_DDOF),
        "errors": dict(Counter(r["error_kind"] or "correct" for r in records)),
    }
    files.write_json(path.with_suffix(".summary.json"), summary)
    print(
        f"{path.stem}: execution accuracy {summary['accuracy']:.3f} (95% CI {summary['ci_low']:.3f}-"
        f"{summary['ci_high']:.3f}, n={summary['n']}), strict {summary['strict']['accuracy']:.3f}; "
        f"outcomes {summary['errors']}"
    )
    return summary
