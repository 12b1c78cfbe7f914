"""Tools beside the pipeline: the offline demo models and measurements."""

from pathlib import Path

from filelock import FileLock


def ensure_built(builder, target):
    """Build target with the builder module (tiny_model, smol_model) unless built already. One process builds while
    the others wait for it: every rank of a launcher, or a test worker, may ask at once."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.with_name(target.name + ".lock")):
        if not builder.is_built(target):
            print(f"building {target} ({builder.__name__})", flush=True)
            builder.build(target)
    return target
