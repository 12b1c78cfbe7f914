"""Lengths of the real prompts, as quantiles and a histogram, for bench_gpu.py (configs/prompt_lengths.json).

Renders the reference slices of the real benchmarks (../shared/reference-data: Spider dev, 179 questions of three
databases with tables.json; MMLU management dev/test CSVs) with the project's own prompts (prompts.py) and the Qwen2
chat template, and writes only length statistics: never the data itself.

    python measure_prompt_lengths.py [REFERENCE_DIR]
"""

import importlib.util
import json
import math
import random
import sys
from pathlib import Path

import mmlu
import prompts
import spider

import common

REFERENCE_DIR = common.PROJECT_DIR.parent / "shared" / "reference-data"
OUTPUT = common.PROJECT_DIR / "configs" / "prompt_lengths.json"
# Qwen2's byte-level BPE (151k merges) averages about 3.5 to 4 characters per token on English and SQL; 3.5 errs
# towards longer sequences, the safe side for a speed and memory bench.
CHARS_PER_QWEN2_TOKEN = 3.5
QUANTILES = (0, 10, 25, 50, 75, 90, 95, 100)
HISTOGRAM_BIN = 128
HOW_COUNTED = (
    "Rendered with prompts.py through the Qwen2 chat template of the demo's tiny tokenizer (outputs/cache/tiny-qwen2, "
    "a copy of Qwen2's template), from the real Spider dev slice (179 questions, 3 databases) and MMLU management "
    "(dev 5, test 103) in ../shared/reference-data; mmlu_4shot is the plain format (MMLU_PROMPT_FORMAT's default), "
    "mmlu_4shot_chat the chat one. A real Qwen2 tokenizer is not available offline, so "
    "'qwen2_tokens_estimated' = ceil(characters / 3.5) of the rendered text, what bench_gpu.py uses; 'tiny_bpe_tokens' "
    "counts the tiny model's byte-level BPE (1k vocabulary, about 2.3 characters a token here), which over-counts "
    "Qwen2 and is given for comparison only. spider_3shot's shots and spider_training's examples are dev questions "
    "standing in for the train split (absent from the slice); "
    "the full dev set has 20 databases, many with larger schemas than these 3."
)


def load_script(file_name):
    """A numbered script as a module, without running its main() (as tests/conftest.py does)."""
    path = common.PROJECT_DIR / file_name
    spec = importlib.util.spec_from_file_location("script_" + path.stem.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rendered_prompts(tokenizer, reference_dir):
    """{kind: [rendered text]} for each prompt the pipeline sends to the model."""
    spider_dir = reference_dir / "spider-sample"
    dev = spider.release_entries(spider_dir / "dev.json", spider.schema_texts(spider_dir / "tables.json"), spider_dir)
    shots = random.Random(common.SEED).sample(dev, common.BASELINE_SHOTS)
    mmlu_dir = reference_dir / "mmlu-sample"
    mmlu_dev = mmlu.csv_rows(mmlu_dir / "dev" / "management_dev.csv", "management")
    mmlu_test = mmlu.csv_rows(mmlu_dir / "test" / "management_test.csv", "management")

    def render(messages):
        return prompts.render_prompt(tokenizer, messages)

    def training_text(entry):  # what 1_fine-tuning.py's sequence_length counts: prompt and answer
        example = prompts.spider_training_example(entry)
        return tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=False)

    return {
        "spider_0shot": [render(prompts.spider_messages(entry)) for entry in dev],
        "spider_3shot": [render(prompts.spider_messages(entry, shots)) for entry in dev],
        "spider_training": [training_text(entry) for entry in dev],
        "spider_answer": [entry["query"] + "<|im_end|>" for entry in dev],
        "mmlu_4shot": [prompts.mmlu_prompt(tokenizer, item, mmlu_dev, "plain") for item in mmlu_test],
        "mmlu_4shot_chat": [prompts.mmlu_prompt(tokenizer, item, mmlu_dev, "chat") for item in mmlu_test],
    }


def quantiles(values):
    ordered = sorted(values)
    return {f"p{q}": ordered[round(q / 100 * (len(ordered) - 1))] for q in QUANTILES}


def statistics(texts, tokenizer):
    estimated = [math.ceil(len(text) / CHARS_PER_QWEN2_TOKEN) for text in texts]
    tiny = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    starts = sorted({length // HISTOGRAM_BIN * HISTOGRAM_BIN for length in estimated})
    histogram = {
        f"{start}-{start + HISTOGRAM_BIN - 1}": sum(start <= n < start + HISTOGRAM_BIN for n in estimated)
        for start in starts
    }
    return {
        "count": len(texts),
        "characters": quantiles([len(text) for text in texts]),
        "qwen2_tokens_estimated": dict(quantiles(estimated), mean=round(sum(estimated) / len(estimated), 1)),
        "qwen2_tokens_estimated_histogram": histogram,
        "tiny_bpe_tokens": quantiles(tiny),
    }


def main(argv=None):
    from transformers import AutoTokenizer

    reference_dir = Path((argv or sys.argv[1:] or [REFERENCE_DIR])[0])
    tokenizer = AutoTokenizer.from_pretrained(common.project_path("outputs/cache/tiny-qwen2"))
    kinds = {kind: statistics(texts, tokenizer) for kind, texts in rendered_prompts(tokenizer, reference_dir).items()}
    table = {"how_counted": HOW_COUNTED, "chars_per_qwen2_token": CHARS_PER_QWEN2_TOKEN, "prompts": kinds}
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(table, indent=1) + "\n")
    for kind, stats in kinds.items():
        print(f"{kind:<16} n={stats['count']:<4} estimated Qwen2 tokens {stats['qwen2_tokens_estimated']}")


if __name__ == "__main__":
    main()
