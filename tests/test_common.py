"""common.py and prompts.py: overrides and their errors, the valid ranges, the prompts."""

import json
import subprocess
import sys

import pytest

import common
import prompts
from conftest import PROJECT_DIR


def import_common(env):
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import common; print(common.EVALUATION_ENTRIES_SIZE, "
            "common.EVAL_EPOCHS, common.LEARNING_RATE, common.GROUP_BY_LENGTH, common.MODEL_NAME)",
        ],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "text, current, expected",
    [
        ("1034", 150, 1034),
        ("3e-4", 2e-4, 3e-4),
        ("false", True, False),
        ("1", False, True),
        ("1,3,5", (3, 5), (1, 3, 5)),
        ('{"philosophy": "Humanidades"}', {"a": "b"}, {"philosophy": "Humanidades"}),
        ("float32", "auto", "float32"),
    ],
)
def test_override_parses_to_the_constant_type(text, current, expected):
    assert common.parse_override("NAME", text, current) == expected


@pytest.mark.parametrize(
    "text, current", [("abc", 150), ("maybe", True), ("x", 0.5), ("[1]", {"a": 1}), ("1,x", (3, 5))]
)
def test_override_that_does_not_parse_is_a_clear_error(text, current):
    with pytest.raises(common.PipelineError, match="NAME="):
        common.parse_override("NAME", text, current)


def test_environment_overrides_reach_the_scripts():
    result = import_common(
        {
            "EVALUATION_ENTRIES_SIZE": "1034",
            "EVAL_EPOCHS": "1,5",
            "LEARNING_RATE": "1e-4",
            "GROUP_BY_LENGTH": "0",
            "PROFILE": "paper",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1034", "(1,", "5)", "0.0001", "False", "Qwen/Qwen2-7B-Instruct"]


def test_profiles_pick_coherent_defaults():
    paper = import_common({"PROFILE": "paper"}).stdout.split()
    demo = import_common({"PROFILE": "demo"}).stdout.split()
    assert paper[0] == "150" and paper[-1] == "Qwen/Qwen2-7B-Instruct"
    assert demo[-1] == "outputs/cache/tiny-qwen2"


def test_mmlu_subjects_all_from_the_environment_is_57_subjects_in_4_categories():
    code = (
        "import collections, json, common; "
        "print(json.dumps(collections.Counter(common.MMLU_SUBJECTS.values()), sort_keys=True))"
    )
    for profile in ("paper", "demo"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=PROJECT_DIR,
            env={"PATH": "/usr/bin:/bin", "PROFILE": profile, "MMLU_SUBJECTS": "all"},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        # The original MMLU grouping (mmlu_subjects.py): 18 STEM, 13 humanities, 12 social sciences, 14 other.
        counts = json.loads(result.stdout)
        assert counts == {"STEM": 18, "humanities": 13, "other": 14, "social sciences": 12}
        assert sum(counts.values()) == 57


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PROFILE": "papr"}, "unknown PROFILE='papr'; use one of: paper, demo"),
        ({"EVALUATION_ENTRIES_SIZE": "all"}, "EVALUATION_ENTRIES_SIZE='all' is not an integer"),
        (
            {"TRAIN_SPLIT": "test"},
            "TRAIN_SPLIT='test' must be one of dev, train; fix or unset it (the default is 'train')",
        ),
        # Of the right type but out of range: each named with its range and its default.
        (
            {"EVALUATION_ENTRIES_SIZE": "-1"},
            "EVALUATION_ENTRIES_SIZE=-1 is out of range: it must be at least 1; fix or unset it (the default is 106)",
        ),
        ({"EVALUATION_ENTRIES_SIZE": "0"}, "EVALUATION_ENTRIES_SIZE=0 is out of range"),
        ({"EVAL_BATCH_SIZE": "0"}, "EVAL_BATCH_SIZE=0 is out of range: it must be at least 1"),
        ({"EVAL_BATCH_SIZE": "-1"}, "EVAL_BATCH_SIZE=-1 is out of range"),
        (
            {"SQL_TIMEOUT_SECONDS": "-1"},
            "SQL_TIMEOUT_SECONDS=-1.0 is out of range: it must be between 0.01 and 86400.0",
        ),
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
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(env, message):
    result = import_common(env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr


def test_paper_defaults_are_the_study():
    result = subprocess.run(
        [sys.executable, "-c", "import common, json; print(json.dumps(common.resolved_config()))"],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", "PROFILE": "paper"},
        capture_output=True,
        text=True,
    )
    config = json.loads(result.stdout)
    assert (config["SEED"], config["LORA_R"], config["LORA_ALPHA"], config["LORA_DROPOUT"]) == (42, 4, 8, 0.05)
    assert config["LORA_TARGET_MODULES"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert (config["NUM_EPOCHS"], config["PER_DEVICE_TRAIN_BATCH_SIZE"], config["GRADIENT_ACCUMULATION_STEPS"]) == (
        5,
        2,
        4,
    )
    assert (config["LEARNING_RATE"], config["OPTIM"], config["LR_SCHEDULER_TYPE"]) == (2e-4, "adamw_8bit", "cosine")
    assert (config["BNB_4BIT_QUANT_TYPE"], config["BNB_4BIT_USE_DOUBLE_QUANT"]) == ("nf4", False)
    assert (config["EVALUATION_ENTRIES_SIZE"], config["BASELINE_SHOTS"], config["MMLU_SHOTS"]) == (150, 3, 4)
    assert config["MMLU_SUBJECTS"] == {
        "elementary_mathematics": "STEM",
        "philosophy": "Humanidades",
        "management": "Ciências Sociais",
    }
    assert config["EVAL_EPOCHS"] == [3, 5] and config["TRAIN_SPLIT"] == "train"


def test_spider_prompt_renders_as_the_studys_figure_2():
    """Through a Qwen2 chat template, the messages give exactly the string of the study's Figure 2."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    import tiny_model

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.BPE()), chat_template=tiny_model.QWEN2_CHAT_TEMPLATE
    )
    entry = {"db_schema": "Database: x\nTable t (a, b)\n", "question": "How many t?"}
    figure_2 = (
        "<|im_start|>system\nYou are an expert text-to-SQL assistant.<|im_end|>\n<|im_start|>user\n"
        "Given the following database schema:\nDatabase: x\nTable t (a, b)\n\n"
        "Generate the SQL query for the following question:\nHow many t?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert prompts.render_prompt(tokenizer, prompts.spider_messages(entry)) == figure_2


def test_mmlu_prompt_is_the_harness_format():
    """Plain: lm-evaluation-harness's mmlu text; chat: its --apply_chat_template --fewshot_as_multiturn false layout
    (header as the system turn, shots and question as one user turn), with the answers each format scores."""
    dev = [
        {"question": f"Q{i}?", "subject": "management", "choices": ["w", "x", "y", "z"], "answer": i % 4}
        for i in range(5)
    ]
    item = {"question": "Test?", "subject": "management", "choices": ["p", "q", "r", "s"], "answer": 2}
    text = prompts.mmlu_prompt(None, item, dev, "plain")
    assert text.startswith(
        "The following are multiple choice questions (with answers) about management.\n\nQ0?\n"
        "A. w\nB. x\nC. y\nD. z\nAnswer: A\n\nQ1?"
    )
    assert "Q4?" not in text and text.count("Answer:") == 5
    assert text.endswith("Test?\nA. p\nB. q\nC. r\nD. s\nAnswer:")
    assert prompts.mmlu_answer_texts("plain") == (" A", " B", " C", " D")

    class Template:  # records the messages the chat format sends
        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            assert add_generation_prompt and not tokenize
            return messages

    header = "The following are multiple choice questions (with answers) about management.\n\n"
    assert prompts.mmlu_prompt(Template(), item, dev, "chat") == [
        {"role": "system", "content": header},
        {"role": "user", "content": text.removeprefix(header)},
    ]
    assert prompts.mmlu_answer_texts("chat") == ("A", "B", "C", "D")


def test_every_training_constant_defines_the_run():
    """A constant of the model, LoRA or training blocks of common.py that is missing from RUN_DEFINING_SETTINGS
    would be ignored when a run resumes: the list sits beside those constants and this test keeps it whole."""
    source = (PROJECT_DIR / "common.py").read_text()
    block = source[source.index("# Model loading (Figure 4)") : source.index("RUN_DEFINING_SETTINGS = (")]
    names = {line.split("=")[0].strip() for line in block.splitlines() if line[:1].isupper() and "=" in line}
    logging_only = {"LOGGING_STEPS"}  # how often the loss is printed: not what is computed
    assert names - logging_only <= set(common.RUN_DEFINING_SETTINGS) | {"SEED", "MODEL_NAME"}
    assert set(common.RUN_DEFINING_SETTINGS) <= set(common.resolved_config())


def test_every_checked_constant_exists():
    assert set(common.VALID) <= set(common.resolved_config())


def test_the_allowed_optimizers_and_schedulers_are_transformers_names():
    from transformers.trainer_utils import SchedulerType
    from transformers.training_args import OptimizerNames

    assert common.VALID["OPTIM"] <= {name.value for name in OptimizerNames}
    assert common.VALID["LR_SCHEDULER_TYPE"] <= {name.value for name in SchedulerType}
    assert common.OPTIM in common.VALID["OPTIM"] and common.LR_SCHEDULER_TYPE in common.VALID["LR_SCHEDULER_TYPE"]
