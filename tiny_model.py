"""Build the demo profile's tiny Qwen2-architecture model, offline and deterministically from the seed.

The tokenizer is a byte-level BPE trained on the demo data with Qwen2's pre-tokenizer, special tokens and chat
template; the model is a randomly initialised Qwen2ForCausalLM. Both are saved with save_pretrained, so the
pipeline loads them through AutoTokenizer / AutoModelForCausalLM.from_pretrained exactly like a hub model.
Run directly to (re)build:  python tiny_model.py
"""
import hashlib
import json
import shutil
import sys
from pathlib import Path

import common

DEMO_DIR = common.PROJECT_DIR / "data" / "demo"
BUILD_INFO = "tiny_model_build.json"

# Qwen2's pre-tokenizer split (tokenizer.json of Qwen/Qwen2-7B-Instruct), then byte-level without its own regex.
QWEN2_SPLIT_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                       r"|\s*[\r\n]+|\s+(?!\S)|\s+")
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
    """Every text file of the demo data, in a fixed order, plus the prompt wording, so the vocabulary fits it."""
    files = sorted(path for path in Path(demo_dir).rglob("*")
                   if path.suffix in (".sql", ".json", ".csv") and "database" not in path.parts)
    texts = [path.read_text(encoding="utf-8") for path in files]
    texts.append(common.SPIDER_SYSTEM_PROMPT + " Given the following database schema: Database: Table "
                 "Generate the SQL query for the following question: The following are multiple choice "
                 "questions (with answers) about Answer: A. B. C. D. You are a helpful assistant.")
    return texts


def fingerprint(demo_dir):
    """What the built model depends on: the corpus and the sizes. A change means a rebuild."""
    digest = hashlib.sha256(json.dumps(common.TINY_MODEL, sort_keys=True).encode())
    digest.update(str(common.SEED).encode())
    for text in training_corpus(demo_dir):
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
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus, trainer)
    # As in Qwen2-Instruct: the end of turn ends generation, padding is a different token.
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   chat_template=QWEN2_CHAT_TEMPLATE, padding_side="left",
                                   model_max_length=common.TINY_MODEL["max_position_embeddings"])


def build_model(tokenizer):
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    sizes = dict(common.TINY_MODEL, vocab_size=len(tokenizer))
    config = Qwen2Config(**sizes, tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    torch.manual_seed(common.SEED)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id, do_sample=False)
    return model


def build_tiny_model(target_dir, demo_dir=DEMO_DIR):
    """Build tokenizer and model into target_dir atomically (a half-built folder never looks finished)."""
    target_dir = Path(target_dir)
    staging = target_dir.with_name(target_dir.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer = build_tokenizer(training_corpus(demo_dir), common.TINY_MODEL["vocab_size"])
    tokenizer.save_pretrained(staging)
    build_model(tokenizer).save_pretrained(staging)
    (staging / BUILD_INFO).write_text(json.dumps({"fingerprint": fingerprint(demo_dir)}))
    shutil.rmtree(target_dir, ignore_errors=True)
    staging.rename(target_dir)
    return target_dir


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else common.PROFILES["demo"]["MODEL_NAME"]
    print(f"built {build_tiny_model(common.project_path(target))}")
