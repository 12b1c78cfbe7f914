"""The shared inference engine and the evaluation steps 2-4, in process, with the tiny model and demo data."""

import json
import sqlite3
from types import SimpleNamespace

import pytest
import torch

import common
import mmlu
import modeling
import prompts
import runner
import spider
import sql_eval
import vllm_engine
from conftest import load_script, use_directories

evaluate_custom = load_script("3_avaliacao_customizada.py")


@pytest.fixture(scope="module")
def tokenizer():
    return modeling.load_tokenizer()


def test_padding_is_left_and_never_the_end_of_turn_token(tokenizer):
    assert tokenizer.padding_side == "left"
    assert tokenizer.pad_token_id != tokenizer.convert_tokens_to_ids("<|im_end|>")


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


def test_generation_is_batched_greedy_and_stops(tokenizer):
    complete = modeling.load_generator(tokenizer, None, "hf")
    texts = [prompts.render_prompt(tokenizer, [{"role": "user", "content": f"Question {i}?"}]) for i in range(5)]
    plan = runner.batch_plan(modeling.token_lengths(tokenizer, texts), batch_size=2)
    assert [len(batch) for batch in plan] == [2, 2, 1]

    def generate_all():
        return {i: text for batch in plan for i, text in zip(batch, complete([texts[i] for i in batch], 6))}

    outputs = generate_all()
    assert sorted(outputs) == list(range(5)) and all(isinstance(text, str) for text in outputs.values())
    assert generate_all() == outputs  # greedy: deterministic


def test_decoding_uses_and_records_the_models_own_repetition_penalty():
    # The demo model carries Qwen2-7B-Instruct's generation default; HF generate would apply it implicitly.
    assert modeling.repetition_penalty() == 1.05
    made_with = modeling.made_with(None, "hf", common.EVAL_BATCH_SIZE)
    assert made_with["repetition_penalty"] == 1.05 and made_with["engine"] == "hf"
    assert made_with["batch_size"] == common.EVAL_BATCH_SIZE


def test_vllm_engine_is_refused_with_the_fix_where_it_cannot_run(monkeypatch):
    modeling.check_engine("hf")
    monkeypatch.setattr(vllm_engine, "installed_version", lambda: None)
    with pytest.raises(common.PipelineError, match=r"vLLM is not installed; install it as README says"):
        modeling.check_engine("vllm")
    monkeypatch.setattr(vllm_engine, "installed_version", lambda: "0.32.0")
    monkeypatch.setattr(common, "LOAD_IN_4BIT", True)
    with pytest.raises(common.PipelineError, match=r"cannot load the base in 4-bit NF4.*set LOAD_IN_4BIT=0"):
        modeling.check_engine("vllm")
    monkeypatch.setattr(common, "LOAD_IN_4BIT", False)
    modeling.check_engine("vllm")


def test_non_finite_logits_stop_the_run_with_the_setting_to_change(tokenizer):
    model = modeling.load_model()
    model.lm_head.weight.data.fill_(float("nan"))
    texts = [prompts.render_prompt(tokenizer, [{"role": "user", "content": "Hi"}])]
    with pytest.raises(common.PipelineError, match=r"non-finite .*set COMPUTE_DTYPE=float32"):
        modeling.generate_batch(model, tokenizer, texts, max_new_tokens=3)
    with pytest.raises(common.PipelineError, match=r"non-finite next-token logits"):
        modeling.letter_log_probs_batch(model, tokenizer, texts, modeling.letter_token_ids(tokenizer, "ABCD"))


class ControlledModel(torch.nn.Module):
    def __init__(self, vocab_size, favourite_token):
        super().__init__()
        self.vocab_size, self.favourite_token = vocab_size, favourite_token
        self.device = torch.device("cpu")

    def forward(self, input_ids, attention_mask=None, position_ids=None):
        logits = torch.zeros(input_ids.shape[0], input_ids.shape[1], self.vocab_size)
        logits[:, -1, self.favourite_token] = 5.0
        return SimpleNamespace(logits=logits)


def test_letter_scorer_reads_the_bare_letter_after_the_assistant_turn(tokenizer):
    bare = modeling.letter_token_ids(tokenizer, "ABCD")
    spaced = [tokenizer.encode(" " + letter, add_special_tokens=False) for letter in "ABCD"]
    assert all(len(ids) == 1 for ids in spaced) and [ids[0] for ids in spaced] != bare
    prompt = prompts.render_prompt(tokenizer, [{"role": "user", "content": "Question?\nAnswer:"}])
    assert prompt.endswith("<|im_start|>assistant\n")  # a new line: the answer letter comes without a space
    for position, letter_id in enumerate(bare):
        scores = modeling.letter_log_probs_batch(
            ControlledModel(len(tokenizer), letter_id), tokenizer, [prompt, prompt], bare
        )
        assert all(max(range(4), key=row.__getitem__) == position for row in scores)
    # Favouring the spaced form must not count for the bare letter the prompt makes likely.
    scores = modeling.letter_log_probs_batch(ControlledModel(len(tokenizer), spaced[2][0]), tokenizer, [prompt], bare)
    assert len(set(round(value, 6) for value in scores[0])) == 1


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
