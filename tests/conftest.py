"""Test set-up: deterministic seeds, the Keras backend in the report header, and the JAX
runs of the layer tests, started early so that they overlap the others."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[1]
# The tests of tests/test_backends.py that check a JAX pytest run -> that run's arguments
# and environment; two processes, each importing TensorFlow and JAX once. On JAX, the
# cells are compared with Keras's built-in layers inside `Recurrent` (inside
# `keras.layers.RNN` on TensorFlow too), saving and loading is checked for the standard
# cells (every variant is on TensorFlow), the minimal cells' linear path against the step
# loop with the mask that has holes and a masked first step, and their scan form (JAX
# only), the fused masked layers compiled with unknown sizes, and the padded batch shapes
# (tests/test_fixed_shapes.py); the float64 run selects the CRF's brute-force checks and
# the Tree-LSTM's reference checks (by name).
# The gated graph's float64 checks run on JAX with KERAS_BACKEND=jax JAX_ENABLE_X64=1
# pytest tests/test_gated_graph.py (not in this run, to keep the suite within CI's time).
JAX_RUNS = {
    "tests/test_backends.py::test_cell_and_layer_tests_pass_on_jax": (
        ["tests/test_cells.py", "tests/test_layers.py", "tests/test_minimal_cells.py",
         "tests/test_ngram_classifier.py", "tests/test_fused_masked.py",
         "tests/test_fixed_shapes.py", "-k",
         "(not test_fused_masked and not (save_and_load and (layernorm or peephole or "
         "noforget or resetbefore or minimal or narx or mingru or minlstm)) and not "
         "(test_minimal_cells and not (holes or forms or hand_written)) and not "
         "((builtin_layers or inside_bidirectional) and RNN)) or "
         "(test_fused_masked and compiled and True)"],
        {}),
    "tests/test_backends.py::test_float64_layer_checks_pass_on_jax": (
        ["tests/test_crf.py", "tests/test_tree_lstm.py",
         "-k", "brute or model_loss or reference_gradients or padded_levels"],
        {"JAX_ENABLE_X64": "1"}),
}
# The JAX runs' small tests spend most of their time compiling: XLA's backend
# optimizations off take the layer run from 301 to 226 s of CPU (224 -> 182 s of wall
# time alone), and the same tests pass.
FAST_COMPILES = " ".join([os.environ.get("XLA_FLAGS", ""),
                          "--xla_backend_optimization_level=0"]).strip()
_JAX_RUNS = pytest.StashKey()


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


@pytest.fixture(scope="module", autouse=True)
def _forget_custom_gradients():
    """Drops the gradients a test module registered with `tf.custom_gradient` when it ends.

    Traced in graph mode, `tf.custom_gradient` (the fused kernels of
    seqtasks/layers/tf_fused.py) registers its gradient in TensorFlow's global registry
    under a new name at every trace, and that entry keeps the traced graph alive for good:
    over the whole suite some 1.7 million objects, which made every full garbage
    collection take about 2 s (keras-tuner runs two per trial). A module's models and
    functions end with it (no fixture outlives a module).
    """
    registry = None
    if keras.backend.backend() == "tensorflow":
        from tensorflow.python.framework import ops

        registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    before = set(registry or ())
    yield
    if registry is not None:
        for name in [name for name in registry
                     if name.startswith("CustomGradient-") and name not in before]:
            del registry[name]


def pytest_report_header(config):
    return f"keras backend: {keras.backend.backend()}"


def pytest_collection_modifyitems(session, config, items):
    """Orders the JAX checks last and starts their processes now, so they run beside the
    rest."""
    if keras.backend.backend() == "jax":
        return
    checks = [item for item in items if item.nodeid in JAX_RUNS]
    items[:] = [item for item in items if item.nodeid not in JAX_RUNS] + checks
    runs = {}
    for item in checks:
        arguments, environment = JAX_RUNS[item.nodeid]
        output = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # no pipe to fill up
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments],
            cwd=ROOT, env={**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": FAST_COMPILES,
                           **environment},
            stdout=output, stderr=subprocess.STDOUT, text=True)
        runs[item.nodeid] = (process, output)
    config.stash[_JAX_RUNS] = runs


def pytest_unconfigure(config):
    for process, output in config.stash.get(_JAX_RUNS, {}).values():
        if process.poll() is None:  # the session ended early
            process.kill()
            process.wait()
        output.close()


@pytest.fixture
def jax_run(request):
    """A function that waits for the requesting test's JAX pytest process (started at
    collection, see `pytest_collection_modifyitems`) and returns ``(exit code, output)``."""
    process, output = request.config.stash.get(_JAX_RUNS, {}).get(
        request.node.nodeid, (None, None))
    if process is None:
        pytest.skip("the JAX run was not started (this session is the JAX run)")

    def wait(timeout):
        code = process.wait(timeout=timeout)
        output.seek(0)
        return code, output.read()

    return wait
