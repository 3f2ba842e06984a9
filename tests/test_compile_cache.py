"""Less compiling in a JAX run (`seqtasks.compile_cache`): a second model of one
architecture loads the first one's compiled steps; the temporary folder goes at exit; a
folder the user chose stays; random bits take the serial threefry unless the user chose.
JAX decides once a process whether it caches, so each check runs in a JAX process of
its own."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from seqtasks.compile_cache import compile_less, serial_random_bits

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import sys, jax, keras, numpy as np
import seqtasks.compile_cache as cache
cache.MIN_COMPILE_SECONDS = 0.0  # the little model below compiles quickly
folder = cache.compile_less()
print("partitionable", jax.config.jax_threefry_partitionable)
hits = []
jax.monitoring.register_event_listener(
    lambda event, **_: hits.append(event) if event.endswith("/cache_hits") else None)
for seed in (0, 1):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    before = len(hits)
    model.train_on_batch(np.ones((3, 5)), np.ones((3, 2)))
    print("hits", len(hits) - before)
print("folder", folder)
"""


@pytest.fixture(scope="module")
def jax_runs(tmp_path_factory):
    """The lines the script prints in two fresh JAX processes, run side by side: with the
    default settings, and with a cache folder and threefry form the user chose
    (-> (lines, folder))."""
    chosen = tmp_path_factory.mktemp("chosen")
    settings = {"default": {}, "chosen": {"JAX_COMPILATION_CACHE_DIR": str(chosen),
                                          "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                                          "JAX_THREEFRY_PARTITIONABLE": "1"}}
    processes = {name: subprocess.Popen(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "KERAS_BACKEND": "jax", **env})
        for name, env in settings.items()}
    runs = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
        runs[name] = [line.split() for line in out.splitlines()]
    return runs, chosen


@pytest.mark.slow
def test_a_second_model_loads_the_first_ones_compiled_steps_from_a_folder_removed_at_exit(
        jax_runs):
    (_, partitionable), (_, first), (_, second), (_, folder) = jax_runs[0]["default"]
    assert partitionable == "False"  # the serial threefry, which compiles faster
    assert int(first) == 0 and int(second) >= 1  # at least the training step
    assert "seqtasks-jax-cache-" in folder and not Path(folder).exists()


@pytest.mark.slow
def test_a_cache_folder_the_user_chose_stays(jax_runs):
    runs, chosen = jax_runs
    (_, partitionable), (_, first), (_, second), (_, folder) = runs["chosen"]
    assert partitionable == "True"  # the form the user chose
    assert int(first) == 0 and int(second) >= 1
    assert folder == str(chosen) and any(chosen.iterdir())


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="checks the other backends")
def test_no_cache_on_other_backends():
    assert compile_less() is None


@pytest.mark.parametrize("chosen, expected", [(None, False), ("1", True)])
def test_serial_random_bits_unless_the_user_chose_a_form(monkeypatch, chosen, expected):
    jax = pytest.importorskip("jax")
    monkeypatch.delenv("JAX_THREEFRY_PARTITIONABLE", raising=False)
    if chosen is not None:
        monkeypatch.setenv("JAX_THREEFRY_PARTITIONABLE", chosen)
    before = jax.config.jax_threefry_partitionable
    try:
        jax.config.update("jax_threefry_partitionable", True)
        serial_random_bits()
        assert jax.config.jax_threefry_partitionable is expected
    finally:
        jax.config.update("jax_threefry_partitionable", before)
