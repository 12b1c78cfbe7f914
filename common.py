"""Every constant of the study in one place, plus the few helpers all five scripts share.

Edit the values below, or override any of them for one run with an environment variable of the same name:
    EVALUATION_ENTRIES_SIZE=1034 python 3_avaliacao_customizada.py
Tuples take comma-separated values (EVAL_EPOCHS=1,3,5), dicts take JSON, booleans take 1/0/true/false.

PROFILE picks a coherent set of defaults:
    paper  the study's setup: Qwen2-7B-Instruct in 4-bit, the real Spider and MMLU (needs the Hugging Face hub
           or local copies, and a CUDA GPU such as a Colab T4).
    demo   (default) the same code paths offline on a CPU in minutes: project-made data in the real file formats
           under data/demo/ and a tiny Qwen2-architecture model built locally. Its numbers prove the pipeline,
           not the science.
"""
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------------------------
# The paper profile: the study's values (figure numbers refer to the study in shared/seed/).
SEED = 42
MODEL_NAME = "Qwen/Qwen2-7B-Instruct"
# Model loading (Figure 4): 4-bit NF4 without double quantisation.
LOAD_IN_4BIT = True
BNB_4BIT_QUANT_TYPE = "nf4"
BNB_4BIT_USE_DOUBLE_QUANT = False
# float16 is the study's choice (a T4 has no bfloat16), but Qwen2 in float16 can overflow into NaN.
# "auto": bfloat16 where the GPU supports it, float16 otherwise; "float32" is the stable fallback.
COMPUTE_DTYPE = "auto"
# LoRA (Figure 5).
LORA_R = 4
LORA_ALPHA = 8
LORA_DROPOUT = 0.05
LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
LORA_BIAS = "none"
# Training (Figure 6). Effective batch 8 = 2 x 4.
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
MMLU_SUBJECTS = {"elementary_mathematics": "STEM", "philosophy": "Humanidades", "management": "Ciências Sociais"}
MMLU_QUESTIONS_PER_SUBJECT = 50
MMLU_GENERATION_SCORE = True  # second column: parse the first letter of a short greedy answer
MMLU_GENERATION_TOKENS = 8  # enough for "B" or "The answer is B"
# Data sources. SPIDER_DIR holds the official release (dev.json, train_spider.json, tables.json, database/).
# MMLU_DIR, when set, holds the original CSVs (dev/, test/); empty means the Hugging Face dataset MMLU_DATASET.
SPIDER_DIR = "data/spider"
MMLU_DIR = ""
MMLU_DATASET = "cais/mmlu"
# Outputs: prepared data under data/, everything produced later under outputs/, one folder per profile so that
# a demo run can never be mistaken for (or resumed into) a paper run.
PREPARED_DIR = "data/prepared/{PROFILE}"
OUTPUT_DIR = "outputs/{PROFILE}"
CACHE_DIR = "outputs/cache"
HF_OFFLINE = False

# ---------------------------------------------------------------------------------------------------------------
# The demo profile: only sources and sizes differ; the code paths are the paper's.
PROFILES = {
    "paper": {},
    "demo": {
        "MODEL_NAME": "outputs/cache/tiny-qwen2",  # built by tiny_model.py on first use
        "SPIDER_DIR": "data/demo/spider",
        "MMLU_DIR": "data/demo/mmlu",
        "HF_OFFLINE": True,
        "LEARNING_RATE": 2e-3,  # a 164k-parameter model needs larger steps to change visibly in 5 epochs
        "LOGGING_STEPS": 5,
        "EVALUATION_ENTRIES_SIZE": 106,  # the whole demo dev set
        "MMLU_QUESTIONS_PER_SUBJECT": 20,
        "MAX_NEW_TOKENS": 48,
        "MAX_SEQ_LENGTH": 1024,
        "SQL_TIMEOUT_SECONDS": 2.0,
    },
}
# The tiny demo model: architecture of Qwen2, sizes small enough for a sub-second training step on a laptop CPU.
# Every projection width is a multiple of 32, as bitsandbytes' 4-bit CPU inference kernel requires, and heads are 32
# wide, the narrowest vLLM's CPU attention takes. Grouped-query attention, as in Qwen2-7B.
TINY_MODEL = {"vocab_size": 1024, "hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 2,
              "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 4096}

PROFILE = os.environ.get("PROFILE", "demo")


class PipelineError(Exception):
    """A problem the user can fix: printed as one line, exit code 2, nothing written."""


def _fail_at_import(message):
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def parse_override(name, text, current):
    """Parse an environment override to the type of the constant it replaces."""
    try:
        if isinstance(current, bool):
            lowered = text.strip().lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError
            return lowered in ("1", "true", "yes")
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if isinstance(current, tuple):
            item_type = type(current[0]) if current else str
            return tuple(item_type(part.strip()) for part in text.split(",") if part.strip())
        if isinstance(current, dict):
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ValueError
            return value
        return text
    except ValueError:
        kind = {bool: "a boolean (1/0/true/false)", int: "an integer", float: "a number",
                tuple: "a comma-separated list", dict: "a JSON object"}.get(type(current), "a value")
        raise PipelineError(f"environment variable {name}={text!r} is not {kind}; "
                            f"fix or unset it (the default is {current!r})") from None


def _resolve_configuration(namespace):
    if PROFILE not in PROFILES:
        _fail_at_import(f"unknown PROFILE={PROFILE!r}; use one of: {', '.join(PROFILES)}")
    namespace.update(PROFILES[PROFILE])
    for name in [key for key in namespace if key.isupper() and key not in ("PROFILE", "PROFILES", "PROJECT_DIR")]:
        if name in os.environ:
            try:
                namespace[name] = parse_override(name, os.environ[name], namespace[name])
            except PipelineError as error:
                _fail_at_import(str(error))
    for name in ("PREPARED_DIR", "OUTPUT_DIR"):
        namespace[name] = namespace[name].format(PROFILE=PROFILE)
    if namespace["TRAIN_SPLIT"] not in ("train", "dev"):
        _fail_at_import(f"TRAIN_SPLIT={namespace['TRAIN_SPLIT']!r} must be 'train' or 'dev'")
    if namespace["COMPUTE_DTYPE"] not in ("auto", "float16", "bfloat16", "float32"):
        _fail_at_import(f"COMPUTE_DTYPE={namespace['COMPUTE_DTYPE']!r} must be auto, float16, bfloat16 or float32")
    if namespace["INFERENCE_ENGINE"] not in ("hf", "vllm"):
        _fail_at_import(f"INFERENCE_ENGINE={namespace['INFERENCE_ENGINE']!r} must be 'hf' or 'vllm'")


_resolve_configuration(globals())


def project_path(path):
    """Relative paths in this file are relative to the project, so the scripts run from any directory."""
    path = Path(path)
    return path if path.is_absolute() else PROJECT_DIR / path


def set_directories(prepared_dir, output_dir):
    """Every handed-off file, one name each, under the prepared-data and output folders."""
    global PREPARED_DIR, OUTPUT_DIR, PREPARED, SPIDER_TRAIN_FILE, SPIDER_DEV_FILE, MMLU_TEST_FILE, MMLU_DEV_FILE
    global PREPARED_MANIFEST, OUTPUTS, LORA_DIR, LORA_INDEX_FILE, TRAINING_MANIFEST, SPIDER_RESULTS_DIR
    global MMLU_RESULTS_DIR, REPORT_FILE, RESULTS_JSON, RESULTS_CSV, TRADEOFF_PLOT
    PREPARED_DIR, OUTPUT_DIR = str(prepared_dir), str(output_dir)
    PREPARED = project_path(prepared_dir)
    SPIDER_TRAIN_FILE = PREPARED / "spider_train.json"
    SPIDER_DEV_FILE = PREPARED / "spider_dev.json"
    MMLU_TEST_FILE = PREPARED / "mmlu_test.json"
    MMLU_DEV_FILE = PREPARED / "mmlu_dev.json"
    PREPARED_MANIFEST = PREPARED / "manifest.json"
    OUTPUTS = project_path(output_dir)
    LORA_DIR = OUTPUTS / "lora"
    LORA_INDEX_FILE = LORA_DIR / "epochs.json"
    TRAINING_MANIFEST = LORA_DIR / "run_manifest.json"
    SPIDER_RESULTS_DIR = OUTPUTS / "spider"
    MMLU_RESULTS_DIR = OUTPUTS / "mmlu"
    REPORT_FILE = OUTPUTS / "report.md"
    RESULTS_JSON = OUTPUTS / "results.json"
    RESULTS_CSV = OUTPUTS / "results.csv"
    TRADEOFF_PLOT = OUTPUTS / "tradeoff.png"


set_directories(PREPARED_DIR, OUTPUT_DIR)


def configure_environment():
    """Offline hygiene in one place: no telemetry, caches under outputs/, the hub offline in the demo."""
    cache = project_path(CACHE_DIR)
    os.environ["DEEPEVAL_TELEMETRY_OPT_OUT"] = "YES"
    os.environ.setdefault("HF_HOME", str(cache / "huggingface"))
    os.environ.setdefault("MPLCONFIGDIR", str(cache / "matplotlib"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if HF_OFFLINE:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"


configure_environment()


def seed_everything(seed=SEED):
    """Seed python, numpy and torch, and ask torch for deterministic kernels where they exist."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def resolved_config():
    """Every constant as this run sees it, for manifests."""
    return {key: (list(value) if isinstance(value, tuple) else value) for key, value in globals().items()
            if key.isupper() and isinstance(value, (str, int, float, bool, tuple, dict)) and key != "PROFILES"}


# ---------------------------------------------------------------------------------------------------------------
# Files: atomic writes, readable errors.

def write_json(path, data):
    """Write JSON atomically: a temporary file in the same folder, then a rename. A crash leaves the old file."""
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_text(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_json(path, produced_by=None):
    """Read a JSON file or fail with one line naming the file and what to run."""
    path = Path(path)
    if not path.exists():
        hint = f"; run {produced_by} first" if produced_by else ""
        raise PipelineError(f"{path} is missing{hint}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        hint = f"; delete it and run {produced_by} again" if produced_by else ""
        raise PipelineError(f"{path} is not valid JSON ({error}){hint}") from None


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_jsonl_records(path):
    """Records of a per-example checkpoint file. A torn last line (a kill mid-write) is dropped, not fatal."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise PipelineError(f"{path} line {number} is corrupt; delete the file to recompute it") from None
    return records


def prompt_digest(prompt):
    """A short hash of one example's prompt, stored with its outcome: a changed prompt is recomputed, not reused."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def resume_records(path, made_with, prompts):
    """The reusable records of a per-example file: made with the same model and settings (made_with) and, each, the
    same prompt. A file made with others (say, adapters retrained with --fresh) is kept aside, never reused."""
    path = Path(path)
    settings_file = path.with_name(path.stem + ".made_with.json")
    if path.exists():
        try:
            previous = json.loads(settings_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):  # absent or torn: unknown provenance is treated as different
            previous = None
        if previous != made_with:
            changed = sorted(key for key in made_with if (previous or {}).get(key) != made_with[key])
            why = f"was made with other {', '.join(changed)}" if previous else "has no record of what made it"
            kept = path.with_name(f"{path.stem}.stale-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
            path.rename(kept)
            print(f"{path.name} {why}: kept as {kept.name}, recomputing")
    write_json(settings_file, made_with)
    return [record for record in read_jsonl_records(path)
            if record["index"] < len(prompts) and record.get("prompt") == prompt_digest(prompts[record["index"]])]


def open_checkpoint(path, records):
    """Open a per-example checkpoint for appending, rewriting it first from its valid records (drops a torn line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
    return open(path, "a", encoding="utf-8")


def append_record(handle, record):
    """Append one example's outcome and flush it to disk, so a kill loses at most the example in flight."""
    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def mmlu_preparation_settings():
    """The settings that shape the prepared MMLU files; 0_preparando_dados.py records them in its manifest."""
    return {"SEED": SEED, "MMLU_SUBJECTS": MMLU_SUBJECTS, "MMLU_SHOTS": MMLU_SHOTS,
            "MMLU_QUESTIONS_PER_SUBJECT": MMLU_QUESTIONS_PER_SUBJECT, "mmlu_source": MMLU_DIR or MMLU_DATASET}


def check_prepared_mmlu():
    """The prepared MMLU questions must have been drawn with the settings of this run."""
    recorded = read_json(PREPARED_MANIFEST, produced_by="0_preparando_dados.py").get("settings", {})
    for name, value in mmlu_preparation_settings().items():
        if recorded.get(name) != value:
            raise PipelineError(f"the prepared MMLU data in {PREPARED} was made with {name}={recorded.get(name)!r} "
                                f"(now {value!r}); run 0_preparando_dados.py again")


def run_main(main):
    """Run a script's main(): a PipelineError becomes one line on stderr and exit code 2."""
    try:
        main()
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


# ---------------------------------------------------------------------------------------------------------------
# Prompts: one place, as chat messages; the tokenizer's chat template turns them into the model's format, so with
# Qwen2 they render exactly as the study's Figure 2.

SPIDER_SYSTEM_PROMPT = "You are an expert text-to-SQL assistant."


def schema_text(db_id, tables):
    """The schema as in the study's Figure 1: 'Database: X', then 'Table t (c1, c2, ...)' per (table, columns)."""
    lines = [f"Database: {db_id}"] + [f"Table {table} ({', '.join(columns)})" for table, columns in tables]
    return "\n".join(lines) + "\n"


def spider_user_message(entry):
    return (f"Given the following database schema:\n{entry['db_schema']}\n"
            f"Generate the SQL query for the following question:\n{entry['question']}")


def spider_messages(entry, shots=()):
    """Figure 2's conversation; few-shot examples (baseline only) come first as earlier user/assistant turns."""
    messages = [{"role": "system", "content": SPIDER_SYSTEM_PROMPT}]
    for shot in shots:
        messages += [{"role": "user", "content": spider_user_message(shot)},
                     {"role": "assistant", "content": shot["query"]}]
    messages.append({"role": "user", "content": spider_user_message(entry)})
    return messages


def spider_training_example(entry):
    """Prompt/completion pair for training: the loss falls on the completion (the SQL and its end of turn) only."""
    return {"prompt": spider_messages(entry), "completion": [{"role": "assistant", "content": entry["query"]}]}


MMLU_LETTERS = ("A", "B", "C", "D")


def mmlu_question_block(item, with_answer):
    lines = [item["question"].strip()]
    lines += [f"{letter}. {choice}" for letter, choice in zip(MMLU_LETTERS, item["choices"])]
    lines.append(f"Answer: {MMLU_LETTERS[item['answer']]}" if with_answer else "Answer:")
    return "\n".join(lines)


def mmlu_header(subject):
    return f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"


def mmlu_messages(item, dev_examples):
    """The original MMLU / lm-evaluation-harness 4-shot prompt, sent as one user turn through the chat template."""
    header = mmlu_header(item["subject"])
    shots = [mmlu_question_block(shot, with_answer=True) for shot in dev_examples[:MMLU_SHOTS]]
    body = "\n\n".join(shots + [mmlu_question_block(item, with_answer=False)])
    return [{"role": "user", "content": header + body}]


def render_prompt(tokenizer, messages):
    """Messages to the text the model sees, with the assistant turn opened."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
