"""The shared inference engine with the tiny model: padding, batched greedy generation, the repetition penalty, the
vLLM refusal, non-finite logits, the letter scorer. Moved unchanged from test_evaluation.py; tradeoff/model.py's
API is settled at its merge."""

from types import SimpleNamespace

import pytest

modeling = pytest.importorskip("tradeoff.model")  # before common, which imports it too

import torch  # noqa: E402

import common  # noqa: E402
from tradeoff import PipelineError, files, spider, vllm_engine  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer():
    return modeling.load_tokenizer()


def test_padding_is_left_and_never_the_end_of_turn_token(tokenizer):
    assert tokenizer.padding_side == "left"
    assert tokenizer.pad_token_id != tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_generation_is_batched_greedy_and_stops(tokenizer):
    complete = modeling.load_generator(tokenizer, None, "hf")
    texts = [spider.render(tokenizer, [{"role": "user", "content": f"Question {i}?"}]) for i in range(5)]
    plan = files.batch_plan(modeling.token_lengths(tokenizer, texts), batch_size=2)
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
    with pytest.raises(PipelineError, match=r"vLLM is not installed; install it as README says"):
        modeling.check_engine("vllm")
    monkeypatch.setattr(vllm_engine, "installed_version", lambda: "0.32.0")
    monkeypatch.setattr(common, "LOAD_IN_4BIT", True)
    with pytest.raises(PipelineError, match=r"cannot load the base in 4-bit NF4.*set LOAD_IN_4BIT=0"):
        modeling.check_engine("vllm")
    monkeypatch.setattr(common, "LOAD_IN_4BIT", False)
    modeling.check_engine("vllm")


def test_non_finite_logits_stop_the_run_with_the_setting_to_change(tokenizer):
    model = modeling.load_model()
    model.lm_head.weight.data.fill_(float("nan"))
    texts = [spider.render(tokenizer, [{"role": "user", "content": "Hi"}])]
    with pytest.raises(PipelineError, match=r"non-finite .*set COMPUTE_DTYPE=float32"):
        modeling.generate_batch(model, tokenizer, texts, max_new_tokens=3)
    with pytest.raises(PipelineError, match=r"non-finite next-token logits"):
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
    prompt = spider.render(tokenizer, [{"role": "user", "content": "Question?\nAnswer:"}])
    assert prompt.endswith("<|im_start|>assistant\n")  # a new line: the answer letter comes without a space
    for position, letter_id in enumerate(bare):
        scores = modeling.letter_log_probs_batch(
            ControlledModel(len(tokenizer), letter_id), tokenizer, [prompt, prompt], bare
        )
        assert all(max(range(4), key=row.__getitem__) == position for row in scores)
    # Favouring the spaced form must not count for the bare letter the prompt makes likely.
    scores = modeling.letter_log_probs_batch(ControlledModel(len(tokenizer), spaced[2][0]), tokenizer, [prompt], bare)
    assert len(set(round(value, 6) for value in scores[0])) == 1
