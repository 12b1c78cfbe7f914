"""Where SQL generation time goes with SmolLM2-135M-Instruct on this CPU (issue 14). Figures are one run each on a
shared 2-core machine: noisy. Settings come from the environment like every script (LOAD_IN_4BIT, COMPUTE_DTYPE,
MAX_NEW_TOKENS, EVAL_BATCH_SIZE); BENCH_SHOTS (3 or 0) picks the prompt, BENCH_THREADS torch's threads.
    PROFILE=demo MODEL_NAME=outputs/cache/smollm2-135m-instruct PREPARED_DIR=/tmp/smolprep python bench_smol.py

Measured 2026-11-25, 16 demo dev questions 3-shot (10394 prompt tokens, 1.4% padding), one run each, machine shared:
    4-bit, 2 threads:     decode step 1.61 s
    4-bit, 1 thread:      decode step 1.37 s
    float32, 2 threads:   decode step 4.44 s, 32 new tokens in 165.5 s (2.7 tokens/s)
    float32, 1 thread:    decode step 0.38 s, 32 new tokens in 57.0 s (7.8 tokens/s); 256 in 228.4 s (0.070 q/s)
With other processes on both cores, torch's 2 threads wait on each other at every small matmul: OMP_NUM_THREADS=1.
"""

import importlib
import json
import os
import time

import torch

import common
import modeling


def prompts(tokenizer, shots_wanted):
    baseline = importlib.import_module("2_calculando_baseline")
    entries = baseline.evaluated_entries()[: common.EVAL_BATCH_SIZE]
    shots = baseline.baseline_shots(baseline.evaluated_entries()) if shots_wanted else ()
    return [common.render_prompt(tokenizer, common.spider_messages(entry, shots)) for entry in entries]


@torch.inference_mode()
def step_times(model, tokenizer, texts):
    """The bound: one prefill of the batch, then one cached decoding step at batch size len(texts)."""
    inputs = modeling._left_padded(tokenizer, texts, model)
    start = time.perf_counter()
    output = model(**inputs, use_cache=True)
    prefill = time.perf_counter() - start
    next_ids = output.logits[:, -1:].argmax(-1)
    mask = torch.cat([inputs["attention_mask"], torch.ones_like(next_ids)], dim=1)
    times = []
    cache = output.past_key_values
    for _ in range(3):
        start = time.perf_counter()
        step = model(input_ids=next_ids, attention_mask=mask, past_key_values=cache, use_cache=True)
        times.append(time.perf_counter() - start)
        next_ids = step.logits[:, -1:].argmax(-1)
        mask = torch.cat([mask, torch.ones_like(next_ids)], dim=1)
        cache = step.past_key_values
    return prefill, min(times), inputs


def main():
    if os.environ.get("BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
    tokenizer = modeling.load_tokenizer()
    model = modeling.load_model()
    texts = prompts(tokenizer, int(os.environ.get("BENCH_SHOTS", "3")))
    prefill, step, inputs = step_times(model, tokenizer, texts)
    real = int(inputs["attention_mask"].sum())
    padded = inputs["attention_mask"].numel()
    start = time.perf_counter()
    outputs = modeling.generate_batch(model, tokenizer, texts, common.MAX_NEW_TOKENS)
    elapsed = time.perf_counter() - start
    new_tokens = sum(len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in outputs)
    steps = max(len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in outputs)
    print(
        json.dumps(
            {
                "load_in_4bit": common.LOAD_IN_4BIT,
                "dtype": str(modeling.compute_dtype()),
                "threads": torch.get_num_threads(),
                "batch": len(texts),
                "shots": int(os.environ.get("BENCH_SHOTS", "3")),
                "prompt_tokens_real": real,
                "prompt_tokens_padded": padded,
                "prefill_s": round(prefill, 2),
                "decode_step_s": round(step, 3),
                "bound_s": round(prefill + step * common.MAX_NEW_TOKENS, 1),
                "generate_s": round(elapsed, 1),
                "max_new_tokens": common.MAX_NEW_TOKENS,
                "longest_output_tokens": steps,
                "new_tokens": new_tokens,
                "questions_per_s": round(len(texts) / elapsed, 3),
                "tokens_per_s": round(new_tokens / elapsed, 1),
                "sample": outputs[0][:200],
            }
        )
    )


if __name__ == "__main__":
    common.run_main(main)
