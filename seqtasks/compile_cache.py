"""On JAX, a compilation cache for the process: models of one architecture compile once.

JAX compiles each model's training, test and predict steps once per input shape, and a
new model instance compiles them again even when its program is the same one (the
weights are arguments, not constants). A run that trains several models of the same
architecture (tagging's members, seeds of one tagger; the trees task's Tree-LSTMs; the
trials of a search that differ in learning rate only) paid every compile again.
`share_compiled_steps` points JAX's persistent compilation cache at a temporary folder
of the process (removed when it exits), so later models load what the first compiled.
A cache folder the user chose (``JAX_COMPILATION_CACHE_DIR``) stays: then runs share
their compiles too. It must run before the process's first compile (JAX decides once
whether it caches): `seqtasks.tasks.runner.start_run` and the search call it first.

Example:

>>> folder = share_compiled_steps()  # None on another backend  # doctest: +SKIP
"""

import atexit
import shutil
import tempfile

import keras

# Compiles shorter than this are not worth a file (the steps of a task model take 0.5 to
# 5 s to compile on 2 CPU cores; the eager initializers about 0.25 s).
MIN_COMPILE_SECONDS = 0.5


def share_compiled_steps():
    """On JAX, turns on the compilation cache (in a temporary folder unless the user set
    one); returns its folder, or None on another backend."""
    if keras.backend.backend() != "jax":
        return None
    import jax

    folder = jax.config.jax_compilation_cache_dir
    if folder is None:
        folder = tempfile.mkdtemp(prefix="seqtasks-jax-cache-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return folder
