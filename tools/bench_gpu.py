"""The paper profile at full size, measured (make bench-gpu): Qwen2-7B-Instruct's exact architecture with seeded
random weights, driven through the project's own code: 4-bit loading (modeling), LoRA and trainer (script 1), batched
generation (modeling.generate_batch over runner.batch_plan, as scripts 2-3) and MMLU letter scoring (script 4).

Random weights compute exactly as many FLOPs and bytes as the real ones, so speed and memory carry over; what they
say (SQL, letters) is noise. Sequence lengths are the real prompts' (configs/prompt_lengths.json), made of words that
are one token each of the demo's tiny tokenizer (ids below any vocabulary size). Each section's rows print as soon as
they are measured, and all of them again as one table at the end; the optional sections (T4 verdict, vLLM) that fail
print one row saying why, and the others still run.

    PROFILE=paper python bench_gpu.py                        # full size, needs a CUDA GPU (~16 GB of disk, once)
    PROFILE=paper BENCH_GPU_SCALE=tiny python bench_gpu.py   # same code, shrunken model, CPU, < 2 minutes
"""

import functools
import importlib.util
import json
import math
import os
import random
import shutil
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("PROFILE", "paper")

import prompts  # noqa: E402
import records  # noqa: E402
import runner  # noqa: E402
import torch  # noqa: E402
import vllm_engine  # noqa: E402

import checkpoints  # noqa: E402  (PROFILE first)
import common  # noqa: E402
import modeling  # noqa: E402
from measure_prompt_lengths import load_script  # noqa: E402

SCALE = os.environ.get("BENCH_GPU_SCALE", "full")
ARCHITECTURE = common.PROJECT_DIR / "configs" / "qwen2-7b-instruct.json"
LENGTHS = json.loads((common.PROJECT_DIR / "configs" / "prompt_lengths.json").read_text())["prompts"]
# Qwen2-7B shrunk with its ratios kept (7 query heads per key/value head, intermediate 5 x hidden); heads 64 wide, as
# bitsandbytes' 4-bit CPU kernel needs input widths in multiples of its 64-block; the tiny tokenizer's vocabulary.
TINY = {
    "vocab_size": 1024,
    "hidden_size": 128,
    "head_dim": 64,
    "intermediate_size": 640,
    "num_hidden_layers": 2,
    "num_attention_heads": 7,
    "num_key_value_heads": 1,
}
TRAIN_QUESTIONS, DEV_QUESTIONS = 8659, 1034  # train_spider + train_others; Spider dev
ANSWER_TOKENS = 40  # a typical SQL answer (configs/prompt_lengths.json: spider_answer p50 35, p75 47)
# The T4 cap, 15e9 bytes = 13.97 GiB, on the caching allocator (what set_per_process_memory_fraction limits): torch
# reports a Colab T4's total as 14.75 GiB (nvidia-smi: 15360 MiB; ECC keeps the rest of its 16 GB), less its CUDA
# context (about 0.3-0.5 GiB, outside the allocator) that leaves ~14.3 GiB for tensors; 13.97 GiB errs below it, so a
# "fits" holds on a real T4 and a "does not fit" within ~0.3 GiB of the cap may still fit there.
T4_CAP_BYTES = 15e9
SIZES = {
    "full": {"train_steps": 4, "questions": 64, "batch1": 4, "mmlu": 64, "t4_batches": (1, 2, 4, 8, 16)},
    "tiny": {"train_steps": 1, "questions": 16, "batch1": 1, "mmlu": 16, "t4_batches": (1, 2)},
}[SCALE]
SHARD_BYTES = 2 * 2**30
GiB = 2**30
TABLE = []  # every row shown so far, printed again as one table at the end


def bench_model_folder():
    return common.project_path(common.CACHE_DIR) / ("bench-qwen2-7b" if SCALE == "full" else "bench-qwen2-tiny")


def write_model(folder):
    """Seeded random weights in bfloat16, one tensor at a time into safetensors shards (no 2x model in RAM)."""
    from accelerate import init_empty_weights
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, Qwen2Config

    config = Qwen2Config(**dict(json.loads(ARCHITECTURE.read_text()), **(TINY if SCALE == "tiny" else {})))
    with init_empty_weights():  # shapes and names only, on the meta device
        shapes = {name: p.shape for name, p in AutoModelForCausalLM.from_config(config).state_dict().items()}
    generator, shard, index, number = torch.Generator().manual_seed(common.SEED), {}, {}, 0
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name, shape in shapes.items():  # Qwen2's init: normal(0, 0.02), norms 1, biases 0
        if name.endswith("norm.weight"):
            tensor = torch.ones(shape)
        elif name.endswith(".bias"):
            tensor = torch.zeros(shape)
        else:
            tensor = torch.randn(shape, generator=generator) * config.initializer_range
        shard[name] = tensor.to(torch.bfloat16)
        if sum(t.numel() * 2 for t in shard.values()) >= SHARD_BYTES or name == list(shapes)[-1]:
            number += 1
            save_file(shard, partial / f"model-{number:05d}.safetensors", metadata={"format": "pt"})
            index.update(dict.fromkeys(shard, f"model-{number:05d}.safetensors"))
            shard = {}
    (partial / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": index}))
    config.save_pretrained(partial)
    # Qwen2-7B-Instruct's repetition penalty; no eos here, the project passes its stop tokens itself.
    (partial / "generation_config.json").write_text(json.dumps({"repetition_penalty": 1.05}))
    tiny = common.project_path("outputs/cache/tiny-qwen2")
    for file in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(tiny / file, partial / file)
    partial.rename(folder)  # complete or absent: a killed build is redone


def prepare_model():
    """Build the tiny tokenizer (demo) and the random model once; point MODEL_NAME at it."""
    common.MODEL_NAME = "outputs/cache/tiny-qwen2"
    modeling.build_local_model()
    folder = bench_model_folder()
    if not folder.is_dir():
        print(f"writing {folder} (once)", flush=True)
        write_model(folder)
    common.MODEL_NAME = str(folder)


def one_token_words(tokenizer):
    """Words that the tokenizer keeps as one token each, so a text of n of them is exactly n tokens."""
    words = [token[1:] for token in tokenizer.get_vocab() if token.startswith("Ġ") and token[1:].isalpha()]
    return sorted(w for w in words if len(tokenizer.encode(" " + w, add_special_tokens=False)) == 1)


def sample_lengths(kind, count, rng):
    """Lengths drawn from the real prompts' estimated Qwen2 token quantiles (linear between them)."""
    table = LENGTHS[kind]["qwen2_tokens_estimated"]
    points = sorted((int(k[1:]) / 100, v) for k, v in table.items() if k.startswith("p"))
    lengths = []
    for _ in range(count):
        u = rng.random()
        (u0, v0), (u1, v1) = next((a, b) for a, b in zip(points, points[1:]) if a[0] <= u <= b[0])
        lengths.append(round(v0 + (v1 - v0) * (u - u0) / max(u1 - u0, 1e-9)))
    return lengths


def texts_of(lengths, words, rng):
    return ["".join(" " + w for w in rng.choices(words, k=n)) for n in lengths]


def training_entries(script, tokenizer, lengths, words, rng):
    """Spider-shaped entries whose training sequence (script 1's sequence_length) has the given lengths."""
    entries = []
    for length in lengths:
        entry = {
            "db_id": "bench",
            "question": texts_of([8], words, rng)[0],
            "query": texts_of([ANSWER_TOKENS], words, rng)[0],
            "db_schema": texts_of([1], words, rng)[0],
        }
        # Counted around a one-word schema: an empty one also drops a separator token.
        overhead = script.sequence_length(tokenizer, prompts.spider_training_example(entry)) - 1
        entry["db_schema"] = texts_of([max(length - overhead, 1)], words, rng)[0]
        entries.append(entry)
    return entries


class StepTimer:
    """Seconds between optimizer steps; the first step (allocation, kernel choice) is left out."""

    def __init__(self):
        from transformers import TrainerCallback

        timer = self

        class Callback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                timer.ends.append(time.perf_counter())

        self.ends, self.callback = [], Callback()

    def seconds_per_step(self):
        gaps = sorted(b - a for a, b in zip(self.ends, self.ends[1:]))
        return gaps[len(gaps) // 2] if gaps else float("nan")  # one step (the T4 fit test): memory only


def train_steps(script, model, tokenizer, entries, batch_size):
    """Script 1's trainer for one epoch over entries at batch_size: (seconds/step, tokens/step, peaks GiB)."""
    examples, lengths, _ = script.training_examples(tokenizer, entries)
    saved = common.PER_DEVICE_TRAIN_BATCH_SIZE, common.NUM_EPOCHS
    common.PER_DEVICE_TRAIN_BATCH_SIZE, common.NUM_EPOCHS = batch_size, 1
    try:
        trainer = script.build_trainer(model, tokenizer, examples, lengths)  # reads them into its arguments
    finally:
        common.PER_DEVICE_TRAIN_BATCH_SIZE, common.NUM_EPOCHS = saved
    timer = StepTimer()
    trainer.add_callback(timer.callback)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    peaks = (
        (torch.cuda.max_memory_allocated() / GiB, torch.cuda.max_memory_reserved() / GiB)
        if torch.cuda.is_available()
        else (modeling.peak_memory_gib(),) * 2
    )
    tokens_per_step = sum(lengths) / len(lengths) * batch_size * common.GRADIENT_ACCUMULATION_STEPS
    return timer.seconds_per_step(), tokens_per_step, peaks


def bench_training(script, tokenizer, words, rng):
    steps = SIZES["train_steps"] + 1
    per_step = common.PER_DEVICE_TRAIN_BATCH_SIZE * common.GRADIENT_ACCUMULATION_STEPS
    entries = training_entries(script, tokenizer, sample_lengths("spider_training", steps * per_step, rng), words, rng)
    model = script.lora_model(modeling.load_base_model())
    rows = [("attention implementation", model.config._attn_implementation, "modeling.ATTENTION_IMPLEMENTATION")]
    epochs, batch = common.NUM_EPOCHS, common.PER_DEVICE_TRAIN_BATCH_SIZE
    seconds, tokens, (allocated, reserved) = train_steps(script, model, tokenizer, entries, batch)
    hours = math.ceil(TRAIN_QUESTIONS / per_step) * seconds / 3600
    memory = "GPU allocator peak" if torch.cuda.is_available() else "max RSS (no CUDA): process memory"
    rows += [
        ("training tokens/s", f"{tokens / seconds:.1f}", f"mean tokens per step / median step time, {epochs=}"),
        ("training seconds per optimizer step", f"{seconds:.3f}", f"batch {batch} x {per_step // batch} accum"),
        ("training peak memory allocated GiB", f"{allocated:.2f}", memory),
        ("training peak memory reserved GiB", f"{reserved:.2f}", memory),
        (
            "training hours per epoch (8659 questions)",
            f"{hours:.2f}",
            f"{math.ceil(TRAIN_QUESTIONS / per_step)} steps x seconds/step",
        ),
        (f"training hours for {epochs} epochs", f"{hours * epochs:.2f}", "NUM_EPOCHS x hours per epoch"),
    ]
    show(rows)


def fit_search(train_at, batches, release):
    """{batch: peak reserved GiB, or why it failed} in order, up to the first batch that does not fit; release()
    after each attempt, once its exception (which holds the failed step's tensors) is gone."""
    fits = {}
    for batch in batches:
        try:
            fits[batch] = train_at(batch)
        except common.PipelineError:  # the non-finite guard of script 1
            fits[batch] = "non-finite loss in float16"
        except RuntimeError as error:  # torch.OutOfMemoryError is a RuntimeError
            if not runner.is_out_of_memory(error):
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


def peak_reserved(script, model, tokenizer, entry, batch):
    """Peak reserved GiB of one optimizer step of script 1's trainer at batch, every sequence entry's."""
    return train_steps(script, model, tokenizer, [entry] * batch * common.GRADIENT_ACCUMULATION_STEPS, batch)[2][1]


def release_attempt(model):
    model.zero_grad(set_to_none=True)
    modeling.free_memory()
    torch.cuda.reset_peak_memory_stats()


def entry_of_length(script, tokenizer, length, words, rng):
    """One training entry exactly length tokens long as script 1 counts it (so none is dropped as too long)."""
    entry = training_entries(script, tokenizer, [length], words, rng)[0]
    actual = script.sequence_length(tokenizer, prompts.spider_training_example(entry))
    if actual != length:
        raise common.PipelineError(f"a {length}-token training sequence came out {actual} tokens long")
    return entry


def bench_t4(script, tokenizer, words, rng):
    """float16 compute (a T4 has no bfloat16) under a T4's memory: fits at batch 2? largest batch that fits?"""
    longest = LENGTHS["spider_training"]["qwen2_tokens_estimated"]["p100"]
    cases = {
        common.MAX_SEQ_LENGTH: "MAX_SEQ_LENGTH: the longest script 1 trains on, the worst case",
        longest: "the longest measured training example",
    }
    entries = {length: entry_of_length(script, tokenizer, length, words, rng) for length in cases}
    show([("T4 fit test sequence tokens", ", ".join(map(str, entries)), "each run's every sequence this long")])
    if not torch.cuda.is_available():
        show([("T4 verdict", "not measured (no CUDA)", "float16 under the T4 cap, batch 2")])
        return
    modeling.free_memory()
    allocated, reserved = torch.cuda.memory_allocated() / GiB, torch.cuda.memory_reserved() / GiB
    print(f"T4 fit test starts with {allocated:.3f} GiB allocated, {reserved:.3f} GiB reserved", flush=True)
    total = torch.cuda.get_device_properties(0).total_memory
    cap = min(T4_CAP_BYTES, total)  # a GPU smaller than the cap: the whole GPU (a fraction above 1 is refused)
    show(
        [
            ("T4 memory allocated before the cap GiB", f"{allocated:.3f}", f"reserved {reserved:.3f}; 0 expected"),
            ("T4 cap GiB", f"{cap / GiB:.2f}", f"min(T4_CAP_BYTES = 15e9 bytes, this GPU's {total / GiB:.2f} GiB)"),
        ]
    )
    dtype, common.COMPUTE_DTYPE = common.COMPUTE_DTYPE, "float16"
    torch.cuda.set_per_process_memory_fraction(cap / total)
    try:
        model = script.lora_model(modeling.load_base_model())
        for length, why in cases.items():
            train_at = functools.partial(peak_reserved, script, model, tokenizer, entries[length])
            fits = fit_search(train_at, SIZES["t4_batches"], functools.partial(release_attempt, model))
            verdict, largest = fit_verdict(fits)
            tried = ", ".join(f"{b}: {f:.2f} GiB" if isinstance(f, float) else f"{b}: {f}" for b, f in fits.items())
            show(
                [
                    (f"T4 verdict, batch 2, {length} tokens", verdict, f"float16, under the cap; {why}"),
                    (f"T4 largest batch that fits, {length} tokens", largest, f"peak reserved per batch: {tried}"),
                ]
            )
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        common.COMPUTE_DTYPE = dtype


def generation_rate(model, tokenizer, texts, batch_size, new_tokens):
    """Questions/s as scripts 2-3 batch them (runner.batch_plan), exactly new_tokens generated per question."""
    plan = runner.batch_plan(modeling.token_lengths(tokenizer, texts), batch_size)
    started = time.perf_counter()
    for batch in plan:
        modeling.generate_batch(model, tokenizer, [texts[i] for i in batch], new_tokens, stop_at_end_of_turn=False)
    return len(texts) / (time.perf_counter() - started)


def bench_generation(model, tokenizer, rng, words):
    """Script 3's fine-tuned models (and script 2's base 0-shot) get the 0-shot prompt, script 2's baseline the 3-shot
    one (its shots' schemas included); here the epoch-1 adapter is attached throughout, an upper bound for the base."""
    size, count = common.EVAL_BATCH_SIZE, SIZES["questions"]
    zero, three = (texts_of(sample_lengths(kind, count, rng), words, rng) for kind in ("spider_0shot", "spider_3shot"))
    generation_rate(model, tokenizer, zero[:1], 1, 2)  # first-call costs (4-bit repacking, kernel setup): untimed
    for label, texts, batch, new, who in (
        (f"0-shot, batch {size}", zero, size, ANSWER_TOKENS, "per fine-tuned model (script 3; base 0-shot too)"),
        (f"3-shot, batch {size}", three, size, ANSWER_TOKENS, "base 3-shot (script 2); an upper bound"),
        ("0-shot, batch 1 (a sample)", zero[: SIZES["batch1"]], 1, ANSWER_TOKENS, "per model, unbatched"),
        (f"0-shot, batch {size}, MAX_NEW_TOKENS", zero[:size], size, common.MAX_NEW_TOKENS, "per model, worst case"),
    ):
        rate = generation_rate(model, tokenizer, texts, batch, new)
        show(
            [
                (f"generation questions/s, {label}", f"{rate:.3f}", f"{new} new tokens each, {len(texts)} questions"),
                (f"generation minutes per 1034 questions, {label}", f"{DEV_QUESTIONS / rate / 60:.2f}", who),
            ]
        )
    return zero


def bench_mmlu(model, tokenizer, words, rng):
    texts = texts_of(sample_lengths("mmlu_4shot", SIZES["mmlu"], rng), words, rng)
    letter_ids = modeling.letter_token_ids(tokenizer, prompts.MMLU_LETTERS)
    started = time.perf_counter()
    for batch in runner.batch_plan(modeling.token_lengths(tokenizer, texts), common.EVAL_BATCH_SIZE):
        modeling.letter_log_probs_batch(model, tokenizer, [texts[i] for i in batch], letter_ids)
    rate = len(texts) / (time.perf_counter() - started)
    show([("MMLU letter scoring questions/s", f"{rate:.2f}", f"4-shot lengths, batch {common.EVAL_BATCH_SIZE}")])


def bench_vllm(tokenizer, texts):
    if importlib.util.find_spec("vllm") is None:
        show([("vLLM", "skipped", "vLLM not installed (see README: the vLLM engine)")])
        return
    common.LOAD_IN_4BIT = False  # vLLM loads no NF4: the 16-bit base
    vllm_engine.engine()
    started = time.perf_counter()
    vllm_engine.generate_batch(tokenizer, None, texts, ANSWER_TOKENS)
    rate = len(texts) / (time.perf_counter() - started)
    show([("vLLM generation questions/s", f"{rate:.3f}", f"16-bit base, stops kept, <= {ANSWER_TOKENS} tokens")])


def environment_rows():
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU (no CUDA)"
    show(
        [
            ("device", device, f"BENCH_GPU_SCALE={SCALE}, PROFILE={common.PROFILE}"),
            ("torch / CUDA", f"{torch.__version__} / {torch.version.cuda}", f"compute {modeling.compute_dtype()}"),
        ]
    )


def print_rows(rows, width):
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<24}  {note}", flush=True)


def show(rows):
    """Print rows as soon as they are measured (a later crash loses none) and keep them for the final table."""
    print_rows(rows, 48)
    TABLE.extend(rows)


def guarded(name, section, *args):
    """An optional section (T4 verdict, vLLM): if it fails, one row says so and why, and the others still run."""
    try:
        return section(*args)
    except Exception as error:  # noqa: BLE001  (any failure of this section; Ctrl-C still stops the run)
        traceback.print_exc()
        show([(name, "failed", f"{type(error).__name__}: {(str(error) or '-').splitlines()[0][:200]}")])
    modeling.free_memory()  # what the failed section held, now that its traceback is gone


def main():
    script, rng = load_script("1_fine-tuning.py"), random.Random(common.SEED)
    prepare_model()
    modeling.seed_everything()
    tokenizer = modeling.load_tokenizer()
    words = one_token_words(tokenizer)
    environment_rows()
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as folder:
        common.PATHS = common.output_paths(Path(folder) / "prepared", Path(folder) / "outputs")
        bench_training(script, tokenizer, words, rng)  # the trained model is dropped: a fresh load follows
        modeling.free_memory()  # also bitsandbytes' hold on its embedding (modeling.free_memory)
        epochs = checkpoints.epoch_checkpoints()  # the manifest adapter_path reads (schemas.TRAINING_MANIFEST)
        records.write_json(
            common.PATHS.training_manifest, {"config": common.resolved_config(), "epochs": epochs, "finished": True}
        )
        model = modeling.load_model(1)  # script 3's path: base + the epoch's adapter
        texts = bench_generation(model, tokenizer, rng, words)
        bench_mmlu(model, tokenizer, words, rng)
        del model
        modeling.free_memory()
        guarded("T4 verdict", bench_t4, script, tokenizer, words, rng)  # before vLLM, which takes most of the GPU
        guarded("vLLM", bench_vllm, tokenizer, texts[: common.EVAL_BATCH_SIZE])
    width = max(len(row[0]) for row in TABLE)
    print(f"\n{'figure':<{width}}  {'value':<24}  definition")
    print_rows(TABLE, width)


if __name__ == "__main__":
    main()
