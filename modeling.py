"""Loading the model (4-bit base, optionally with a LoRA adapter) and the two things scripts 2-4 ask of it:
greedy completions of a batch of prompts, and the log-probability of each answer letter as the next token.

Generation is batched greedy decoding with left padding, the KV cache, a stop at the end-of-turn token and a bound on
new tokens. With INFERENCE_ENGINE=vllm the same token ids go to vLLM instead (vllm_engine.py), behind the same
complete(texts, max_new_tokens) interface.
"""

import functools
import gc
import hashlib
import logging
import os
import random
import resource
import sys

import numpy as np
import records
import torch
import vllm_engine  # its vllm import is lazy: importing it costs nothing

import checkpoints
import common

# bitsandbytes asks the Hugging Face hub for an optional faster CPU 4-bit kernel and logs a warning on every run when
# it cannot have it (offline, or the `kernels` package absent); its own kernel is then used, with the same results.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

# Models the project builds itself, offline (0_preparando_dados.py builds the profile's model when it is one).
LOCAL_MODEL_BUILDERS = {"outputs/cache/tiny-qwen2": "tiny_model", "outputs/cache/smollm2-135m-instruct": "smol_model"}
# Fused attention kernels accumulate in float32; eager attention overflows Qwen2 in float16 (NaN).
ATTENTION_IMPLEMENTATION = "sdpa"


# ---------------------------------------------------------------------------------------------------------------
# Determinism, devices and dtypes


def seed_everything(seed=None):
    """Seed python, numpy and torch, and ask torch for deterministic kernels where they exist."""
    seed = common.SEED if seed is None else seed
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def compute_dtype():
    """COMPUTE_DTYPE as a torch dtype. 'auto': on a GPU, bfloat16 where it is native, else float16 (the study's, on
    a T4); on a CPU float32, since half precision there is slower and gains nothing."""
    if common.COMPUTE_DTYPE != "auto":
        return getattr(torch, common.COMPUTE_DTYPE)
    if not torch.cuda.is_available():
        return torch.float32
    # Native support only: by default torch counts emulation, which says yes on a T4 and then runs slowly.
    return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16


def check_finite(values, where):
    """The shared guard: a NaN must stop the run, never turn silently into a near-chance score."""
    if not torch.isfinite(torch.as_tensor(values).float()).all():
        raise common.PipelineError(
            f"non-finite {where} with COMPUTE_DTYPE={common.COMPUTE_DTYPE} ({compute_dtype()}): Qwen2 overflows in "
            f"float16; set COMPUTE_DTYPE=float32 (or bfloat16 on a GPU that supports it) and run again"
        )


def training_guard(stop_after_epoch=None):
    """The non-finite guard on every logged loss and on the trainable weights after each step, and the early stop."""
    from transformers import TrainerCallback

    class TrainingGuard(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                check_finite(logs["loss"], f"training loss at step {state.global_step}")

        def on_step_end(self, args, state, control, model=None, **kwargs):
            # Before the save of this step: a corrupted adapter never becomes a checkpoint.
            weights = [p for p in model.parameters() if p.requires_grad]
            if not all(torch.isfinite(p).all() for p in weights):
                check_finite(float("nan"), f"LoRA weights after step {state.global_step}")

        def on_epoch_end(self, args, state, control, **kwargs):
            if stop_after_epoch is not None and round(state.epoch) >= stop_after_epoch:
                control.should_training_stop = True

    return TrainingGuard()


def free_memory():
    """Give a finished model's memory back before the next one loads.

    With an 8-bit bitsandbytes optimizer (OPTIM=adamw_8bit) the Trainer registers each embedding module of the model
    in bitsandbytes' GlobalOptimManager, a process-wide singleton that is never cleared: that reference alone keeps
    the embedding (float32 after prepare_model_for_kbit_training: 2.2 GB for Qwen2-7B) alive after training.
    initialize() empties the registry (the optimizer reads it at its first step only, so a finished training loses
    nothing); the project sets no other override there."""
    bitsandbytes = sys.modules.get("bitsandbytes")  # never imported just to be cleared
    if bitsandbytes is not None:
        bitsandbytes.optim.GlobalOptimManager.get_instance().initialize()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def peak_memory_gib():
    """Peak memory of this process: GPU allocator peak on CUDA, max resident set size on the CPU."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# ---------------------------------------------------------------------------------------------------------------
# Loading


def build_local_model():
    """Build the profile's model if the project makes it itself (the demo's tiny model) and it is not built yet."""
    builder = LOCAL_MODEL_BUILDERS.get(common.MODEL_NAME)
    if builder is None:
        return
    module = __import__(builder)
    target = common.project_path(common.MODEL_NAME)
    if not module.is_built(target):
        print(f"building {common.MODEL_NAME} ({builder}.py)")
        module.build(target)


def model_source():
    """MODEL_NAME as from_pretrained takes it: a local folder, or a hub name."""
    local = common.project_path(common.MODEL_NAME)
    if local.is_dir():
        return str(local)
    if common.MODEL_NAME in LOCAL_MODEL_BUILDERS:
        raise common.PipelineError(f"model {common.MODEL_NAME} is not built yet; run {records.SCRIPTS[0]} first")
    return common.MODEL_NAME


@functools.cache
def model_identity():
    """What identifies the base weights: the hub name, or for a local folder its name and the hash of its weights
    (the demo's tiny model is rebuilt when its corpus changes, under the same name)."""
    local = common.project_path(model_source())
    if not local.is_dir():
        return common.MODEL_NAME
    digest = hashlib.sha256()
    for path in sorted(local.glob("*.safetensors")):
        digest.update(records.sha256_file(path).encode())
    return f"{common.MODEL_NAME}@sha256:{digest.hexdigest()[:16]}"


@functools.cache
def repetition_penalty():
    """The model's own repetition penalty, from its generation_config.json (Qwen2-7B-Instruct: 1.05). HF generate
    applies it even to greedy decoding, so the study decoded with it; both engines are given it explicitly."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model_source()).repetition_penalty or 1.0
    except OSError:  # no generation_config.json
        return 1.0


def _unreachable_model(error):
    return common.PipelineError(
        f"cannot load model {common.MODEL_NAME!r} ({type(error).__name__}: {str(error).splitlines()[0][:160]}); "
        f"check MODEL_NAME, your network and Hugging Face login (`hf auth login`), or use PROFILE=demo offline"
    )


def load_tokenizer():
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_source())
    except (OSError, ValueError) as error:
        raise _unreachable_model(error) from None
    tokenizer.padding_side = "left"  # decoder-only batches: the prompt must end where generation starts
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        # Padding with the end-of-turn token would teach (or let) the model to skip its stop signal.
        tokenizer.pad_token = padding_token(tokenizer)
    return tokenizer


def padding_token(tokenizer):
    """A special token of this tokenizer other than its end of turn: Qwen2's <|endoftext|>, SmolLM2's unknown token
    (also <|endoftext|>, id 0), else the first other special token it has."""
    for token in [tokenizer.unk_token, "<|endoftext|>", *tokenizer.all_special_tokens]:
        if token is None or token not in tokenizer.get_vocab():
            continue
        if tokenizer.convert_tokens_to_ids(token) not in stop_token_ids(tokenizer):
            return token
    raise common.PipelineError(
        f"tokenizer of {common.MODEL_NAME!r} has no special token to pad with other than its "
        f"end of turn {tokenizer.eos_token!r}; give it a pad_token"
    )


def quantization_config():
    from transformers import BitsAndBytesConfig

    if not common.LOAD_IN_4BIT:
        return None
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=common.BNB_4BIT_QUANT_TYPE,
        bnb_4bit_use_double_quant=common.BNB_4BIT_USE_DOUBLE_QUANT,
        bnb_4bit_compute_dtype=compute_dtype(),
    )


def device_map():
    """One GPU (or all, split by accelerate) for a single process; under `accelerate launch`, each rank its own."""
    if not torch.cuda.is_available():
        return "cpu"
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return {"": int(os.environ.get("LOCAL_RANK", "0"))}
    return "auto"


def load_base_model():
    """The base model as in the study's Figure 4 (4-bit NF4, compute dtype from COMPUTE_DTYPE)."""
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(
            model_source(),
            quantization_config=quantization_config(),
            dtype=compute_dtype(),
            device_map=device_map(),
            attn_implementation=ATTENTION_IMPLEMENTATION,
        )
    except (OSError, ValueError) as error:
        raise _unreachable_model(error) from None


def check_lora_targets(model, targets):
    """LoRA target modules the model lacks are one line naming them, not a peft error mid-setup."""
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [target for target in targets if target not in present]
    if missing:
        raise common.PipelineError(
            f"LORA_TARGET_MODULES names {', '.join(missing)}, which {common.MODEL_NAME} does not have; choose among "
            f"its linear layers (Qwen2 and Llama: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)"
        )


def load_model(epoch=None):
    """A freshly loaded base model plus the LoRA adapter of one epoch (None: the base alone), in eval mode.

    Each model gets its own base: reusing one across adapters would make results depend on the evaluation order
    (bitsandbytes repacks 4-bit weights for its CPU kernel on the first inference pass, and an adapter attached
    after that computes differently), and so on where an interrupted run resumed."""
    model = load_base_model()
    if epoch is not None:
        from peft import PeftModel

        path = checkpoints.adapter_path(epoch)
        try:
            model = PeftModel.from_pretrained(model, path)
        except (OSError, ValueError, KeyError, RuntimeError) as error:  # safetensors and peft raise many kinds
            raise common.PipelineError(
                f"adapter {path} does not load ({type(error).__name__}); run "
                f"{checkpoints.TRAINING_SCRIPT} --fresh to train again"
            ) from None
    return model.eval()


def made_with(epoch, engine, batch_size):
    """What an evaluation's numbers depend on beyond its prompts: the model, the adapter's exact weights, loading and
    decoding settings, the engine and the batch size (batching changes the arithmetic)."""
    adapter = checkpoints.adapter_path(epoch) / "adapter_model.safetensors" if epoch is not None else None
    settings = {
        "model": model_identity(),
        "adapter_sha256": adapter and records.sha256_file(adapter),
        "load_in_4bit": common.LOAD_IN_4BIT,
        "quant_type": common.BNB_4BIT_QUANT_TYPE,
        "double_quant": common.BNB_4BIT_USE_DOUBLE_QUANT,
        "compute_dtype": str(compute_dtype()),
        "attention": ATTENTION_IMPLEMENTATION,
        "engine": engine,
        "batch_size": batch_size,
        "max_new_tokens": common.MAX_NEW_TOKENS,
        "repetition_penalty": repetition_penalty(),
    }
    if engine == "vllm":
        settings["vllm_version"] = vllm_engine.installed_version()
    return settings


# ---------------------------------------------------------------------------------------------------------------
# Inference


def token_lengths(tokenizer, prompts):
    """Each prompt's length in tokens: the runner's batch plan groups similar lengths."""
    return [len(ids) for ids in tokenizer(list(prompts), add_special_tokens=False)["input_ids"]]


def _left_padded(tokenizer, texts, model):
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    return {name: tensor.to(model.device) for name, tensor in batch.items()}


@functools.cache
def generation_eos_ids():
    """The model's own end-of-turn ids from its generation_config.json: one id or a list (Qwen2-7B-Instruct:
    <|im_end|> and <|endoftext|>; SmolLM2: <|im_end|>)."""
    from transformers import GenerationConfig

    try:
        configured = GenerationConfig.from_pretrained(model_source()).eos_token_id
    except OSError:  # no generation_config.json
        return ()
    return tuple(configured) if isinstance(configured, (list, tuple)) else (() if configured is None else (configured,))


def stop_token_ids(tokenizer):
    """Every id that ends a turn: the model's generation_config's, the tokenizer's end of sequence, and the ChatML
    end of turn <|im_end|> where the vocabulary has it."""
    chat_end = tokenizer.get_vocab().get("<|im_end|>")
    return sorted({tokenizer.eos_token_id, chat_end, *generation_eos_ids()} - {None})


def finite_logits_guard():
    """A logits processor that applies the non-finite guard at every decoding step (greedy over NaN says '!!!!')."""
    from transformers import LogitsProcessor

    class FiniteLogitsGuard(LogitsProcessor):
        def __call__(self, input_ids, scores):
            check_finite(scores, "logits during generation")
            return scores

    return FiniteLogitsGuard()


@torch.inference_mode()
def generate_batch(model, tokenizer, texts, max_new_tokens, stop_at_end_of_turn=True):
    """Greedy completions of rendered prompts, stopped at the end-of-turn token, special tokens removed.

    stop_at_end_of_turn=False is for bench_gpu.py only: its random weights never emit the stop token, so it times
    exactly max_new_tokens new tokens (eos_token_id=None also overrides the model's generation_config)."""
    inputs = _left_padded(tokenizer, texts, model)
    output = model.generate(
        **inputs,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        use_cache=True,
        repetition_penalty=repetition_penalty(),
        eos_token_id=stop_token_ids(tokenizer) if stop_at_end_of_turn else None,
        pad_token_id=tokenizer.pad_token_id,
        logits_processor=[finite_logits_guard()],
    )
    return tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


def engine_batch_size(engine):
    return common.VLLM_BATCH_SIZE if engine == "vllm" else common.EVAL_BATCH_SIZE


def check_engine(engine):
    """Fail before any work, with one line, if the engine cannot run with these settings."""
    if engine == "vllm":
        vllm_engine.check_usable()


def load_generator(tokenizer, epoch, engine):
    """complete(texts, max_new_tokens): greedy completions by the base model (epoch None) or base plus the adapter
    of epoch, on the given engine."""
    if engine == "vllm":
        return functools.partial(vllm_engine.generate_batch, tokenizer, epoch)
    return functools.partial(generate_batch, load_model(epoch), tokenizer)


def letter_token_ids(tokenizer, answer_texts):
    """Token id of each answer text as it follows the prompt (prompts.mmlu_answer_texts: " A" after "Answer:" in
    the plain format, "A" at the start of the assistant turn in the chat format), one token each."""
    ids = []
    for text in answer_texts:
        pieces = tokenizer.encode(text, add_special_tokens=False)
        if len(pieces) != 1:
            raise common.PipelineError(f"answer {text!r} is not a single token for this tokenizer ({pieces})")
        ids.append(pieces[0])
    return ids


@torch.inference_mode()
def letter_log_probs_batch(model, tokenizer, texts, letter_ids):
    """Log-probability of each candidate letter as the next token after each prompt, in one forward pass."""
    inputs = _left_padded(tokenizer, texts, model)
    # Left padding shifts positions; give each row positions counted from its first real token.
    positions = (inputs["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    logits = model(**inputs, position_ids=positions).logits[:, -1].float()
    check_finite(logits, "next-token logits")
    return torch.log_softmax(logits, dim=-1)[:, letter_ids].cpu().tolist()
