"""Spider scoring of predictions made elsewhere (3_avaliacao_customizada.py --predictions, no model needed): both
execution rules, the test suite, one-line errors, and records reused only while every input of their scores holds."""

import json
import re
import sqlite3
from types import SimpleNamespace

import pytest

import common
from conftest import load_script, use_directories
from tradeoff import PipelineError, files, hardness, spider, sql_scoring
from tradeoff.sql_sandbox import SqlLimits

evaluate_custom = load_script("3_avaliacao_customizada.py")


def write_predictions(path, entries, prediction_of):
    path.write_text(
        "".join(
            json.dumps({"db_id": e["db_id"], "question": e["question"], "query": e["query"], "prediction": p}) + "\n"
            for e, p in zip(entries, map(prediction_of, range(len(entries))))
        )
    )


def score_file(path):
    """Script 3 on a predictions file; its records."""
    evaluate_custom.main(["--predictions", str(path)])
    return files.read_records(common.PATHS.results("spider", f"external_{path.stem}"))


def sql_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)  # int, or a float as the shortest text that reads back as the same double


def hard_coded(rows):
    """A query that returns these rows, in this order, from no table: the answer memorised, not computed."""
    return " UNION ALL ".join("SELECT " + ", ".join(sql_literal(value) for value in row) for row in rows)


def test_gold_scores_one_everywhere_and_the_test_suite_catches_a_memorised_answer(prepared_demo, tmp_path, monkeypatch):
    # The demo suite: each database and a copy with its columns' values shuffled (data/demo/test_suite).
    paths = use_directories(monkeypatch, prepared_demo, tmp_path / "outputs")
    assert common.TEST_SUITE_DIR == "data/demo/test_suite"
    scoring = common.spider_scoring()
    entries = json.loads(paths.spider_dev.read_text())

    def answer(path, entry):
        """The gold's rows as the official rule compares them: DISTINCT removed, as a multiset (sorted)."""
        rows = sqlite3.connect(path).execute(sql_scoring.normalize_for_strict(entry["query"])).fetchall()
        return rows, sorted(rows, key=repr)

    # The questions whose answer differs between the databases of their suite (a count, for example, does not).
    differing = [
        entry for entry in entries if len({repr(answer(path, entry)[1]) for path in scoring.suite(entry["db_id"])}) > 1
    ]
    assert len(differing) >= 10 and {entry["db_id"] for entry in differing} == {entry["db_id"] for entry in entries}
    write_predictions(
        tmp_path / "memorised.jsonl",
        differing,
        lambda i: hard_coded(answer(scoring.database(differing[i]["db_id"]), differing[i])[0]),
    )
    write_predictions(tmp_path / "gold.jsonl", entries, lambda i: entries[i]["query"])
    memorised = score_file(tmp_path / "memorised.jsonl")
    gold = score_file(tmp_path / "gold.jsonl")
    summary = json.loads((paths.spider_results / "external_gold.summary.json").read_text())
    assert summary["n"] == len(entries) and summary["accuracy"] == 1.0 and summary["strict"]["accuracy"] == 1.0
    assert [r["index"] for r in gold] == list(range(len(entries)))
    assert all(r["score"] == r["strict_score"] == r["test_suite_score"] == 1 for r in gold)
    # Right on the released database by either rule, wrong on the suite: the test-suite score catches it.
    assert len(memorised) == len(differing)
    assert all(r["score"] == 1 and r["strict_score"] == 1 and r["test_suite_score"] == 0 for r in memorised)
    # --predictions records carry the gold query's hardness level, as the models' records do.
    assert len({r["hardness"] for r in gold}) >= 3
    assert all(r["hardness"] == hardness.hardness(r["gold"]) for r in gold + memorised)


def test_wrong_or_non_text_predictions_score_zero_saying_why(prepared_demo, tmp_path, monkeypatch):
    use_directories(monkeypatch, prepared_demo, tmp_path / "outputs")
    entries = json.loads(common.PATHS.spider_dev.read_text())[:10]
    odd = {0: 7, 1: None, 2: ["SELECT 1"]}
    right = 3

    def prediction(i):
        return odd[i] if i in odd else entries[i]["query"] if i == right else "SELECT 'certainly not the answer'"

    write_predictions(tmp_path / "mixed.jsonl", entries, prediction)
    by_index = {r["index"]: r for r in score_file(tmp_path / "mixed.jsonl")}
    assert sorted(by_index) == list(range(10)) and by_index[right]["score"] == 1
    for index, value in odd.items():
        assert by_index[index]["score"] == 0 and by_index[index]["error_kind"] == "not_text"
        assert by_index[index]["reason"] == "not_text: the prediction is not a string"
        assert by_index[index]["raw_output"] == value  # the original value is kept
    wrong = [r for i, r in by_index.items() if i not in odd and i != right]
    assert all(r["score"] == 0 and r["strict_score"] == 0 and r["reason"].startswith("wrong_result") for r in wrong)


@pytest.mark.parametrize(
    "second_line, message",
    [
        ('{"db_id": "x"}', r"bad.jsonl line 2: 'question' is a required property; correct it"),
        ('{"db_id": "x", ', r"bad.jsonl line 2 is not valid JSON \(.*\); correct it"),
        (
            '{"db_id": "../x", "question": "q", "query": "SELECT 1", "prediction": "SELECT 1"}',
            r"bad.jsonl line 2: db_id '../x' must be a plain database name",
        ),
        (
            '{"db_id": "atlantis", "question": "q", "query": "SELECT 1", "prediction": "SELECT 1"}',
            r"database 'atlantis' is missing from .*/database; set SPIDER_DIR",
        ),
    ],
)
def test_a_bad_predictions_file_is_named(tmp_path, isolated_run, second_line, message):
    first = {"db_id": "music_festival", "question": "q", "query": "SELECT 1", "prediction": "x"}
    (tmp_path / "bad.jsonl").write_text(json.dumps(first) + "\n" + second_line + "\n")
    with pytest.raises(PipelineError, match=message):
        evaluate_custom.main(["--predictions", str(tmp_path / "bad.jsonl")])
    assert not common.PATHS.spider_results.exists()


# ---------------------------------------------------------------------------------------------------------------
# Records are reused only while every input of their scores holds (issue 19)

CONCERT = "CREATE TABLE singer (id, name, age); INSERT INTO singer VALUES (1, 'Ana', 30), (2, 'Bo', 41), (3, 'Cy', 25);"
PETS = "CREATE TABLE pet (id, kind); INSERT INTO pet VALUES (1, 'dog'), (2, 'cat');"
ROWS = [
    {"db_id": "concert", "question": "How many singers?", "query": "SELECT count(*) FROM singer"},
    {"db_id": "concert", "question": "Oldest?", "query": "SELECT name FROM singer ORDER BY age DESC LIMIT 1"},
    {"db_id": "pets", "question": "How many pets?", "query": "SELECT count(*) FROM pet"},
]
PREDICTIONS = ["SELECT count(*) FROM singer", "SELECT name FROM singer WHERE age > 26", "SELECT 2"]


def make_database(folder, db_id, sql, name=None):
    """A database in Spider's layout: <folder>/database/<db_id>/<name or db_id>.sqlite."""
    path = folder / "database" / db_id / f"{name or db_id}.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.executescript(sql)
    connection.close()
    return path


@pytest.fixture
def release(tmp_path):
    """A two-database Spider folder, a test suite of two databases each, a predictions file, and a Scoring maker."""
    spider_dir, suite_dir = tmp_path / "spider", tmp_path / "suite"
    for db_id, sql in (("concert", CONCERT), ("pets", PETS)):
        make_database(spider_dir, db_id, sql)
        make_database(suite_dir, db_id, sql)
        make_database(suite_dir, db_id, sql.replace("30", "50").replace("'dog'", "'cat'"), name=f"{db_id}_2")
    predictions = tmp_path / "p.jsonl"
    write_predictions(predictions, ROWS, PREDICTIONS.__getitem__)

    def scoring(suite=False, timeout=2.0):
        limits = SqlLimits(timeout, 1000, 10_000_000, 20_000)
        return sql_scoring.Scoring(spider_dir, suite_dir if suite else None, limits, tmp_path / "deepeval")

    return SimpleNamespace(spider_dir=spider_dir, suite_dir=suite_dir, predictions=predictions, scoring=scoring)


def change_gold(release):
    rows = [dict(row) for row in ROWS]
    rows[1]["query"] = "SELECT name FROM singer WHERE age > 26"
    write_predictions(release.predictions, rows, PREDICTIONS.__getitem__)
    return release.scoring()


def change_database(release):
    with sqlite3.connect(release.spider_dir / "database" / "concert" / "concert.sqlite") as connection:
        connection.execute("INSERT INTO singer VALUES (4, 'Di', 60)")
    connection.close()
    return release.scoring()


def change_suite(release):
    with sqlite3.connect(release.suite_dir / "database" / "concert" / "concert_2.sqlite") as connection:
        connection.execute("INSERT INTO singer VALUES (4, 'Di', 60)")
    connection.close()
    return release.scoring(suite=True)


@pytest.mark.parametrize(
    "with_suite, change, recomputed",
    [
        (False, lambda release: release.scoring(), 0),
        (False, change_gold, 1),
        (False, change_database, 2),  # the two questions on that database
        (False, lambda release: release.scoring(suite=True), 3),  # a test suite given
        (True, change_suite, 2),  # one database of concert's suite changed
        (True, lambda release: release.scoring(suite=False), 3),  # the test suite unset
        (False, lambda release: release.scoring(timeout=3.0), 3),  # other SQL limits
    ],
    ids=["nothing", "gold", "database", "suite-given", "suite-changed", "suite-unset", "limits"],
)
def test_a_record_is_recomputed_when_an_input_of_its_scores_changes(
    release, tmp_path, monkeypatch, capsys, with_suite, change, recomputed
):
    path = tmp_path / "outputs" / "external_p.jsonl"
    scored = []
    score_outputs = sql_scoring.score_outputs

    def counting(scoring, entries, raw_outputs):
        scored.extend(entries)
        return score_outputs(scoring, entries, raw_outputs)

    monkeypatch.setattr(sql_scoring, "score_outputs", counting)

    def run(scoring):
        """One run of the script, as a new process would make it (no cached file hashes)."""
        sql_scoring.file_hash.cache_clear()
        scored.clear()
        records = sql_scoring.evaluate_predictions_file(release.predictions, path, 1, scoring)  # batches of one
        said = re.findall(r"external_p.jsonl has (\d+) records of other inputs", capsys.readouterr().out)
        return records, len(scored), said

    first, computed, said = run(release.scoring(suite=with_suite))
    assert computed == 3 and said == [] and [r["score"] for r in first] == [1, 0, 1]
    assert all((r["test_suite_score"] is None) != with_suite for r in first)
    scoring = change(release)
    records, computed, said = run(scoring)
    assert computed == recomputed and said == ([str(recomputed)] if recomputed else [])
    assert [r["gold"] for r in records] == [row["query"] for row in spider.read_predictions(release.predictions, 99)]
    assert all((r["test_suite_score"] is None) == (scoring.test_suite_dir is None) for r in records)
    assert run(scoring)[1:] == (0, [])  # the keys of the records now are those of the inputs now


def test_a_long_prompt_is_keyed_whole(release):
    """A many-shot prompt can pass the prediction cap; its end, the evaluated question, is still in its key."""
    scoring, entry = release.scoring(), dict(ROWS[0])
    shots = "x" * scoring.limits.max_prediction_chars
    assert scoring.key(shots + "\nQuestion: one", entry) != scoring.key(shots + "\nQuestion: two", entry)
