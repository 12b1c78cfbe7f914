"""The paper profile at full size, measured (make bench-gpu; README "Measured on a GPU"): Qwen2-7B-Instruct's exact
architecture with seeded random weights (tools/qwen2-7b-instruct.json: the real FLOPs and bytes) through the
project's own code, at the real prompts' lengths (tools/prompt_lengths.json) in one-token words.

    PROFILE=paper python -m tools.bench_gpu                        # full size: a CUDA GPU, ~16 GB of disk once
    PROFILE=paper BENCH_GPU_SCALE=tiny python -m tools.bench_gpu   # same code, shrunken model, CPU, < 2 minutes
"""

import dataclasses
import functools
import json
import math
import os
import random
import shutil
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch

import common
from tools import ensure_built, tiny_model
from tradeoff import PipelineError, files, mmlu, model, spider, training, vllm_engine

SCALE = os.environ.get("BENCH_GPU_SCALE", "full")
ARCHITECTURE = Path(__file__).with_name("qwen2-7b-instruct.json")
LENGTHS = json.loads(Path(__file__).with_name("prompt_lengths.json").read_text())["prompts"]
# Qwen2-7B shrunk with its ratios kept (7 query heads per key/value head, intermediate 5 x hidden); heads 64 wide, as
# bitsandbytes' 4-bit CPU kernel needs input widths in multiples of its 64-block; the tiny tokenizer's vocabulary.
TINY = dict(vocab_size=tiny_model.TINY_MODEL["vocab_size"], hidden_size=128, head_dim=64, intermediate_size=640,
            num_hidden_layers=2, num_attention_heads=7, num_key_value_heads=1)  # fmt: skip
TRAIN_QUESTIONS, DEV_QUESTIONS = 8659, common.SPIDER_HUB_DEV_SIZE  # train_spider + train_others; Spider dev
ANSWER_TOKENS = 40  # a typical SQL answer (prompt_lengths.json: spider_answer p50 35, p75 47)
# The T4 cap on the caching allocator (what set_per_process_memory_fraction limits), 15e9 bytes = 13.97 GiB: a Colab
# T4 reports 14.75 GiB to torch (ECC keeps the rest of its 16 GB), ~14.3 GiB less its CUDA context (outside the
# allocator). Erring low, a "fits" holds on a real T4; a "does not fit" within ~0.3 GiB of the cap may still fit.
T4_CAP_BYTES = 15e9
SIZES = {
    "full": {"train_steps": 4, "questions": 64, "batch1": 4, "mmlu": 64, "t4_batches": (1, 2, 4, 8, 16)},
    "tiny": {"train_steps": 1, "questions": 16, "batch1": 1, "mmlu": 16, "t4_batches": (1, 2)},
}[SCALE]
GiB = 2**30
SHARD_BYTES = 2 * GiB
TABLE = []  # every row shown so far, printed again as one table at the end


def show(name, value, note=""):
    """Print a figure as soon as it is measured (a later crash loses none) and keep it for the final table."""
    TABLE.append((name, value, note))
    print(f"{name:<48}  {value:<24}  {note}", flush=True)


def print_table():
    width = max(len(name) for name, _, _ in TABLE)
    print(f"\n{'figure':<{width}}  {'value':<24}  note")
    for name, value, note in TABLE:
        print(f"{name:<{width}}  {value:<24}  {note}")


def timed(run, *args, **kwargs):
    started = time.perf_counter()
    return run(*args, **kwargs), time.perf_counter() - started


def batched(run, tokenizer, texts, batch_size):
    """{index: output} of run(the texts of one batch) over the batches scripts 2-4 would make (files.batch_plan)."""
    outputs = {}
    for batch in files.batch_plan(model.token_lengths(tokenizer, texts), batch_size):
        outputs.update(zip(batch, run([texts[i] for i in batch])))
    return outputs


def write_model(folder, tokenizer_folder):
    """Seeded random weights in bfloat16, one tensor at a time into safetensors shards (no 2x model in RAM)."""
    from accelerate import init_empty_weights
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, Qwen2Config

    config = Qwen2Config(**dict(json.loads(ARCHITECTURE.read_text()), **(TINY if SCALE == "tiny" else {})))
    with init_empty_weights():  # shapes and names only, on the meta device
        shapes = {name: p.shape for name, p in AutoModelForCausalLM.from_config(config).state_dict().items()}
    generator, shard, index = torch.Generator().manual_seed(common.SEED), {}, {}
    folder.mkdir(parents=True, exist_ok=True)
    for name, shape in shapes.items():  # Qwen2's init: normal(0, 0.02), norms 1, biases 0
        if name.endswith("norm.weight") or name.endswith(".bias"):
            shard[name] = torch.full(shape, float(name.endswith("norm.weight")), dtype=torch.bfloat16)
        else:
            shard[name] = (torch.randn(shape, generator=generator) * config.initializer_range).to(torch.bfloat16)
        if sum(t.numel() * 2 for t in shard.values()) >= SHARD_BYTES or name == list(shapes)[-1]:
            file = f"model-{len(set(index.values())) + 1:05d}.safetensors"
            save_file(shard, folder / file, metadata={"format": "pt"})
            index, shard = index | dict.fromkeys(shard, file), {}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": index}))
    # Qwen2-7B-Instruct's repetition penalty; no eos here, the project passes its stop tokens itself.
    penalty = tiny_model.GENERATION_DEFAULTS["repetition_penalty"]  # the tiny model copies it too
    (folder / "generation_config.json").write_text(json.dumps({"repetition_penalty": penalty}))
    for file in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(tokenizer_folder / file, folder / file)
    config.save_pretrained(folder)  # last: a folder without config.json is unfinished, and written again


def prepare_model():
    """The random model, written once beside the demo's tiny model (whose tokenizer it takes); its ModelConfig."""
    folder = common.project_path(common.CACHE_DIR) / ("bench-qwen2-7b" if SCALE == "full" else "bench-qwen2-tiny")
    if not (folder / "config.json").exists():
        print(f"writing {folder} (once)", flush=True)
        write_model(folder, ensure_built(tiny_model, tiny_model.TARGET))
    return dataclasses.replace(common.model_config(), name=folder.name, source=str(folder))


def one_token_words(tokenizer):
    """Words that the tokenizer keeps as one token each, so a text of n of them is exactly n tokens."""
    words = [token[1:] for token in tokenizer.get_vocab() if token.startswith("Ġ") and token[1:].isalpha()]
    return sorted(w for w in words if len(tokenizer.encode(" " + w, add_special_tokens=False)) == 1)


def sample_lengths(kind, count, rng):
    """Lengths drawn from the real prompts' estimated Qwen2 token quantiles (linear between them)."""
    table = LENGTHS[kind]["qwen2_tokens_estimated"]
    quantiles, values = zip(*sorted((int(k[1:]) / 100, v) for k, v in table.items() if k.startswith("p")))
    return [round(float(np.interp(rng.random(), quantiles, values))) for _ in range(count)]


def texts_of(lengths, words, rng):
    return ["".join(" " + w for w in rng.choices(words, k=n)) for n in lengths]


def training_examples(tokenizer, lengths, words, rng):
    """Spider-shaped training examples whose sequences (training.sequence_length) have the given lengths."""
    examples = []
    for length in lengths:
        question, query, schema = texts_of([8, ANSWER_TOKENS, 1], words, rng)
        entry = {"db_id": "bench", "question": question, "query": query, "db_schema": schema}
        # Counted around a one-word schema: an empty one also drops a separator token.
        overhead = training.sequence_length(tokenizer, spider.training_example(entry)) - 1
        length = max(length, overhead + 1)  # the prompt alone may be longer (the tiny tokenizer's is)
        entry["db_schema"] = texts_of([length - overhead], words, rng)[0]
        examples.append(spider.training_example(entry))
        if (actual := training.sequence_length(tokenizer, examples[-1])) != length:
            raise PipelineError(f"a {length}-token training sequence came out {actual} tokens long")
    return examples


def train_steps(lora, dtype, tokenizer, examples, recipe, batch_size, output_dir):
    """Script 1's trainer (dtype: the compute dtype) for one epoch over examples at batch_size: (seconds/step,
    tokens/step, peaks GiB). The first step (allocation, kernel choice) is left out of the median step time."""
    from transformers import TrainerCallback

    ends = []

    class StepTimer(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            ends.append(time.perf_counter())

    kept, lengths, _ = training.training_examples(tokenizer, examples, recipe.max_seq_length)
    recipe = dataclasses.replace(recipe, per_device_train_batch_size=batch_size, num_epochs=1)
    arguments = training.training_arguments(recipe, output_dir, dtype)
    callbacks = [StepTimer(), training.training_guard(dtype)]
    trainer = training.build_trainer(lora, tokenizer, kept, lengths, arguments, callbacks)
    if cuda := torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    peaks = (torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()) if cuda else ()
    gaps = sorted(b - a for a, b in zip(ends, ends[1:]))
    seconds = gaps[len(gaps) // 2] if gaps else float("nan")  # one step (the T4 fit test): memory only
    tokens_per_step = sum(lengths) / len(lengths) * batch_size * recipe.gradient_accumulation_steps
    return seconds, tokens_per_step, [peak / GiB for peak in peaks] or [model.peak_memory_gib()] * 2


def bench_training(config, recipe, tokenizer, words, rng, output_dir):
    steps, batch = SIZES["train_steps"] + 1, recipe.per_device_train_batch_size
    per_step = batch * recipe.gradient_accumulation_steps
    examples = training_examples(tokenizer, sample_lengths("spider_training", steps * per_step, rng), words, rng)
    lora = training.lora_model(model.load_base_model(config), recipe, config.name)
    show("attention implementation", lora.config._attn_implementation, "ModelConfig.attention")
    dtype = model.torch_dtype(config.compute_dtype)
    seconds, tokens, (allocated, reserved) = train_steps(lora, dtype, tokenizer, examples, recipe, batch, output_dir)
    steps_per_epoch, epochs = math.ceil(TRAIN_QUESTIONS / per_step), recipe.num_epochs
    hours = steps_per_epoch * seconds / 3600
    memory = "GPU allocator peak" if torch.cuda.is_available() else "max RSS (no CUDA): process memory"
    show("training tokens/s", f"{tokens / seconds:.1f}", f"mean tokens per step / median step time, {epochs=}")
    show("training seconds per optimizer step", f"{seconds:.3f}", f"batch {batch} x {per_step // batch} accum")
    show("training peak memory allocated GiB", f"{allocated:.2f}", memory)
    show("training peak memory reserved GiB", f"{reserved:.2f}", memory)
    show(
        f"training hours per epoch ({TRAIN_QUESTIONS} questions)",
        f"{hours:.2f}",
        f"{steps_per_epoch} steps x seconds/step",
    )
    show(f"training hours for {epochs} epochs", f"{hours * epochs:.2f}", "NUM_EPOCHS x hours per epoch")


def fit_search(train_at, batches, release):
    """{batch: peak reserved GiB, or why it failed} in order, up to the first batch that does not fit; release()
    after each attempt, once its exception (which holds the failed step's tensors) is gone."""
    fits = {}
    for batch in batches:
        try:
            fits[batch] = train_at(batch)
        except PipelineError:  # the non-finite guard of script 1
            fits[batch] = "non-finite loss in float16"
        except RuntimeError as error:  # torch.OutOfMemoryError is a RuntimeError
            if not files.is_out_of_memory(error):
                raise
            fits[batch] = "out of memory"
        release()
        if isinstance(fits[batch], str):
            break
    return fits


def fit_verdict(fits):
    """(verdict at batch 2, largest batch that fits) of a fit_search."""
    if isinstance(fits.get(1), str):
        return f"does not fit at batch 1 ({fits[1]})", "none: does not fit at batch 1"
    two = fits.get(2)
    verdict = f"fits ({two:.2f} GiB reserved)" if isinstance(two, float) else f"does not fit ({two}); batch 1 fits"
    return verdict, str(max(b for b, f in fits.items() if isinstance(f, float)))


def bench_t4(config, recipe, tokenizer, words, rng, output_dir):
    """float16 compute (a T4 has no bfloat16) under a T4's memory: fits at batch 2? largest batch that fits?"""
    cases = {
        recipe.max_seq_length: "MAX_SEQ_LENGTH: the longest script 1 trains on, the worst case",
        LENGTHS["spider_training"]["qwen2_tokens_estimated"]["p100"]: "the longest measured training example",
    }
    examples = {length: training_examples(tokenizer, [length], words, rng)[0] for length in cases}
    show("T4 fit test sequence tokens", ", ".join(map(str, examples)), "each run's every sequence this long")
    if not torch.cuda.is_available():
        return show("T4 verdict", "not measured (no CUDA)", "float16 under the T4 cap, batch 2")
    model.free_memory()
    allocated, reserved = torch.cuda.memory_allocated() / GiB, torch.cuda.memory_reserved() / GiB
    total = torch.cuda.get_device_properties(0).total_memory
    cap = min(T4_CAP_BYTES, total)  # a GPU smaller than the cap: the whole GPU (a fraction above 1 is refused)
    show("T4 memory allocated before the cap GiB", f"{allocated:.3f}", f"reserved {reserved:.3f}; 0 expected")
    show("T4 cap GiB", f"{cap / GiB:.2f}", f"min(T4_CAP_BYTES = 15e9 bytes, this GPU's {total / GiB:.2f} GiB)")
    torch.cuda.set_per_process_memory_fraction(cap / total)
    try:
        half = dataclasses.replace(config, compute_dtype="float16")
        lora = training.lora_model(model.load_base_model(half), recipe, config.name)

        def peak_reserved(example, batch):  # one optimizer step, every sequence this example's
            batch_examples = [example] * batch * recipe.gradient_accumulation_steps
            return train_steps(lora, torch.float16, tokenizer, batch_examples, recipe, batch, output_dir)[2][1]

        def release():
            lora.zero_grad(set_to_none=True)
            model.free_memory()
            torch.cuda.reset_peak_memory_stats()

        for length, why in cases.items():
            fits = fit_search(functools.partial(peak_reserved, examples[length]), SIZES["t4_batches"], release)
            verdict, largest = fit_verdict(fits)
            tried = ", ".join(f"{b}: {f:.2f} GiB" if isinstance(f, float) else f"{b}: {f}" for b, f in fits.items())
            show(f"T4 verdict, batch 2, {length} tokens", verdict, f"float16, under the cap; {why}")
            show(f"T4 largest batch that fits, {length} tokens", largest, f"peak reserved per batch: {tried}")
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)


def bench_generation(llm, tokenizer, words, rng):
    """0-shot prompts (script 3, script 2's base 0-shot) and 3-shot ones (script 2's baseline), exactly new tokens
    each (random weights never stop); the epoch-1 adapter is attached throughout: an upper bound for the base."""
    size, count = common.EVAL_BATCH_SIZE, SIZES["questions"]
    zero, three = (texts_of(sample_lengths(kind, count, rng), words, rng) for kind in ("spider_0shot", "spider_3shot"))
    complete = functools.partial(model.generate_batch, llm, tokenizer, stop_at_end_of_turn=False)
    complete(zero[:1], 2)  # first-call costs (4-bit repacking, kernel setup): untimed
    for label, texts, batch, new, who in (
        (f"0-shot, batch {size}", zero, size, ANSWER_TOKENS, "per fine-tuned model (script 3; base 0-shot too)"),
        (f"3-shot, batch {size}", three, size, ANSWER_TOKENS, "base 3-shot (script 2); an upper bound"),
        ("0-shot, batch 1 (a sample)", zero[: SIZES["batch1"]], 1, ANSWER_TOKENS, "per model, unbatched"),
        (f"0-shot, batch {size}, MAX_NEW_TOKENS", zero[:size], size, common.MAX_NEW_TOKENS, "per model, worst case"),
    ):
        rate = len(texts) / timed(batched, functools.partial(complete, max_new_tokens=new), tokenizer, texts, batch)[1]
        show(f"generation questions/s, {label}", f"{rate:.3f}", f"{new} new tokens each, {len(texts)} questions")
        show(f"generation minutes per {DEV_QUESTIONS} questions, {label}", f"{DEV_QUESTIONS / rate / 60:.2f}", who)
    return zero


def letter_scoring_rate(llm, tokenizer, texts):
    """MMLU questions/s of script 4's letter scoring (MMLU_PROMPT_FORMAT's answer texts, EVAL_BATCH_SIZE)."""
    letters = model.letter_token_ids(tokenizer, mmlu.answer_texts(common.MMLU_PROMPT_FORMAT))
    score = functools.partial(model.letter_log_probs_batch, llm, tokenizer, letter_ids=letters)
    return len(texts) / timed(batched, score, tokenizer, texts, common.EVAL_BATCH_SIZE)[1]


def bench_mmlu(llm, tokenizer, words, rng):
    rate = letter_scoring_rate(llm, tokenizer, texts_of(sample_lengths("mmlu_4shot", SIZES["mmlu"], rng), words, rng))
    show("MMLU letter scoring questions/s", f"{rate:.2f}", f"4-shot lengths, batch {common.EVAL_BATCH_SIZE}")


def bench_vllm(config, tokenizer, texts):
    if vllm_engine.installed_version() is None:
        return show("vLLM", "skipped", "vLLM not installed (see README: the vLLM engine)")
    # vLLM loads no NF4: the 16-bit base. Its start-up (in generator) is not timed.
    complete = model.generator(dataclasses.replace(config, load_in_4bit=False), tokenizer, None, "vllm")
    rate = len(texts) / timed(complete, texts, ANSWER_TOKENS)[1]
    show("vLLM generation questions/s", f"{rate:.3f}", f"16-bit base, stops kept, <= {ANSWER_TOKENS} tokens")


def guarded(name, section, *args):
    """An optional section (T4 verdict, vLLM): if it fails, one row says so and why, and the others still run."""
    try:
        section(*args)
    except Exception as error:  # noqa: BLE001  (any failure of this section; Ctrl-C still stops the run)
        traceback.print_exc()
        show(name, "failed", f"{type(error).__name__}: {(str(error) or '-').splitlines()[0][:200]}")
    model.free_memory()  # what the failed section held, now that its traceback is gone


def main():
    if common.PROFILE != "paper":
        raise SystemExit("tools.bench_gpu measures the paper profile; run it with PROFILE=paper")
    config, recipe = prepare_model(), common.training_config()
    rng = random.Random(common.SEED)
    model.seed_everything(common.SEED)
    tokenizer = model.load_tokenizer(config)
    words = one_token_words(tokenizer)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU (no CUDA)"
    show("device", device, f"BENCH_GPU_SCALE={SCALE}, PROFILE={common.PROFILE}")
    dtype = model.torch_dtype(config.compute_dtype)
    show("torch / CUDA", f"{torch.__version__} / {torch.version.cuda}", f"compute {dtype}")
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as folder:
        lora_dir = Path(folder) / "lora"
        bench_training(config, recipe, tokenizer, words, rng, lora_dir)  # the trained model is dropped
        model.free_memory()  # also bitsandbytes' hold on its embedding
        llm = model.load_model(config, lora_dir / training.epoch_checkpoints(lora_dir)["1"])  # script 3's path
        texts = bench_generation(llm, tokenizer, words, rng)
        bench_mmlu(llm, tokenizer, words, rng)
        del llm
        model.free_memory()
        guarded("T4 verdict", bench_t4, config, recipe, tokenizer, words, rng, Path(folder) / "t4")
        guarded("vLLM", bench_vllm, config, tokenizer, texts[: common.EVAL_BATCH_SIZE])  # last: it takes the GPU
    print_table()


if __name__ == "__main__":
    main()
