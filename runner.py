"""The one resumable evaluation loop, shared by Spider (scripts 2, 3), external predictions (script 3) and MMLU (4).

Batches are planned over the whole set, longest prompts first (little padding, an out-of-memory shows at once), so a
resumed run computes each remaining batch exactly as an uninterrupted one would (padding changes the arithmetic).
Finished examples are skipped, each new record is appended to the file as soon as its batch is done, and one
progress bar shows the whole set.
"""

from tqdm.auto import tqdm

import records
from prompts import prompt_digest


def batch_plan(lengths, batch_size, done=()):
    """Batches of indices of similar length, longest first; batches whose every index is in done are left out."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    return [batch for batch in batches if not set(done).issuperset(batch)]


def is_out_of_memory(error):
    """torch.OutOfMemoryError, or a RuntimeError saying so ("CUDA out of memory", cuBLAS failing to allocate)."""
    message = str(error)
    return (
        type(error).__name__ == "OutOfMemoryError"
        or "out of memory" in message.lower()
        or "CUBLAS_STATUS_ALLOC_FAILED" in message
    )


def run_batches(plan, batch_size, evaluate_batch):
    """Yield (indices, evaluate_batch(indices)) for each planned batch, splitting it in halves on out-of-memory."""
    for batch in plan:
        position = 0
        while position < len(batch):
            chunk = batch[position : position + batch_size]
            try:
                output = evaluate_batch(chunk)
            except RuntimeError as error:  # torch.OutOfMemoryError is a RuntimeError
                if not is_out_of_memory(error) or batch_size == 1:
                    raise
                import torch

                batch_size //= 2
                torch.cuda.empty_cache()
                print(f"out of memory: batch size halved to {batch_size}")
                continue
            position += len(chunk)
            yield chunk, output


def evaluate(path, made_with, prompts, lengths, batch_size, evaluate_batch, description):
    """Evaluate every prompt, resuming from its per-example file; returns the records of these prompts in order.

    evaluate_batch(indices) returns one record (a dict) per index; the runner adds its "index" and prompt hash.
    lengths order the batches (token counts; all equal keeps the file order)."""
    kept, done = records.resume_records(path, made_with, prompts)
    plan = batch_plan(lengths, batch_size, done)
    if not plan:  # all done: open nothing for writing (a finished run re-run on a read-only folder)
        return sorted((record for record in kept if record["index"] < len(prompts)), key=lambda record: record["index"])
    with (
        records.open_checkpoint(path, kept) as handle,
        tqdm(total=len(prompts), initial=len(done), desc=description, unit="question") as progress,
    ):
        for indices, outcomes in run_batches(plan, batch_size, evaluate_batch):
            new = [(index, outcome) for index, outcome in zip(indices, outcomes) if index not in done]
            for index, outcome in new:
                records.append_record(handle, {"index": index, "prompt": prompt_digest(prompts[index]), **outcome})
            progress.update(len(new))
    done = [record for record in records.read_jsonl_records(path) if record["index"] < len(prompts)]
    return sorted(done, key=lambda record: record["index"])
