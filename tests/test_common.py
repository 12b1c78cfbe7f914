"""common.py: overrides and their errors, the valid ranges, the profiles; the prompts the study's figures show."""

import collections
import os
import re
import runpy
import subprocess
import sys

import pytest

import common
from conftest import PROJECT_DIR
from tradeoff import PipelineError, mmlu, spider

CONSTANTS = [name for name in vars(common) if name.isupper()]


def configuration(monkeypatch, **env):
    """common.py run afresh, as a new process imports it, with only these of its variables in the environment."""
    for name in CONSTANTS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(PROJECT_DIR / "common.py"), run_name="common_under_test")


@pytest.mark.parametrize(
    "text, current, expected",
    [
        ("1034", 150, 1034),
        ("3e-4", 2e-4, 3e-4),
        ("false", True, False),
        ("1", False, True),
        ("1,3,5", (3, 5), (1, 3, 5)),
        ("", (3, 5), ()),
        ('{"philosophy": "humanities"}', {"a": "b"}, {"philosophy": "humanities"}),
        ("all", {"a": "b"}, "all"),
        ("float32", "auto", "float32"),
    ],
)
def test_override_parses_to_the_constant_type(text, current, expected):
    assert common.parse_override("NAME", text, current) == expected


@pytest.mark.parametrize(
    "text, current", [("abc", 150), ("maybe", True), ("x", 0.5), ("{1", {"a": 1}), ("1,x", (3, 5))]
)
def test_override_that_does_not_parse_is_a_clear_error(text, current):
    with pytest.raises(
        PipelineError, match=rf"^environment variable NAME={re.escape(repr(text))} is not .*the default is"
    ):
        common.parse_override("NAME", text, current)


def test_environment_overrides_reach_the_scripts_and_a_bad_one_is_one_line_exit_2():
    """In a real process: what a script importing common sees, and how it stops."""
    code = "import common; print(common.EVALUATION_ENTRIES_SIZE, common.EVAL_EPOCHS, common.LEARNING_RATE)"
    env = {"PATH": "/usr/bin:/bin", "PROFILE": "paper", "EVAL_EPOCHS": "1,5", "LEARNING_RATE": "1e-4"}
    env |= {name: value for name, value in os.environ.items() if name == "PYTHONPATH"}  # where the packages may be
    for size, returncode in (("1034", 0), ("all", 2)):
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=PROJECT_DIR,
            env=dict(env, EVALUATION_ENTRIES_SIZE=size),
            capture_output=True,
            text=True,
        )
        assert result.returncode == returncode, result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: environment variable EVALUATION_ENTRIES_SIZE='all' is not an integer")


def test_profiles_pick_coherent_defaults(monkeypatch):
    paper = configuration(monkeypatch, PROFILE="paper")
    demo = configuration(monkeypatch)  # the default profile
    smol = configuration(monkeypatch, PROFILE="smol")
    assert paper["PROFILE"] == "paper" and paper["EVALUATION_ENTRIES_SIZE"] == 150
    assert paper["MODEL_NAME"] == "Qwen/Qwen2-7B-Instruct"
    assert (demo["PROFILE"], demo["MODEL_NAME"]) == ("demo", "outputs/cache/tiny-qwen2")
    assert demo["TEST_SUITE_DIR"] == "data/demo/test_suite"
    assert smol["MODEL_NAME"] == "outputs/cache/smollm2-135m-instruct" and smol["LOAD_IN_4BIT"] is False
    assert demo["PATHS"].outputs == PROJECT_DIR / "outputs" / "demo" and paper["OUTPUT_DIR"] == "outputs/paper"


def test_a_profiles_test_suite_is_dropped_with_its_spider_folder(monkeypatch, tmp_path):
    other = str(tmp_path / "spider")
    assert configuration(monkeypatch, SPIDER_DIR=other)["TEST_SUITE_DIR"] == ""
    suite = str(tmp_path / "suite")
    assert configuration(monkeypatch, SPIDER_DIR=other, TEST_SUITE_DIR=suite)["TEST_SUITE_DIR"] == suite
    assert configuration(monkeypatch, SPIDER_DIR="data/demo/spider")["TEST_SUITE_DIR"] == "data/demo/test_suite"


@pytest.mark.parametrize("profile", ["paper", "demo"])
def test_mmlu_subjects_all_from_the_environment_is_57_subjects_in_4_categories(monkeypatch, profile):
    subjects = configuration(monkeypatch, PROFILE=profile, MMLU_SUBJECTS="all")["MMLU_SUBJECTS"]
    # The original MMLU grouping: 18 STEM, 13 humanities, 12 social sciences, 14 other.
    assert collections.Counter(subjects.values()) == {"STEM": 18, "humanities": 13, "social sciences": 12, "other": 14}


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PROFILE": "papr"}, "unknown PROFILE='papr'; use one of: paper, demo, smol"),
        ({"EVALUATION_ENTRIES_SIZE": "all"}, "EVALUATION_ENTRIES_SIZE='all' is not an integer"),
        (
            {"TRAIN_SPLIT": "test"},
            "TRAIN_SPLIT='test' must be one of dev, train; fix or unset it (the default is 'train')",
        ),
        # Of the right type but out of range: each named with its range and its default.
        (
            {"EVALUATION_ENTRIES_SIZE": "-1"},
            "EVALUATION_ENTRIES_SIZE=-1 is out of range: it must be at least 1; fix or unset it (the default is 110)",
        ),
        ({"EVALUATION_ENTRIES_SIZE": "0"}, "EVALUATION_ENTRIES_SIZE=0 is out of range"),
        ({"EVAL_BATCH_SIZE": "0"}, "EVAL_BATCH_SIZE=0 is out of range: it must be at least 1"),
        ({"SEED": "-1"}, "SEED=-1 is out of range: it must be between 0 and 4294967295"),
        ({"SEED": str(2**32)}, "SEED=4294967296 is out of range: it must be between 0 and 4294967295"),
        ({"SQL_TIMEOUT_SECONDS": "-1"}, "SQL_TIMEOUT_SECONDS=-1.0 is out of range: it must be between 0.01 and 40.0"),
        ({"SQL_TIMEOUT_SECONDS": "41"}, "SQL_TIMEOUT_SECONDS=41.0 is out of range: it must be between 0.01 and 40.0"),
        ({"SQL_TIMEOUT_SECONDS": "nan"}, "SQL_TIMEOUT_SECONDS=nan is out of range"),
        ({"SQL_MAX_ROWS": "-1"}, "SQL_MAX_ROWS=-1 is out of range"),
        ({"MMLU_QUESTIONS_PER_SUBJECT": "-1"}, "MMLU_QUESTIONS_PER_SUBJECT=-1 is out of range: it must be at least 0"),
        ({"EVAL_EPOCHS": "3,0"}, "EVAL_EPOCHS=(3, 0) is out of range"),
        ({"LEARNING_RATE": "inf"}, "LEARNING_RATE=inf is out of range"),
        ({"INFERENCE_ENGINE": "tgi"}, "INFERENCE_ENGINE='tgi' must be one of hf, vllm"),
        ({"OPTIM": "foo"}, "OPTIM='foo' must be one of adafactor, adamw_8bit"),
        ({"LR_SCHEDULER_TYPE": "cosin"}, "LR_SCHEDULER_TYPE='cosin' must be one of constant"),
        ({"LORA_TARGET_MODULES": ","}, "LORA_TARGET_MODULES is empty: it needs at least one item"),
        ({"MAX_PREDICTION_CHARS": "-1"}, "MAX_PREDICTION_CHARS=-1 is out of range: it must be at least 1"),
        ({"SQL_MAX_RESULT_BYTES": "0"}, "SQL_MAX_RESULT_BYTES=0 is out of range"),
        ({"MMLU_SUBJECTS": '{"philosophy": 3}'}, "MMLU_SUBJECTS={'philosophy': 3} must be 'all' or a JSON object"),
        ({"MMLU_SUBJECTS": "{}"}, "MMLU_SUBJECTS={} must be 'all' or a JSON object"),
        ({"MMLU_SUBJECTS": "[1]"}, "MMLU_SUBJECTS=[1] must be 'all' or a JSON object"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(monkeypatch, capsys, env, message):
    with pytest.raises(SystemExit) as exit_:
        configuration(monkeypatch, **env)
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and error.count("\n") == 1 and error.startswith("error: ") and message in error


def test_paper_defaults_are_the_study(monkeypatch):
    config = configuration(monkeypatch, PROFILE="paper")
    study = {"SEED": 42, "LORA_R": 4, "LORA_ALPHA": 8, "LORA_DROPOUT": 0.05, "TRAIN_SPLIT": "train"}
    study |= {"LORA_TARGET_MODULES": ("q_proj", "k_proj", "v_proj", "o_proj"), "EVAL_EPOCHS": (3, 5)}
    study |= {"NUM_EPOCHS": 5, "PER_DEVICE_TRAIN_BATCH_SIZE": 2, "GRADIENT_ACCUMULATION_STEPS": 4}
    study |= {"LEARNING_RATE": 2e-4, "OPTIM": "adamw_8bit", "LR_SCHEDULER_TYPE": "cosine"}
    study |= {"BNB_4BIT_QUANT_TYPE": "nf4", "BNB_4BIT_USE_DOUBLE_QUANT": False}
    study |= {"EVALUATION_ENTRIES_SIZE": 150, "BASELINE_SHOTS": 3, "MMLU_SHOTS": 4}
    study["MMLU_SUBJECTS"] = dict(elementary_mathematics="STEM", philosophy="humanities", management="social sciences")
    assert {name: config[name] for name in study} == study


def test_spider_prompt_renders_as_the_studys_figure_2():
    """Through a Qwen2 chat template, the messages give exactly the string of the study's Figure 2."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    from tools import tiny_model

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.BPE()), chat_template=tiny_model.QWEN2_CHAT_TEMPLATE
    )
    entry = {"db_schema": "Database: x\nTable t (a, b)\n", "question": "How many t?", "query": "SELECT count(*) FROM t"}
    figure_2 = (
        "<|im_start|>system\nYou are an expert text-to-SQL assistant.<|im_end|>\n<|im_start|>user\n"
        "Given the following database schema:\nDatabase: x\nTable t (a, b)\n\n"
        "Generate the SQL query for the following question:\nHow many t?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert spider.render(tokenizer, spider.messages(entry)) == figure_2
    # Training: the same conversation, the gold query as the completion the loss falls on.
    assert spider.training_example(entry) == {
        "prompt": spider.messages(entry),
        "completion": [{"role": "assistant", "content": "SELECT count(*) FROM t"}],
    }
    # Few-shot (the baseline): each shot as an earlier user turn answered by its query, before the question.
    shot = {"db_schema": "Database: y\nTable u (c)\n", "question": "Which c?", "query": "SELECT c FROM u"}
    turns = spider.messages(entry, [shot])
    assert [turn["role"] for turn in turns] == ["system", "user", "assistant", "user"]
    assert turns[1:3] == spider.training_example(shot)["prompt"][1:] + spider.training_example(shot)["completion"]


def test_mmlu_prompt_is_the_harness_format():
    """Plain: lm-evaluation-harness's mmlu text; chat: its --apply_chat_template --fewshot_as_multiturn false layout
    (header as the system turn, shots and question as one user turn), with the answers each format scores."""
    dev = [
        {"question": f"Q{i}?", "subject": "management", "choices": ["w", "x", "y", "z"], "answer": i % 4}
        for i in range(5)
    ]
    item = {"question": "Test?", "subject": "management", "choices": ["p", "q", "r", "s"], "answer": 2}
    text = mmlu.prompt(None, item, dev, 4, "plain")
    assert text.startswith(
        "The following are multiple choice questions (with answers) about management.\n\nQ0?\n"
        "A. w\nB. x\nC. y\nD. z\nAnswer: A\n\nQ1?"
    )
    assert "Q4?" not in text and text.count("Answer:") == 5
    assert text.endswith("Test?\nA. p\nB. q\nC. r\nD. s\nAnswer:")
    assert mmlu.answer_texts("plain") == (" A", " B", " C", " D")

    class Template:  # records the messages the chat format sends
        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            assert add_generation_prompt and not tokenize
            return messages

    header = "The following are multiple choice questions (with answers) about management.\n\n"
    assert mmlu.prompt(Template(), item, dev, 4, "chat") == [
        {"role": "system", "content": header},
        {"role": "user", "content": text.removeprefix(header)},
    ]
    assert mmlu.answer_texts("chat") == ("A", "B", "C", "D")


def test_seeding_repeats_random_draws():
    import random

    import numpy as np
    import torch

    from tradeoff import model

    model.seed_everything(common.SEED)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    model.seed_everything(common.SEED)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    model.seed_everything(common.SEED + 1)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) != first


def test_every_checked_constant_exists():
    names = set(common.VALID) | set(common.NON_EMPTY) | set(common.RUN_DEFINING_SETTINGS)
    assert names <= set(common.SETTINGS)
    # What an environment variable may set: the settings, never what is made from them or what checks them.
    assert {"PROFILE", "PROFILES", "VALID", "RUN_DEFINING_SETTINGS", "PROJECT_DIR", "PATHS"}.isdisjoint(common.SETTINGS)


def test_the_allowed_optimizers_and_schedulers_are_transformers_names():
    from transformers.trainer_utils import SchedulerType
    from transformers.training_args import OptimizerNames

    assert common.VALID["OPTIM"] <= {name.value for name in OptimizerNames}
    assert common.VALID["LR_SCHEDULER_TYPE"] <= {name.value for name in SchedulerType}
    assert common.OPTIM in common.VALID["OPTIM"] and common.LR_SCHEDULER_TYPE in common.VALID["LR_SCHEDULER_TYPE"]
