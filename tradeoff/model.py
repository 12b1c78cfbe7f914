"""Loading the model (the 4-bit base, optionally with a LoRA adapter) and what the evaluations ask of it: batched
greedy completions (on transformers or vLLM) and the log-probability of each answer letter as the next token."""

import functools
import logging
import os
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from tradeoff import PipelineError, files, vllm_engine

# Offline, bitsandbytes warns on every run that the hub's faster CPU kernel is out of reach; its own computes the same.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ModelConfig:
    """How the model is loaded; source: what from_pretrained takes (a model on disk by absolute path, or a hub name)."""

    name: str
    source: str
    load_in_4bit: bool
    quant_type: str
    double_quant: bool
    compute_dtype: str  # "auto", "float16", "bfloat16" or "float32"
    attention: str = "sdpa"  # fused kernels accumulate in float32; eager attention overflows Qwen2 in float16 (NaN)


def seed_everything(seed):
    from accelerate.utils import set_seed  # transformers' own pulls in its Trainer: seconds on every script's start

    set_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)  # cuDNN's algorithm choice too


def torch_dtype(name):
    """COMPUTE_DTYPE as a torch dtype. 'auto': on a GPU bfloat16 where it is native, else float16 (a T4's); on a CPU
    float32, since half precision there is slower and gains nothing."""
    if name != "auto":
        return getattr(torch, name)
    if not torch.cuda.is_available():
        return torch.float32
    # Native only: counting emulation, torch says yes on a T4, which then runs slowly.
    return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16


def check_finite(values, where, dtype):
    """Stop the run on a NaN, which would otherwise turn silently into a near-chance score."""
    if not torch.isfinite(torch.as_tensor(values).float()).all():
        raise PipelineError(
            f"non-finite {where} computing in {dtype}: Qwen2 overflows in float16; set COMPUTE_DTYPE=float32 (or "
            f"bfloat16 on a GPU that supports it) and run again"
        )


def free_memory():
    """Give a finished model's memory back. bitsandbytes' GlobalOptimManager, a process-wide singleton, holds every
    embedding an 8-bit optimizer registered (2.2 GB for Qwen2-7B); the optimizer reads it at its first step only."""
    from accelerate.utils.memory import clear_device_cache  # as transformers and peft import it

    if (bitsandbytes := sys.modules.get("bitsandbytes")) is not None:  # never imported just to be cleared
        bitsandbytes.optim.GlobalOptimManager.get_instance().initialize()
    clear_device_cache(garbage_collection=True)


def peak_memory_gib():
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def model_source(config):
    """config.source, once a model on disk is there (from_pretrained would take a missing path for a hub name)."""
    if Path(config.source).is_absolute() and not Path(config.source).is_dir():
        raise PipelineError(f"model {config.name} is not built yet; run {files.SCRIPTS[0]} first")
    return config.source


@functools.cache
def model_identity(config):
    """The hub name, or for a model on disk its name and the hash of its weights (the demo's is rebuilt under the same
    name when its corpus changes)."""
    source = Path(model_source(config))
    if not source.is_dir():
        return config.name
    weights = [files.sha256_file(path) for path in sorted(source.glob("*.safetensors"))]
    return f"{config.name}@sha256:{files.digest(weights)}"


@functools.cache
def generation_config(config):
    """The generation config a loaded model carries. HF generate applies its repetition penalty (Qwen2-7B-Instruct:
    1.05) even to greedy decoding, so vLLM is given it too."""
    from transformers import AutoConfig, GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model_source(config))
    except OSError:  # no generation_config.json: derived from config.json, as from_pretrained does
        return GenerationConfig.from_model_config(AutoConfig.from_pretrained(model_source(config)))


def stop_token_ids(tokenizer, generation):
    """Every id that ends a turn: the generation config's, the tokenizer's end of sequence, and ChatML's <|im_end|>."""
    configured = generation.eos_token_id
    configured = configured if isinstance(configured, (list, tuple)) else [configured]
    return sorted({tokenizer.eos_token_id, tokenizer.get_vocab().get("<|im_end|>"), *configured} - {None})


def _unreachable(config, error):
    return PipelineError(
        f"cannot load model {config.name!r} ({type(error).__name__}: {str(error).splitlines()[0][:160]}); "
        f"check MODEL_NAME, your network and Hugging Face login (`hf auth login`), or use PROFILE=demo offline"
    )


def load_tokenizer(config):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_source(config))
    except (OSError, ValueError) as error:
        raise _unreachable(config, error) from None
    tokenizer.padding_side = "left"  # decoder-only batches: the prompt must end where generation starts
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        # Padding with an end of turn would teach (or let) the model skip its stop signal: Qwen2 and SmolLM2 pad with
        # <|endoftext|>, another model with its first other special token.
        stops = stop_token_ids(tokenizer, generation_config(config))
        vocabulary = tokenizer.get_vocab()
        candidates = [tokenizer.unk_token, "<|endoftext|>", *tokenizer.all_special_tokens]
        padding = [token for token in candidates if token in vocabulary and vocabulary[token] not in stops]
        if not padding:
            raise PipelineError(
                f"tokenizer of {config.name!r} has no special token to pad with other than its end of turn "
                f"{tokenizer.eos_token!r}; give it a pad_token"
            )
        tokenizer.pad_token = padding[0]
    return tokenizer


def load_base_model(config):
    """The base model, in Figure 4's 4-bit quantisation when config.load_in_4bit, computing in its compute dtype."""
    import trl
    from accelerate import PartialState
    from transformers import AutoModelForCausalLM

    dtype = torch_dtype(config.compute_dtype)
    quantization = trl.get_quantization_config(
        trl.ModelConfig(
            load_in_4bit=config.load_in_4bit,
            bnb_4bit_quant_type=config.quant_type,
            use_bnb_nested_quant=config.double_quant,
            dtype=str(dtype).removeprefix("torch."),
        )
    )
    device_map = "cpu"
    if torch.cuda.is_available():  # one process: all its GPUs, split by accelerate; several: each its own GPU
        device_map = {"": PartialState().local_process_index} if files.process_count() > 1 else "auto"
    try:
        return AutoModelForCausalLM.from_pretrained(
            model_source(config),
            quantization_config=quantization,
            dtype=dtype,
            device_map=device_map,
            attn_implementation=config.attention,
        )
    except (OSError, ValueError) as error:
        raise _unreachable(config, error) from None


def load_model(config, adapter_dir=None):
    """A freshly loaded base plus the LoRA adapter in adapter_dir (None: the base alone), in eval mode.

    A fresh base for each adapter: bitsandbytes repacks 4-bit weights for its CPU kernel at the first inference pass
    and an adapter attached after that computes differently, so a shared base would tie results to the order of the
    evaluations (and to where an interrupted run resumed)."""
    model = load_base_model(config)
    if adapter_dir is not None:
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, adapter_dir)
        except (OSError, ValueError, KeyError, RuntimeError) as error:  # safetensors and peft raise many kinds
            raise PipelineError(
                f"adapter {adapter_dir} does not load ({type(error).__name__}); {files.FRESH_HINT}"
            ) from None
    return model.eval()


def generator(config, tokenizer, adapter_dir, engine, tensor_parallel_size=1):
    """complete(texts, max_new_tokens): greedy completions by the base plus the adapter in adapter_dir (None: the base
    alone), on engine "hf" or "vllm" (spanning tensor_parallel_size GPUs)."""
    if engine == "hf":
        loaded = functools.cache(lambda: load_model(config, adapter_dir))  # at the first batch: never in a finished run
        return lambda texts, max_new_tokens: generate_batch(loaded(), tokenizer, texts, max_new_tokens)
    vllm_engine.check_usable(config.load_in_4bit)
    if files.process_count() > 1:  # one engine per process would each take every GPU it sees: untested
        raise PipelineError(
            "INFERENCE_ENGINE=vllm runs in one process: start this script with python, not a launcher, and spread "
            "the engine over GPUs with VLLM_TENSOR_PARALLEL_SIZE"
        )
    dtype, generation = torch_dtype(config.compute_dtype), generation_config(config)
    lora_r = files.read_json(Path(adapter_dir) / "adapter_config.json")["r"] if adapter_dir else 1
    rank = next((rank for rank in vllm_engine.LORA_RANKS if rank >= lora_r), None)  # one engine serves every adapter
    if rank is None:
        raise PipelineError(
            f"the adapter's LoRA rank {lora_r} is above vLLM's largest ({vllm_engine.LORA_RANKS[-1]}); "
            "set INFERENCE_ENGINE=hf"
        )
    llm = vllm_engine.engine(model_source(config), dtype, rank, tensor_parallel_size)
    stops, guard = stop_token_ids(tokenizer, generation), functools.partial(check_finite, dtype=dtype)
    return vllm_engine.generator(llm, tokenizer, adapter_dir, stops, generation.repetition_penalty, guard)


def made_with(config, adapter_dir, engine, batch_size, max_new_tokens):
    """What an evaluation's numbers depend on beyond its prompts: the model, the adapter's exact weights, loading and
    decoding settings, the engine and the batch size (batching changes the arithmetic)."""
    return {
        "model": model_identity(config),
        "adapter_sha256": adapter_dir and files.sha256_file(Path(adapter_dir) / "adapter_model.safetensors"),
        **{name: getattr(config, name) for name in ("load_in_4bit", "quant_type", "double_quant", "attention")},
        "compute_dtype": str(torch_dtype(config.compute_dtype)),
        "engine": engine,
        "batch_size": batch_size,
        "max_new_tokens": max_new_tokens,
        "repetition_penalty": generation_config(config).repetition_penalty,
        **({"vllm_version": vllm_engine.installed_version()} if engine == "vllm" else {}),
    }


def token_lengths(tokenizer, prompts):
    return [len(ids) for ids in tokenizer(list(prompts), add_special_tokens=False)["input_ids"]]


def _left_padded(tokenizer, texts, model):
    return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)


@torch.inference_mode()
def generate_batch(model, tokenizer, texts, max_new_tokens, stop_at_end_of_turn=True):
    """Greedy completions of rendered prompts, with the model's repetition penalty, special tokens removed.
    stop_at_end_of_turn=False times exactly max_new_tokens new tokens (eos_token_id=None overrides the model's)."""

    def finite_logits_guard(input_ids, scores):  # at every step: greedy decoding over NaN says '!!!!'
        check_finite(scores, "logits during generation", model.dtype)
        return scores

    inputs = _left_padded(tokenizer, texts, model)
    output = model.generate(
        **inputs,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        use_cache=True,
        repetition_penalty=model.generation_config.repetition_penalty,
        eos_token_id=stop_token_ids(tokenizer, model.generation_config) if stop_at_end_of_turn else None,
        pad_token_id=tokenizer.pad_token_id,
        logits_processor=[finite_logits_guard],
    )
    return tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


def letter_token_ids(tokenizer, answer_texts):
    """The token id of each answer text as it follows the prompt; each must be one token."""
    ids = [tokenizer.encode(text, add_special_tokens=False) for text in answer_texts]
    for text, pieces in zip(answer_texts, ids):
        if len(pieces) != 1:
            raise PipelineError(f"answer {text!r} is not a single token for this tokenizer ({pieces})")
    return [pieces[0] for pieces in ids]


@torch.inference_mode()
def letter_log_probs_batch(model, tokenizer, texts, letter_ids):
    """Log-probability of each candidate letter as the next token after each prompt, in one forward pass."""
    inputs = _left_padded(tokenizer, texts, model)
    positions = (inputs["attention_mask"].cumsum(-1) - 1).clamp(min=0)  # counted from each row's first real token
    logits = model(**inputs, position_ids=positions).logits[:, -1].float()
    check_finite(logits, "next-token logits", model.dtype)
    return torch.log_softmax(logits, dim=-1)[:, letter_ids].cpu().tolist()
