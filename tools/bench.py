"""Speed and memory of the pipeline on the demo profile, measured, printed as one table (make bench): the whole demo
(scripts 0-4 each in its own process, as a user runs them), its evaluations on 1 process and on 2 (torchrun), batch
size 1 against batched generation, MMLU letter scoring, the execution metric's cost and, where vLLM is installed
(.venv-vllm/bin/python -m tools.bench), the HF and vLLM engines on the same prompts.
"""

import dataclasses
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
from tools.bench_gpu import batched, letter_scoring_rate, print_table, show, timed
from tradeoff import files, mmlu, model, spider, sql_scoring, vllm_engine

GENERATION_PROMPTS = 32


def run_measured(script, env, launcher=(sys.executable,)):
    """(seconds, peak RSS in GiB of that process alone) of one script run."""
    started = time.time()
    process = subprocess.Popen([*launcher, script], env=env, cwd=common.PROJECT_DIR, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{script} failed ({os.waitstatus_to_exitcode(status)})")
    return time.time() - started, usage.ru_maxrss / 2**20


def bench_whole_demo(paths):
    env = dict(os.environ, PROFILE="demo", PREPARED_DIR=str(paths.prepared), OUTPUT_DIR=str(paths.outputs))
    seconds, peaks = zip(*(run_measured(script, env) for script in files.SCRIPTS))
    show("whole demo, scripts 0-4", f"{sum(seconds):.1f} s", " / ".join(f"{s:.1f}" for s in seconds) + " s; < 600 s")
    show("peak memory per script (max RSS)", f"{max(peaks):.2f} GiB", " / ".join(f"{p:.2f}" for p in peaks) + "; < 3")
    manifest = files.read_json(paths.training_manifest)
    steps = f"{manifest['global_step']} steps in {manifest['wall_seconds']} s"
    show("training throughput", f"{manifest['tokens_per_second']:.0f} tokens/s", steps)


def bench_sharded_evaluation(paths):
    """Scripts 2-4 with every result recomputed, on 1 process and on 2, the machine's threads split between them."""
    env = dict(os.environ, PROFILE="demo", PREPARED_DIR=str(paths.prepared), OUTPUT_DIR=str(paths.outputs))
    threads, records = os.cpu_count() or 1, {}
    for count in (1, 2):
        torchrun = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={count}"] if count > 1 else []
        for folder in (paths.spider_results, paths.mmlu_results):
            shutil.rmtree(folder, ignore_errors=True)
        env["OMP_NUM_THREADS"] = str(max(1, threads // count))
        seconds = [run_measured(script, env, [sys.executable, *torchrun])[0] for script in files.SCRIPTS[2:]]
        records[count] = {path: path.read_bytes() for path in paths.outputs.glob("*/*.jsonl")}
        note = " / ".join(f"{s:.1f}" for s in seconds) + f" s; {env['OMP_NUM_THREADS']} threads each"
        show(f"demo evaluation, {count} process(es)", f"{sum(seconds):.1f} s", note)
    same = sum(records[1][name] == records[2].get(name) for name in records[1])
    show("sharded records identical to one process", f"{same} of {len(records[1])} files", "byte for byte")


def spider_prompts(paths, tokenizer, count=None):
    entries = files.read_json(paths.spider_dev)[:count]
    return [spider.render(tokenizer, spider.messages(entry)) for entry in entries]


def bench_generation(paths):
    """Batch size 1 (the study's way) against EVAL_BATCH_SIZE on the same prompts; MMLU letter scoring."""
    config = common.model_config()
    tokenizer, llm = model.load_tokenizer(config), model.load_model(config)
    texts = spider_prompts(paths, tokenizer, GENERATION_PROMPTS)
    complete = functools.partial(model.generate_batch, llm, tokenizer, max_new_tokens=common.MAX_NEW_TOKENS)
    complete(texts[:1])  # first-call costs (bitsandbytes repacks its 4-bit weights): untimed
    rates = {}
    for size in (1, common.EVAL_BATCH_SIZE):
        completions, seconds = timed(batched, complete, tokenizer, texts, size)
        tokens = sum(length + 1 for length in model.token_lengths(tokenizer, completions.values()))  # + the stop
        rates[size] = len(texts) / seconds
        show(f"generation, batch size {size}", f"{rates[size]:.2f} questions/s", f"{tokens / seconds:.0f} tokens/s")
    speedup = rates[common.EVAL_BATCH_SIZE] / rates[1]
    show("batched vs batch size 1", f"{speedup:.1f}x", f"{len(texts)} prompts, target >= 5x")
    items, dev, form = files.read_json(paths.mmlu_test), files.read_json(paths.mmlu_dev), common.MMLU_PROMPT_FORMAT
    texts = [mmlu.prompt(tokenizer, item, dev[item["subject"]], common.MMLU_SHOTS, form) for item in items]
    rate = letter_scoring_rate(llm, tokenizer, texts)
    show("MMLU letter scoring", f"{rate:.1f} questions/s", f"{len(items)} questions, base model, {form} format")


def bench_metric(paths):
    """DeepEval ExecutionAccuracy + strict rule per 1000 examples (gold results cached, as in a real run)."""
    scoring, entries, size = common.spider_scoring(), files.read_json(paths.spider_dev), common.EVAL_BATCH_SIZE
    items = [
        dict(e, prediction=e["query"], gold=e["query"], db_path=str(scoring.database(e["db_id"]))) for e in entries
    ]
    evaluate = functools.partial(sql_scoring.evaluate_predictions, limits=scoring.limits, work_dir=scoring.deepeval_dir)
    evaluate(items[:4])  # warm-up: imports and DeepEval's first-call setup
    seconds = timed(lambda: [evaluate(items[start : start + size]) for start in range(0, len(items), size)])[1]
    note = f"{len(items)} examples in batches of {size}"
    show("execution metric (DeepEval)", f"{seconds / len(items) * 1000:.1f} s per 1000 examples", note)


def bench_engines(paths):
    """HF generate against vLLM on every demo dev prompt, base model unquantized in float32."""
    config = dataclasses.replace(common.model_config(), load_in_4bit=False, compute_dtype="float32")
    tokenizer = model.load_tokenizer(config)
    texts = spider_prompts(paths, tokenizer)
    completions = {}
    for engine, size in (("hf", common.EVAL_BATCH_SIZE), ("vllm", common.VLLM_BATCH_SIZE)):
        complete = model.generator(config, tokenizer, None, engine)
        complete(texts[:1], 1)  # loading, vLLM's start-up (about 20 s here) and first-call costs: untimed
        run = functools.partial(complete, max_new_tokens=common.MAX_NEW_TOKENS)
        completions[engine], seconds = timed(batched, run, tokenizer, texts, size)
        rate = f"{len(texts) / seconds:.2f} questions/s"
        show(f"generation, {engine} engine (float32 base)", rate, f"{len(texts)} prompts, batches of {size}")
    same = sum(completions["hf"][i] == completions["vllm"][i] for i in completions["hf"])
    show("hf and vllm completions identical", f"{same} of {len(texts)}", "greedy, same token ids in")


def main():
    if common.PROFILE != "demo":
        raise SystemExit("tools.bench measures the demo profile; run it with PROFILE=demo")
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        paths = files.Paths(Path(name) / "prepared", Path(name) / "outputs")
        bench_whole_demo(paths)
        bench_sharded_evaluation(paths)
        bench_generation(paths)
        bench_metric(paths)
        if vllm_engine.installed_version():
            bench_engines(paths)
    print_table()


if __name__ == "__main__":
    main()
