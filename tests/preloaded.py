"""Scripts 1-4 started from a forkserver that imported their libraries once per test worker.

Each of them spends 15-20 s importing torch, transformers, peft, TRL, bitsandbytes and DeepEval before its first
question, in each of the dozen or so runs a test session starts. A child of this server runs the script as `python
script.py` does (its own arguments, environment, working folder, stdout and stderr, exit code; common and tradeoff
imported afresh), with those libraries already imported. What they read from the environment at import is the test
session's: conftest sets it as common.py does (the hub offline, HF_HOME), so that a child sees what a fresh run sees.
Nothing of the project is imported here.
"""

import atexit
import multiprocessing
import os
import runpy
import sys

PRELOAD = [
    "torch", "torch._dynamo", "transformers", "transformers.models.qwen2.modeling_qwen2", "peft", "trl", "bitsandbytes",
    "accelerate", "datasets", "scipy.stats", "deepeval.metrics", "deepeval.evaluate", "sqlglot", "jsonschema",
]  # fmt: skip


def run(script, args, environment, folder, stdout, stderr):
    """The child: the script as __main__ with this environment, folder and output files; atexit handlers run as at a
    normal interpreter exit (multiprocessing's children skip them)."""
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(folder)
    for fd, path, name in ((1, stdout, "stdout"), (2, stderr, "stderr")):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
        stream = getattr(sys, name)  # the server's, on its own descriptor: replaced, keeping its encoding
        setattr(sys, name, open(fd, "w", encoding=stream.encoding, errors=stream.errors, buffering=1, closefd=False))
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        atexit._run_exitfuncs()


def start(script, args, environment, folder, stdout, stderr):
    """The started multiprocessing.Process (pid, exitcode, kill, join) running `script`."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*PRELOAD, __name__])
    process = context.Process(
        target=run, args=(str(script), list(args), dict(environment), str(folder), stdout, stderr)
    )
    process.start()
    return process
