"""The paper profile at full size, measured (make bench-gpu): Qwen2-7B-Instruct's exact architecture with seeded
random weights, driven through the project's own code: 4-bit loading (modeling), LoRA and trainer (script 1), batched
generation (modeling.generate_batch over runner.batch_plan, as scripts 2-3) and MMLU letter scoring (script 4).

Random weights compute exactly as many FLOPs and bytes as the real ones, so speed and memory carry over; what they
say (SQL, letters) is noise. Sequence lengths are the real prompts' (configs/prompt_lengths.json), made of words that
are one token each of the demo's tiny tokenizer (ids below any vocabulary size).

    PROFILE=paper python bench_gpu.py                        # full size, needs a CUDA GPU (~16 GB of disk, once)
    PROFILE=paper BENCH_GPU_SCALE=tiny python bench_gpu.py   # same code, shrunken model, CPU, < 2 minutes
"""

import importlib.util
import json
import math
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PROFILE", "paper")

import torch  # noqa: E402

import checkpoints  # noqa: E402  (PROFILE first)
import common  # noqa: E402
import modeling  # noqa: E402
import prompts  # noqa: E402
import records  # noqa: E402
import runner  # noqa: E402
import vllm_engine  # noqa: E402
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
T4_BYTES = 15e9
SIZES = {
    "full": {"train_steps": 4, "questions": 64, "batch1": 4, "mmlu": 64, "t4_batches": (1, 2, 4, 8, 16)},
    "tiny": {"train_steps": 1, "questions": 16, "batch1": 1, "mmlu": 16, "t4_batches": (1, 2)},
}[SCALE]
SHARD_BYTES = 2 * 2**30
GiB = 2**30


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
            "db_schema": "",
        }
        overhead = script.sequence_length(tokenizer, prompts.spider_training_example(entry))
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
    common.PER_DEVICE_TRAIN_BATCH_SIZE, common.NUM_EPOCHS = batch_size, 1
    examples, lengths, _ = script.training_examples(tokenizer, entries)
    trainer = script.build_trainer(model, tokenizer, examples, lengths)
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
    common.NUM_EPOCHS = epochs
    return rows, model


def bench_t4(script, tokenizer, words, rng):
    """float16 compute under a 15 GB cap, longest real sequences: fits at batch 2? largest batch that fits?"""
    if not torch.cuda.is_available():
        return [
            ("T4 verdict, float16, 15 GB, batch 2", "not measured (no CUDA)", ""),
            ("T4 largest batch that fits", "not measured (no CUDA)", ""),
        ]
    torch.cuda.set_per_process_memory_fraction(T4_BYTES / torch.cuda.get_device_properties(0).total_memory)
    common.COMPUTE_DTYPE, longest = "float16", LENGTHS["spider_training"]["qwen2_tokens_estimated"]["p100"]
    model, fits = script.lora_model(modeling.load_base_model()), {}
    for batch in SIZES["t4_batches"]:
        entries = training_entries(
            script, tokenizer, [longest] * batch * common.GRADIENT_ACCUMULATION_STEPS, words, rng
        )
        try:
            fits[batch] = train_steps(script, model, tokenizer, entries, batch)[2][1]
        except (torch.OutOfMemoryError, common.PipelineError) as error:  # PipelineError: float16 overflowed
            fits[batch] = type(error).__name__
        model.zero_grad(set_to_none=True)
        modeling.free_memory()
        if not isinstance(fits[batch], float):
            break
    torch.cuda.set_per_process_memory_fraction(1.0)
    common.COMPUTE_DTYPE = "auto"
    two = fits.get(2)
    verdict = f"fits ({two:.1f} GiB reserved)" if isinstance(two, float) else f"does not fit ({two})"
    largest = max((b for b, f in fits.items() if isinstance(f, float)), default=0)
    return [
        ("T4 verdict, float16, 15 GB, batch 2", verdict, f"every sequence {longest} tokens (longest real)"),
        ("T4 largest batch that fits", f"{largest}", f"tried {', '.join(map(str, fits))}; memory only, not speed"),
    ]


def generation_rate(model, tokenizer, texts, batch_size, new_tokens):
    """Questions/s as scripts 2-3 batch them (runner.batch_plan), exactly new_tokens generated per question."""
    plan = runner.batch_plan(modeling.token_lengths(tokenizer, texts), batch_size)
    started = time.perf_counter()
    for batch in plan:
        modeling.generate_batch(model, tokenizer, [texts[i] for i in batch], new_tokens, stop_at_end_of_turn=False)
    return len(texts) / (time.perf_counter() - started)


def bench_generation(model, tokenizer, texts):
    rows, size = [], common.EVAL_BATCH_SIZE
    for label, batch, count, new in (
        (f"batch {size}", size, len(texts), ANSWER_TOKENS),
        ("batch 1 (a sample)", 1, SIZES["batch1"], ANSWER_TOKENS),
        (f"batch {size}, MAX_NEW_TOKENS", size, size, common.MAX_NEW_TOKENS),
    ):
        rate = generation_rate(model, tokenizer, texts[:count], batch, new)
        rows += [
            (f"generation questions/s, {label}", f"{rate:.3f}", f"{new} new tokens each, {count} questions"),
            (f"generation minutes per 1034 questions, {label}", f"{DEV_QUESTIONS / rate / 60:.2f}", "per model"),
        ]
    return rows


def bench_mmlu(model, tokenizer, words, rng):
    texts = texts_of(sample_lengths("mmlu_4shot", SIZES["mmlu"], rng), words, rng)
    letter_ids = modeling.letter_token_ids(tokenizer, prompts.MMLU_LETTERS)
    started = time.perf_counter()
    for batch in runner.batch_plan(modeling.token_lengths(tokenizer, texts), common.EVAL_BATCH_SIZE):
        modeling.letter_log_probs_batch(model, tokenizer, [texts[i] for i in batch], letter_ids)
    rate = len(texts) / (time.perf_counter() - started)
    return [("MMLU letter scoring questions/s", f"{rate:.2f}", f"4-shot lengths, batch {common.EVAL_BATCH_SIZE}")]


def bench_vllm(tokenizer, texts):
    if importlib.util.find_spec("vllm") is None:
        return [("vLLM", "skipped", "vLLM not installed (see README: the vLLM engine)")]
    common.LOAD_IN_4BIT = False  # vLLM loads no NF4: the 16-bit base
    vllm_engine.engine()
    started = time.perf_counter()
    vllm_engine.generate_batch(tokenizer, None, texts, ANSWER_TOKENS)
    rate = len(texts) / (time.perf_counter() - started)
    return [("vLLM generation questions/s", f"{rate:.3f}", f"16-bit base, stops kept, <= {ANSWER_TOKENS} tokens")]


def environment_rows():
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU (no CUDA)"
    return [
        ("device", device, f"BENCH_GPU_SCALE={SCALE}, PROFILE={common.PROFILE}"),
        ("torch / CUDA", f"{torch.__version__} / {torch.version.cuda}", f"compute {modeling.compute_dtype()}"),
    ]


def main():
    script, rng = load_script("1_fine-tuning.py"), random.Random(common.SEED)
    prepare_model()
    modeling.seed_everything()
    tokenizer = modeling.load_tokenizer()
    words = one_token_words(tokenizer)
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as folder:
        common.PATHS = common.output_paths(Path(folder) / "prepared", Path(folder) / "outputs")
        rows, trained = bench_training(script, tokenizer, words, rng)
        del trained
        modeling.free_memory()
        records.write_json(common.PATHS.training_manifest, {"epochs": checkpoints.epoch_checkpoints()})
        model = modeling.load_model(1)  # script 3's path: base + the epoch's adapter
        texts = texts_of(sample_lengths("spider_0shot", SIZES["questions"], rng), words, rng)
        rows += bench_generation(model, tokenizer, texts) + bench_mmlu(model, tokenizer, words, rng)
        del model
        modeling.free_memory()
        rows += bench_t4(script, tokenizer, words, rng)  # before vLLM, which takes most of the GPU
        rows += bench_vllm(tokenizer, texts[: common.EVAL_BATCH_SIZE]) + environment_rows()
    width = max(len(row[0]) for row in rows)
    print(f"\n{'figure':<{width}}  {'value':<24}  definition")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<24}  {note}")


if __name__ == "__main__":
    main()
