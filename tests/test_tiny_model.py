"""The demo's tiny model: its pretraining corpus leaks no evaluated text, its pretraining is deterministic, and the
built model writes SQL-looking text."""

import csv
import json

import pytest

import common
from tools import tiny_model
from tradeoff import mmlu, model, spider

DEMO = tiny_model.DEMO_DIR


@pytest.fixture(scope="module")
def documents():
    return tiny_model.pretraining_documents(DEMO)


def test_pretraining_corpus_has_no_dev_question_query_or_mmlu_test_question(documents):
    corpus = "\n".join(documents)
    lines = {line.removeprefix("Question: ").removeprefix("SQL: ") for line in corpus.splitlines()}
    dev = json.loads((DEMO / "spider" / "dev.json").read_text(encoding="utf-8"))
    assert dev
    # Whole lines: a dev query may well be the start of a longer query of the corpus.
    assert not [entry["question"] for entry in dev if entry["question"] in lines]
    assert not [entry["query"] for entry in dev if entry["query"] in lines]
    mmlu_test = []
    for path in sorted((DEMO / "mmlu" / "test").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            mmlu_test += [row[0].strip() for row in csv.reader(handle)]
    assert mmlu_test
    assert not [question for question in mmlu_test if question in corpus]
    # The dev databases are there, unlike Spider's (README); never the chat prompt (what fine-tuning teaches).
    assert all(f"Database: {entry['db_id']}\n" in corpus for entry in dev)
    assert spider.SYSTEM_PROMPT not in corpus and "Generate the SQL query" not in corpus
    assert "<|im_start|>" not in corpus


def test_pretraining_corpus_is_fixed_and_made_of_training_questions(documents):
    assert tiny_model.pretraining_documents(DEMO) == documents
    train = tiny_model.train_entries(DEMO)
    corpus = "\n".join(documents)
    assert all(entry["query"] in corpus for entry in train)


def test_pretraining_is_deterministic(tmp_path):
    """The pretraining function on a few steps, on 2 threads: same seed, byte-identical weights; the seed matters."""
    import torch

    documents = tiny_model.pretraining_documents(DEMO)[:40]
    tokenizer = tiny_model.build_tokenizer(tiny_model.training_corpus(DEMO), tiny_model.TINY_MODEL["vocab_size"])

    def weights(seed):
        model, before = tiny_model.build_model(tokenizer), torch.get_num_threads()
        settings = dict(tiny_model.PRETRAIN_SETTINGS, steps=4, batch_size=2, seq_length=64)
        torch.set_num_threads(2)  # several, as make demo builds
        try:
            losses = tiny_model.pretrain(model, tokenizer, documents, settings, seed=seed, log_every=0)
        finally:
            torch.set_num_threads(before)
        return losses, {name: tensor.clone() for name, tensor in model.state_dict().items()}

    first_losses, first = weights(common.SEED)
    second_losses, second = weights(common.SEED)
    assert first_losses == second_losses and first_losses[-1] < first_losses[0]
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)
    _, other = weights(common.SEED + 1)
    assert not all(torch.equal(first[name], other[name]) for name in first)


def test_fingerprint_follows_the_pretraining_settings(monkeypatch):
    before = tiny_model.fingerprint(DEMO)
    monkeypatch.setitem(tiny_model.PRETRAIN_SETTINGS, "steps", tiny_model.PRETRAIN_SETTINGS["steps"] + 1)
    assert tiny_model.fingerprint(DEMO) != before


def test_every_projection_width_is_a_multiple_of_32():
    sizes = tiny_model.TINY_MODEL
    head_dim = sizes["hidden_size"] // sizes["num_attention_heads"]
    for width in (
        sizes["hidden_size"],
        sizes["intermediate_size"],
        sizes["num_attention_heads"] * head_dim,
        sizes["num_key_value_heads"] * head_dim,
    ):
        assert width % 32 == 0


@pytest.fixture(scope="module")
def built_model():
    """The cached build (made here on first use), loaded in float32 as saved."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = model.model_source(common.model_config())
    tokenizer = AutoTokenizer.from_pretrained(source)
    return tokenizer, AutoModelForCausalLM.from_pretrained(source).eval()


def test_built_model_writes_sql_looking_text(built_model):
    import torch

    tokenizer, llm = built_model
    assert llm.config.tie_word_embeddings
    train = tiny_model.train_entries(DEMO)
    prompt = f"Question: {train[0]['question']}\nSQL:"
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        output = llm.generate(**inputs, max_new_tokens=24, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    new_tokens = output[0, inputs["input_ids"].shape[1] :].tolist()
    text = tokenizer.decode(new_tokens, skip_special_tokens=True)
    assert "SELECT" in text and "FROM" in text
    assert len(set(new_tokens)) > 3  # not one token (or two) repeated


def test_built_model_answers_through_the_chat_template(built_model):
    """The chat-template prompt runs and the answer letters are single tokens (MMLU's letter scoring)."""
    import torch

    tokenizer, llm = built_model
    letter_ids = model.letter_token_ids(tokenizer, mmlu.answer_texts("chat"))
    text = spider.render(tokenizer, [{"role": "user", "content": "Question?\nA. a\nB. b\nC. c\nD. d\nAnswer:"}])
    inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        logits = llm(**inputs).logits[0, -1]
    assert torch.isfinite(logits[letter_ids]).all()
