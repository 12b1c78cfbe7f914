"""Build the demo profile's tiny Qwen2-architecture model, offline and deterministically from the seed: a byte-level
BPE with Qwen2's pre-tokenizer, special tokens and chat template, and a Qwen2ForCausalLM pretrained on plain text from
the allowed demo data only: never a dev question or query, an MMLU test question or the pipeline's chat format, which
fine-tuning is left to teach. Saved with save_pretrained, like a hub model.  Rebuild:  python -m tools.tiny_model
"""

import hashlib
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path

import common
from tools import demo_spider
from tradeoff import PipelineError, mmlu, spider

DEMO_DIR = common.project_path(common.PROFILES["demo"]["SPIDER_DIR"]).parent  # spider/ and mmlu/
TARGET = common.project_path(common.PROFILES["demo"]["MODEL_NAME"])
BUILD_INFO = "tiny_model_build.json"

# Pretraining: optimizer steps, sequences per step, tokens per sequence, peak learning rate (linear warmup, then
# cosine decay to a tenth), AdamW weight decay, gradient clipping, templated questions per document (after their
# database's schema), and a version to bump when the documents or procedure change in a way these do not show.
PRETRAIN_SETTINGS = dict(steps=1200, batch_size=8, seq_length=256, learning_rate=3e-3, warmup_steps=20,
                         weight_decay=0.01, max_grad_norm=1.0, questions_per_document=6, version=2)  # fmt: skip
PRETRAIN_LOG_EVERY = 50
# The architecture of Qwen2, sizes small enough for a sub-second training step on a laptop CPU. Every projection width
# is a multiple of 32, as bitsandbytes' 4-bit CPU inference kernel requires, and heads are 32 wide, the narrowest
# vLLM's CPU attention takes. Grouped-query attention, as in Qwen2-7B. Four layers, not two: at two, the pretrained
# model wrote the right SQL in plain text for 0.25 of the demo dev questions, at four 0.52 (same pretraining).
TINY_MODEL = dict(vocab_size=1024, hidden_size=64, intermediate_size=192, num_hidden_layers=4, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=4096)  # fmt: skip
# As Qwen2-7B-Instruct's generation_config.json: its repetition penalty applies to greedy decoding too.
GENERATION_DEFAULTS = {"do_sample": False, "repetition_penalty": 1.05}

# Qwen2's pre-tokenizer split (tokenizer.json of Qwen/Qwen2-7B-Instruct), then byte-level without its own regex.
QWEN2_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen2-Instruct's template: a default system turn when none is given, then <|im_start|>role\ncontent<|im_end|>.
QWEN2_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def training_corpus(demo_dir):
    """The tokenizer's corpus: the pretraining documents without the synthetic questions, plus the prompt wording.
    Dev and MMLU test words are thus split into pieces the pretraining has trained, not left as untrained tokens."""
    texts = pretraining_documents(demo_dir, synthetic=False)
    texts.append(
        spider.SYSTEM_PROMPT + " Given the following database schema: Database: Table "
        "Generate the SQL query for the following question: The following are multiple choice "
        "questions (with answers) about Answer: A. B. C. D. You are a helpful assistant."
    )
    return texts


def train_entries(demo_dir):
    paths = [Path(demo_dir) / "spider" / name for name in ("train_spider.json", "train_others.json")]
    return [entry for path in paths if path.exists() for entry in json.loads(path.read_text(encoding="utf-8"))]


def pretraining_documents(demo_dir, synthetic=True):
    """The pretraining documents, in a fixed order: training questions and (synthetic) more from demo_spider's
    templates but no dev question or query, a few per document after their schema ("Question: ...\nSQL: ...", a blank
    line apart: where SQL extraction stops); then the .sql scripts and the MMLU dev examples in the harness layout."""
    demo_dir = Path(demo_dir)
    schemas = spider.schema_texts(demo_dir / "spider")
    pool = {}
    for entry in train_entries(demo_dir):
        pool.setdefault(entry["db_id"], []).append((entry["question"], entry["query"]))
    if synthetic:
        dev = json.loads((demo_dir / "spider" / "dev.json").read_text(encoding="utf-8"))
        excluded = {text for entry in dev for text in (entry["question"], entry["query"])}
        for db_id, pairs in demo_spider.synthetic_questions(demo_dir / "spider", common.SEED, excluded).items():
            pool[db_id] = pool.get(db_id, []) + [pair for pair in pairs if pair not in pool.get(db_id, [])]
    documents, size = [], PRETRAIN_SETTINGS["questions_per_document"]
    for db_id in sorted(pool):
        pairs = [f"Question: {question}\nSQL: {query}" for question, query in pool[db_id]]
        documents += [schemas[db_id] + "\n" + "\n\n".join(pairs[i : i + size]) for i in range(0, len(pairs), size)]
    for db_id in sorted(schemas):
        script = demo_dir / "spider" / "sql" / f"{db_id}.sql"
        if script.exists():
            documents.append(script.read_text(encoding="utf-8").strip())
    for path in sorted((demo_dir / "mmlu" / "dev").glob("*_dev.csv")):
        subject = path.name.removesuffix("_dev.csv")
        blocks = [mmlu.question_block(item, with_answer=True) for item in mmlu.csv_rows(path, subject)]
        documents.append(mmlu.subject_header(subject) + "\n\n".join(blocks))
    return documents


def fingerprint(demo_dir):
    """What the built model depends on: the corpora, the sizes and the pretraining settings; a change, a rebuild."""
    digest = hashlib.sha256()
    for settings in (TINY_MODEL, common.SEED, PRETRAIN_SETTINGS, GENERATION_DEFAULTS):
        digest.update(json.dumps(settings, sort_keys=True).encode())
    for text in training_corpus(demo_dir) + pretraining_documents(demo_dir):
        digest.update(text.encode("utf-8"))
    return digest.hexdigest()


def is_built(target_dir, demo_dir=DEMO_DIR):
    info = Path(target_dir) / BUILD_INFO
    return info.exists() and json.loads(info.read_text())["fingerprint"] == fingerprint(demo_dir)


def build_tokenizer(corpus, vocab_size):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    qwen2_split = pre_tokenizers.Split(Regex(QWEN2_SPLIT_PATTERN), behavior="isolated")
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([qwen2_split, byte_level])
    tokenizer.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False, initial_alphabet=alphabet
    )
    tokenizer.train_from_iterator(corpus, trainer)
    # As in Qwen2-Instruct: the end of turn ends generation, padding is a different token.
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=QWEN2_CHAT_TEMPLATE,
        padding_side="left",
        model_max_length=TINY_MODEL["max_position_embeddings"],
    )


def build_model(tokenizer):
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    special = {"eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    sizes = dict(TINY_MODEL, vocab_size=len(tokenizer))
    config = Qwen2Config(**sizes, **special, tie_word_embeddings=True, bos_token_id=None)
    torch.manual_seed(common.SEED)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(**special, **GENERATION_DEFAULTS)
    return model


def pretraining_batches(tokenizer, documents, steps, batch_size, seq_length, seed=common.SEED):
    """The documents, each ended by <|im_end|> (Qwen2-Instruct's eos), shuffled with the seed on each pass and packed
    end to end into steps x batch_size windows of seq_length tokens."""
    import torch

    encoded = [tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for text in documents]
    rng = random.Random(f"{seed}:pretraining-order")
    needed = steps * batch_size * seq_length
    stream = []
    while len(stream) < needed:
        order = list(range(len(encoded)))
        rng.shuffle(order)
        for index in order:
            stream += encoded[index]
    tokens = torch.tensor(stream[:needed], dtype=torch.long)
    return tokens.view(steps, batch_size, seq_length)


def pretrain(model, tokenizer, documents, settings=PRETRAIN_SETTINGS, seed=common.SEED, log_every=PRETRAIN_LOG_EVERY):
    """Full-parameter causal-LM training in float32 with AdamW, deterministic for a given seed; returns the losses."""
    import torch

    torch.manual_seed(seed)
    # Deterministic kernels: the same weights from the same seed on a given CPU and thread count (here a build on 2
    # threads, 1.8 times faster than on one, equals a 1-thread build byte for byte; not so on every CPU).
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    steps, batch_size, seq_length = settings["steps"], settings["batch_size"], settings["seq_length"]
    batches = pretraining_batches(tokenizer, documents, steps, batch_size, seq_length, seed)
    model.float().train()
    optimizer = torch.optim.AdamW(
        model.parameters(), settings["learning_rate"], (0.9, 0.95), weight_decay=settings["weight_decay"], foreach=False
    )
    warmup = min(settings["warmup_steps"], max(steps - 1, 1))

    def factor(step):  # linear warmup, then cosine down to a tenth of the peak
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(steps - warmup, 1)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    losses, start = [], time.time()
    print(f"pretraining the tiny model: {steps} steps x {batch_size} x {seq_length} tokens", flush=True)
    try:
        for step, batch in enumerate(batches):
            loss = model(input_ids=batch, labels=batch).loss
            if not torch.isfinite(loss):
                raise PipelineError(f"tiny-model pretraining diverged at step {step} (loss {loss.item()})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings["max_grad_norm"])
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            if log_every and ((step + 1) % log_every == 0 or step + 1 == steps):
                recent = losses[-log_every:]
                mean = sum(recent) / len(recent)
                print(f"  step {step + 1}/{steps}: loss {mean:.3f} ({time.time() - start:.0f} s)", flush=True)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    model.eval()
    return losses


def build(target_dir, demo_dir=DEMO_DIR):
    """Build tokenizer and model into target_dir atomically (a half-built folder never looks finished)."""
    target_dir = Path(target_dir)
    staging = target_dir.with_name(target_dir.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    start = time.time()
    tokenizer = build_tokenizer(training_corpus(demo_dir), TINY_MODEL["vocab_size"])
    tokenizer.save_pretrained(staging)
    model = build_model(tokenizer)
    pretrain(model, tokenizer, pretraining_documents(demo_dir))
    model.save_pretrained(staging)
    print(f"tiny model built in {time.time() - start:.0f} s", flush=True)
    (staging / BUILD_INFO).write_text(json.dumps({"fingerprint": fingerprint(demo_dir)}))
    shutil.rmtree(target_dir, ignore_errors=True)
    staging.rename(target_dir)
    return target_dir


if __name__ == "__main__":
    print(f"built {build(common.project_path(sys.argv[1]) if len(sys.argv) > 1 else TARGET)}")
