"""The shared inference engine and the evaluation steps 2-4, in process, with the tiny model and demo data."""

import json
import sqlite3

import pytest
import torch

import common
import mmlu
import modeling
import runner
import spider
import sql_eval
from conftest import load_script, use_directories

evaluate_custom = load_script("3_avaliacao_customizada.py")


@pytest.fixture(scope="module")
def tokenizer():
    return modeling.load_tokenizer()


def test_batch_plan_groups_by_length_and_skips_only_whole_batches_done(tokenizer):
    texts = ["a " * n for n in (5, 50, 10, 40, 20, 30, 1)]
    lengths = modeling.token_lengths(tokenizer, texts)
    assert runner.batch_plan(lengths, batch_size=3) == [[1, 3, 5], [4, 2, 0], [6]]
    # A resumed run recomputes the batches it still needs exactly as planned, whole, and skips finished ones.
    assert runner.batch_plan(lengths, batch_size=3, done={1, 3, 5, 4}) == [[4, 2, 0], [6]]


def test_out_of_memory_halves_the_batch_and_loses_nothing(capsys):
    calls = []

    def run_batch(chunk):
        calls.append(len(chunk))
        if len(chunk) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [i * 10 for i in chunk]

    results = list(runner.run_batches([[0, 1, 2, 3, 4, 5, 6, 7], [8, 9]], 8, run_batch))
    assert [value for _, outputs in results for value in outputs] == [i * 10 for i in range(10)]
    assert calls[:3] == [8, 4, 2] and "batch size halved to 2" in capsys.readouterr().out


@pytest.mark.parametrize(
    "text, choice",
    [
        ("B", 1),
        ("C. Kant", 2),
        ("The answer is D", 3),
        ("Answer: (B)", 1),
        ("", None),
        ("answer unclear", None),
        ("A or B", None),
        ("A student received scores of 76", None),
        ("A. 12\nB. 13\nC. 14\nD. 15", None),
        ("the answer is a number", None),
    ],
)
def test_generated_answer_parses_an_answer_not_the_first_capital(text, choice):
    assert mmlu.generated_choice(text) == choice


def write_predictions(path, entries, prediction_of):
    path.write_text(
        "".join(
            json.dumps(
                {"db_id": e["db_id"], "question": e["question"], "query": e["query"], "prediction": prediction_of(e)}
            )
            + "\n"
            for e in entries
        )
    )


def test_gold_sql_scores_one_on_every_demo_dev_question(prepared_demo, tmp_path, monkeypatch):
    use_directories(monkeypatch, prepared_demo, tmp_path / "outputs")
    entries = json.loads(common.PATHS.spider_dev.read_text())
    write_predictions(tmp_path / "gold.jsonl", entries, lambda e: e["query"])
    evaluate_custom.main(["--predictions", str(tmp_path / "gold.jsonl")])
    summary = json.loads((common.PATHS.spider_results / "external_gold.summary.json").read_text())
    assert summary["n"] == len(entries) and summary["accuracy"] == 1.0 and summary["strict"]["accuracy"] == 1.0
    records = [json.loads(line) for line in (common.PATHS.spider_results / "external_gold.jsonl").open()]
    assert sorted(r["index"] for r in records) == list(range(len(entries)))


def test_wrong_predictions_score_zero_with_a_reason(prepared_demo, tmp_path, monkeypatch):
    use_directories(monkeypatch, prepared_demo, tmp_path / "outputs")
    entries = json.loads(common.PATHS.spider_dev.read_text())[:10]
    write_predictions(tmp_path / "wrong.jsonl", entries, lambda e: "SELECT 'certainly not the answer'")
    evaluate_custom.main(["--predictions", str(tmp_path / "wrong.jsonl")])
    records = [json.loads(line) for line in (common.PATHS.spider_results / "external_wrong.jsonl").open()]
    assert all(r["score"] == 0 and r["strict_score"] == 0 and r["reason"].startswith("wrong_result") for r in records)


def test_a_prediction_that_is_not_text_scores_zero_saying_so(prepared_demo, tmp_path, monkeypatch):
    use_directories(monkeypatch, prepared_demo, tmp_path / "outputs")
    entries = json.loads(common.PATHS.spider_dev.read_text())[:4]
    odd = {0: 7, 1: None, 2: ["SELECT 1"]}
    write_predictions(tmp_path / "odd.jsonl", entries, lambda e: odd.get(entries.index(e), e["query"]))
    evaluate_custom.main(["--predictions", str(tmp_path / "odd.jsonl")])
    records = [json.loads(line) for line in (common.PATHS.spider_results / "external_odd.jsonl").open()]
    by_index = {r["index"]: r for r in records}
    for index, value in odd.items():
        assert by_index[index]["score"] == 0 and by_index[index]["error_kind"] == "not_text"
        assert by_index[index]["reason"] == "not_text: the prediction is not a string"
        assert by_index[index]["raw_output"] == value  # the original value is kept
    assert by_index[3]["score"] == 1


def test_malformed_predictions_file_is_named(tmp_path, isolated_run):
    (tmp_path / "bad.jsonl").write_text(
        '{"db_id": "x", "question": "q", "query": "SELECT 1", "prediction": "x"}\n{"db_id": "x"}\n'
    )
    with pytest.raises(common.PipelineError, match=r"bad.jsonl line 2: 'question' is a required property; correct"):
        evaluate_custom.main(["--predictions", str(tmp_path / "bad.jsonl")])


def test_unknown_database_in_predictions_is_named(tmp_path, isolated_run):
    (tmp_path / "p.jsonl").write_text(
        '{"db_id": "atlantis", "question": "q", "query": "SELECT 1", "prediction": "SELECT 1"}\n'
    )
    with pytest.raises(common.PipelineError, match=r"database 'atlantis' is missing from"):
        evaluate_custom.main(["--predictions", str(tmp_path / "p.jsonl")])


def sql_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)  # int, or a float as the shortest text that reads back as the same double


def hard_coded(rows):
    """A query that returns these rows, in this order, from no table: the answer memorised, not computed."""
    return " UNION ALL ".join("SELECT " + ", ".join(sql_literal(value) for value in row) for row in rows)


def test_test_suite_scores_a_hard_coded_answer_zero_and_the_gold_one(prepared_demo, tmp_path, monkeypatch):
    # The demo suite: each database and a copy with its columns' values shuffled (data/demo/test_suite).
    use_directories(monkeypatch, prepared_demo, tmp_path / "outputs")
    assert common.TEST_SUITE_DIR == "data/demo/test_suite"
    entries = json.loads(common.PATHS.spider_dev.read_text())

    def answer(path, entry):
        """The gold's rows as the official rule compares them: DISTINCT removed, as a multiset (sorted)."""
        rows = sqlite3.connect(path).execute(sql_eval.normalize_for_strict(entry["query"])).fetchall()
        return rows, sorted(rows, key=repr)

    def released(entry):
        return answer(spider.database_path(spider.spider_dir(), entry["db_id"]), entry)[0]

    # The questions whose answer differs between the two databases of their suite (a count, for example, does not).
    differing = [
        entry
        for entry in entries
        if len({repr(answer(path, entry)[1]) for path in spider.test_suite_databases(entry["db_id"])}) > 1
    ]
    assert len(differing) >= 10 and {entry["db_id"] for entry in differing} == {entry["db_id"] for entry in entries}
    write_predictions(tmp_path / "memorised.jsonl", differing, lambda e: hard_coded(released(e)))
    write_predictions(tmp_path / "gold.jsonl", entries, lambda e: e["query"])
    evaluate_custom.main(["--predictions", str(tmp_path / "memorised.jsonl")])
    evaluate_custom.main(["--predictions", str(tmp_path / "gold.jsonl")])
    memorised = [json.loads(line) for line in (common.PATHS.spider_results / "external_memorised.jsonl").open()]
    gold = [json.loads(line) for line in (common.PATHS.spider_results / "external_gold.jsonl").open()]
    # Right on the released database by either rule, wrong on the suite: the test-suite score catches it.
    assert len(memorised) == len(differing)
    assert all(r["score"] == 1 and r["strict_score"] == 1 and r["test_suite_score"] == 0 for r in memorised)
    assert all(r["test_suite_score"] == 1 for r in gold) and len(gold) == len(entries)
    # --predictions records carry the gold query's hardness level, as the models' records do.
    levels = {"easy", "medium", "hard", "extra"}
    assert all(r["hardness"] in levels for r in memorised + gold)
    assert {r["hardness"] for r in gold} == levels
    assert all(r["hardness"] == spider.gold_hardness(r["gold"]) for r in gold)
