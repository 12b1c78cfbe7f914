"""common.py: overrides and their errors, prompts, atomic files."""
import json
import subprocess
import sys

import pytest

import common
from conftest import PROJECT_DIR


def import_common(env):
    return subprocess.run([sys.executable, "-c", "import common; print(common.EVALUATION_ENTRIES_SIZE, "
                           "common.EVAL_EPOCHS, common.LEARNING_RATE, common.GROUP_BY_LENGTH, common.MODEL_NAME)"],
                          cwd=PROJECT_DIR, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True)


@pytest.mark.parametrize("text, current, expected", [
    ("1034", 150, 1034), ("3e-4", 2e-4, 3e-4), ("false", True, False), ("1", False, True),
    ("1,3,5", (3, 5), (1, 3, 5)), ('{"philosophy": "Humanidades"}', {"a": "b"}, {"philosophy": "Humanidades"}),
    ("float32", "auto", "float32"),
])
def test_override_parses_to_the_constant_type(text, current, expected):
    assert common.parse_override("NAME", text, current) == expected


@pytest.mark.parametrize("text, current", [("abc", 150), ("maybe", True), ("x", 0.5), ("[1]", {"a": 1}),
                                           ("1,x", (3, 5))])
def test_override_that_does_not_parse_is_a_clear_error(text, current):
    with pytest.raises(common.PipelineError, match="NAME="):
        common.parse_override("NAME", text, current)


def test_environment_overrides_reach_the_scripts():
    result = import_common({"EVALUATION_ENTRIES_SIZE": "1034", "EVAL_EPOCHS": "1,5", "LEARNING_RATE": "1e-4",
                            "GROUP_BY_LENGTH": "0", "PROFILE": "paper"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1034", "(1,", "5)", "0.0001", "False", "Qwen/Qwen2-7B-Instruct"]


def test_profiles_pick_coherent_defaults():
    paper = import_common({"PROFILE": "paper"}).stdout.split()
    demo = import_common({"PROFILE": "demo"}).stdout.split()
    assert paper[0] == "150" and paper[-1] == "Qwen/Qwen2-7B-Instruct"
    assert demo[-1] == "outputs/cache/tiny-qwen2"


@pytest.mark.parametrize("env, message", [
    ({"PROFILE": "papr"}, "unknown PROFILE='papr'; use one of: paper, demo"),
    ({"EVALUATION_ENTRIES_SIZE": "all"}, "EVALUATION_ENTRIES_SIZE='all' is not an integer"),
    ({"TRAIN_SPLIT": "test"}, "TRAIN_SPLIT='test' must be 'train' or 'dev'"),
])
def test_bad_configuration_is_one_line_and_exit_2(env, message):
    result = import_common(env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr


def test_paper_defaults_are_the_study():
    result = subprocess.run([sys.executable, "-c", "import common, json; print(json.dumps(common.resolved_config()))"],
                            cwd=PROJECT_DIR, env={"PATH": "/usr/bin:/bin", "PROFILE": "paper"},
                            capture_output=True, text=True)
    config = json.loads(result.stdout)
    assert (config["SEED"], config["LORA_R"], config["LORA_ALPHA"], config["LORA_DROPOUT"]) == (42, 4, 8, 0.05)
    assert config["LORA_TARGET_MODULES"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert (config["NUM_EPOCHS"], config["PER_DEVICE_TRAIN_BATCH_SIZE"], config["GRADIENT_ACCUMULATION_STEPS"]) == (5, 2, 4)
    assert (config["LEARNING_RATE"], config["OPTIM"], config["LR_SCHEDULER_TYPE"]) == (2e-4, "adamw_8bit", "cosine")
    assert (config["BNB_4BIT_QUANT_TYPE"], config["BNB_4BIT_USE_DOUBLE_QUANT"]) == ("nf4", False)
    assert (config["EVALUATION_ENTRIES_SIZE"], config["BASELINE_SHOTS"], config["MMLU_SHOTS"]) == (150, 3, 4)
    assert config["MMLU_SUBJECTS"] == {"elementary_mathematics": "STEM", "philosophy": "Humanidades",
                                       "management": "Ciências Sociais"}
    assert config["EVAL_EPOCHS"] == [3, 5] and config["TRAIN_SPLIT"] == "train"


def test_spider_prompt_renders_as_the_studys_figure_2():
    """Through a Qwen2 chat template, the messages give exactly the string of the study's Figure 2."""
    import tiny_model
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()),
                                        chat_template=tiny_model.QWEN2_CHAT_TEMPLATE)
    entry = {"db_schema": "Database: x\nTable t (a, b)\n", "question": "How many t?"}
    figure_2 = ("<|im_start|>system\nYou are an expert text-to-SQL assistant.<|im_end|>\n<|im_start|>user\n"
                "Given the following database schema:\nDatabase: x\nTable t (a, b)\n\n"
                "Generate the SQL query for the following question:\nHow many t?<|im_end|>\n<|im_start|>assistant\n")
    assert common.render_prompt(tokenizer, common.spider_messages(entry)) == figure_2


def test_mmlu_prompt_is_the_harness_format():
    dev = [{"question": f"Q{i}?", "subject": "management", "choices": ["w", "x", "y", "z"], "answer": i % 4}
           for i in range(5)]
    item = {"question": "Test?", "subject": "management", "choices": ["p", "q", "r", "s"], "answer": 2}
    text = common.mmlu_messages(item, dev)[0]["content"]
    assert text.startswith("The following are multiple choice questions (with answers) about management.\n\nQ0?\n"
                           "A. w\nB. x\nC. y\nD. z\nAnswer: A\n\nQ1?")
    assert "Q4?" not in text and text.count("Answer:") == 5
    assert text.endswith("Test?\nA. p\nB. q\nC. r\nD. s\nAnswer:")


def test_write_json_is_atomic_and_read_json_names_the_problem(tmp_path):
    path = tmp_path / "x.json"
    common.write_json(path, {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1} and [p.name for p in tmp_path.iterdir()] == ["x.json"]
    path.write_text("{broken")
    with pytest.raises(common.PipelineError, match=r"x.json is not valid JSON .*run 0_preparando_dados.py again"):
        common.read_json(path, produced_by="0_preparando_dados.py")
    with pytest.raises(common.PipelineError, match=r"missing; run 1_fine-tuning.py first"):
        common.read_json(tmp_path / "absent.json", produced_by="1_fine-tuning.py")


def test_checkpoint_file_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "model.jsonl"
    path.write_text('{"index": 0}\n{"index": 1}\n{"ind')
    records = common.read_jsonl_records(path)
    assert records == [{"index": 0}, {"index": 1}]
    with common.open_checkpoint(path, records) as handle:
        common.append_record(handle, {"index": 2})
    assert common.read_jsonl_records(path) == [{"index": 0}, {"index": 1}, {"index": 2}]
    path.write_text('{"index": 0}\n{bad\n{"index": 2}\n')
    with pytest.raises(common.PipelineError, match="line 2 is corrupt"):
        common.read_jsonl_records(path)


def test_seeding_repeats_random_draws():
    import random

    import numpy as np
    import torch

    common.seed_everything()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    common.seed_everything()
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_resume_reuses_only_records_made_the_same_way(tmp_path, capsys):
    path = tmp_path / "lora_epoch3.jsonl"
    prompts = ["p0", "p1", "p2"]
    made_with = {"adapter_sha256": "aaa", "batch_size": 2}
    assert common.resume_records(path, made_with, prompts) == []
    with common.open_checkpoint(path, []) as handle:
        for index in (0, 1):
            common.append_record(handle, {"index": index, "prompt": common.prompt_digest(prompts[index])})
    # Same settings, more questions asked for (EVALUATION_ENTRIES_SIZE raised): the finished ones are reused.
    assert [r["index"] for r in common.resume_records(path, made_with, prompts + ["p3"])] == [0, 1]
    # A changed prompt (other data, shots or template) is recomputed.
    assert [r["index"] for r in common.resume_records(path, made_with, ["p0", "changed", "p2"])] == [0]
    # Another adapter (training redone with --fresh): the file is kept aside and nothing is reused.
    assert common.resume_records(path, dict(made_with, adapter_sha256="bbb"), prompts) == []
    stale = list(tmp_path.glob("lora_epoch3.stale-*.jsonl"))
    assert len(stale) == 1 and len(stale[0].read_text().splitlines()) == 2 and not path.exists()
    assert "made with other adapter_sha256: kept as lora_epoch3.stale-" in capsys.readouterr().out
    assert json.loads((tmp_path / "lora_epoch3.made_with.json").read_text())["adapter_sha256"] == "bbb"


def test_resume_treats_a_torn_record_of_what_made_a_file_as_unknown(tmp_path, capsys):
    path = tmp_path / "base.jsonl"
    path.write_text('{"index": 0, "prompt": "x"}\n')
    (tmp_path / "base.made_with.json").write_text('{"model": ')
    assert common.resume_records(path, {"model": "m"}, ["p0"]) == []
    assert "has no record of what made it" in capsys.readouterr().out
    assert len(list(tmp_path.glob("base.stale-*.jsonl"))) == 1
