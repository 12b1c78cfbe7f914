"""Lengths of the real prompts, as quantiles and a histogram, for tools/bench_gpu.py (tools/prompt_lengths.json):
the reference slices (../shared/reference-data: Spider dev, 179 questions of three databases; MMLU management dev and
test) rendered with the project's prompts and the Qwen2 chat template. Writes length statistics only, never the data.
Run:  python -m tools.measure_prompt_lengths [REFERENCE_DIR]
"""

import json
import math
import random
import sys
from pathlib import Path

import common
from tools import ensure_built, tiny_model
from tradeoff import files, mmlu, spider

REFERENCE_DIR = common.PROJECT_DIR.parent / "shared" / "reference-data"
OUTPUT = Path(__file__).with_name("prompt_lengths.json")
# Qwen2's byte-level BPE (151k merges) averages about 3.5 to 4 characters per token on English and SQL; 3.5 errs
# towards longer sequences, the safe side for a speed and memory bench.
CHARS_PER_QWEN2_TOKEN = 3.5
QUANTILES = (0, 10, 25, 50, 75, 90, 95, 100)
HISTOGRAM_BIN = 128
HOW_COUNTED = (
    "The project's prompts rendered through the Qwen2 chat template of the demo's tiny tokenizer (a copy of Qwen2's "
    "template), from the real Spider dev slice (179 questions, 3 databases; the full dev set has 20, many with larger "
    "schemas) and MMLU management (dev 5, test 103) in ../shared/reference-data; mmlu_4shot is the plain format, "
    "mmlu_4shot_chat the chat one; spider_3shot's shots and spider_training's examples are dev questions standing in "
    "for the train split. No Qwen2 tokenizer offline: 'qwen2_tokens_estimated' = ceil(characters / 3.5), what "
    "tools/bench_gpu.py uses; 'tiny_bpe_tokens' (the tiny model's 1k-vocabulary BPE, about 2.3 characters a token) "
    "over-counts Qwen2 and is for comparison only."
)


def rendered_prompts(tokenizer, reference_dir):
    """{kind: [rendered text]} for each prompt the pipeline sends to the model."""
    sample = reference_dir / "spider-sample"
    dev = spider.release_entries(sample / "dev.json", spider.schema_texts(sample), sample)
    shots = random.Random(common.SEED).sample(dev, common.BASELINE_SHOTS)
    mmlu_dir = reference_dir / "mmlu-sample"
    mmlu_dev, mmlu_test = (mmlu.csv_rows(mmlu_dir / s / f"management_{s}.csv", "management") for s in ("dev", "test"))

    def mmlu_prompts(prompt_format):
        return [mmlu.prompt(tokenizer, item, mmlu_dev, common.MMLU_SHOTS, prompt_format) for item in mmlu_test]

    def training_text(entry):  # what training.sequence_length counts: prompt and answer
        example = spider.training_example(entry)
        return tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=False)

    return {
        "spider_0shot": [spider.render(tokenizer, spider.messages(entry)) for entry in dev],
        "spider_3shot": [spider.render(tokenizer, spider.messages(entry, shots)) for entry in dev],
        "spider_training": [training_text(entry) for entry in dev],
        "spider_answer": [entry["query"] + "<|im_end|>" for entry in dev],
        "mmlu_4shot": mmlu_prompts("plain"),
        "mmlu_4shot_chat": mmlu_prompts("chat"),
    }


def quantiles(values):
    ordered = sorted(values)
    return {f"p{q}": ordered[round(q / 100 * (len(ordered) - 1))] for q in QUANTILES}


def statistics(texts, tokenizer):
    estimated = [math.ceil(len(text) / CHARS_PER_QWEN2_TOKEN) for text in texts]
    starts = sorted({length // HISTOGRAM_BIN * HISTOGRAM_BIN for length in estimated})
    return {
        "count": len(texts),
        "characters": quantiles([len(text) for text in texts]),
        "qwen2_tokens_estimated": dict(quantiles(estimated), mean=round(sum(estimated) / len(estimated), 1)),
        "qwen2_tokens_estimated_histogram": {
            f"{start}-{start + HISTOGRAM_BIN - 1}": sum(start <= n < start + HISTOGRAM_BIN for n in estimated)
            for start in starts
        },
        "tiny_bpe_tokens": quantiles([len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]),
    }


def main(argv=None):
    from transformers import AutoTokenizer

    reference_dir = Path((argv or sys.argv[1:] or [REFERENCE_DIR])[0])
    tokenizer = AutoTokenizer.from_pretrained(ensure_built(tiny_model, tiny_model.TARGET))  # Qwen2's chat template
    kinds = {kind: statistics(texts, tokenizer) for kind, texts in rendered_prompts(tokenizer, reference_dir).items()}
    table = {"how_counted": HOW_COUNTED, "chars_per_qwen2_token": CHARS_PER_QWEN2_TOKEN, "prompts": kinds}
    files.write_text(OUTPUT, json.dumps(table, indent=1) + "\n")
    for kind, stats in kinds.items():
        print(f"{kind:<16} n={stats['count']:<4} estimated Qwen2 tokens {stats['qwen2_tokens_estimated']}")


if __name__ == "__main__":
    main()
