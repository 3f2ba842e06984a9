"""The cell and layer tests, the fused masked layers, the padded batch shapes and the float64
layer checks run again on the JAX backend (Keras picks a backend per process).

Each JAX run is a pytest process of its own. It starts as soon as the tests are collected
(`conftest.py`) and runs beside the TensorFlow tests, whose small models leave one of the
two cores mostly idle; each test here, ordered last, waits for its run and checks the result.
"""

import re

import keras
import pytest

ON_TENSORFLOW = pytest.mark.skipif(keras.backend.backend() == "jax",
                                   reason="this run already is the JAX run")


def assert_jax_run_passed(jax_run, timeout, at_least):
    """Waits for this test's JAX run; it must pass at least `at_least` tests on JAX."""
    code, stdout = jax_run(timeout=timeout)
    tail = stdout[-6000:]
    assert code == 0, tail
    assert "keras backend: jax" in stdout, tail
    passed = re.search(r"(\d+) passed", stdout)
    assert passed and int(passed.group(1)) >= at_least, tail


@ON_TENSORFLOW
def test_cell_and_layer_tests_pass_on_jax(jax_run):
    """The cells against Keras's layers, the layers, the minimal cells, the fused masked
    LSTM and GRUs compiled with unknown sizes (right-padded and holed masks, read
    backwards) against Keras's, and padded batches (a bounded set of shapes), which
    report the loss, the metrics and the predictions of the batches as they are."""
    import jax  # noqa: F401  (a test dependency: fail loudly if it is missing)

    assert_jax_run_passed(jax_run, timeout=1500, at_least=120)


@ON_TENSORFLOW
def test_float64_layer_checks_pass_on_jax(jax_run):
    """The CRF's brute-force and loss checks and the Tree-LSTM's reference output and
    gradient checks, with float64 enabled."""
    assert_jax_run_passed(jax_run, timeout=900, at_least=7)
