"""On JAX, less compiling in a run: a compilation cache for the process, so that models of
one architecture compile once, and a random-bit generator that compiles faster.

JAX compiles each model's training, test and predict steps once per input shape, and a
new model instance compiles them again even when its program is the same one (the
weights are arguments, not constants). A run that trains several models of the same
architecture (tagging's members, seeds of one tagger; the trees task's Tree-LSTMs; the
trials of a search that differ in learning rate only) paid every compile again.
`share_compiled_steps` points JAX's persistent compilation cache at a temporary folder
of the process (removed when it exits), so later models load what the first compiled.
A cache folder the user chose (``JAX_COMPILATION_CACHE_DIR``) stays: then runs share
their compiles too. It must run before the process's first compile (JAX decides once
whether it caches).

Every random draw of a step (a Dropout layer's mask) compiles JAX's threefry hash; its
partitionable form, JAX's default, compiles in about twice the time of the serial form
(`serial_random_bits`). `compile_less` does both; `seqtasks.tasks.runner.start_run` and
the search call it first.

Example:

>>> folder = compile_less()  # None on another backend  # doctest: +SKIP
"""

import atexit
import os
import shutil
import tempfile

import keras

# Compiles shorter than this are not worth a file (the steps of a task model take 0.5 to
# 5 s to compile on 2 CPU cores; the eager initializers about 0.25 s).
MIN_COMPILE_SECONDS = 0.5


def compile_less():
    """On JAX, before the process's first compile: the compilation cache
    (`share_compiled_steps`) and the serial random bits (`serial_random_bits`). Returns
    the cache folder, or None on another backend."""
    folder = share_compiled_steps()
    if folder is not None:
        serial_random_bits()
    return folder


def serial_random_bits():
    """Draws JAX's random bits with the serial form of its threefry generator
    (``jax_threefry_partitionable`` off) unless the user chose a form
    (``JAX_THREEFRY_PARTITIONABLE``).

    The serial form compiles each draw in about half the time (two dropout masks, 2 CPU
    cores: 1.55 -> 0.72 s; the relations model's training step 9.4 -> 7.3 s of CPU time)
    and runs as fast. Its bits differ from the partitionable form's and come as
    reproducibly from the seed, on one device or sharded over several (a data-parallel
    run draws what a one-device run draws; each device then computes the whole draw of a
    sharded array, which the partitionable form splits).
    """
    import jax

    if "JAX_THREEFRY_PARTITIONABLE" not in os.environ:
        jax.config.update("jax_threefry_partitionable", False)


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
