"""Test set-up: deterministic seeds, the Keras backend in the report header, and the JAX
run of the cell and layer tests started early so that it overlaps the others."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[1]
JAX_TEST = "tests/test_backends.py::test_cell_and_layer_tests_pass_on_jax"
JAX_FILES = ("tests/test_cells.py", "tests/test_layers.py")
_JAX_RUN = pytest.StashKey()


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def pytest_report_header(config):
    return f"keras backend: {keras.backend.backend()}"


def pytest_collection_modifyitems(session, config, items):
    """Orders the JAX check last and starts its process now, so it runs beside the rest."""
    jax_items = [item for item in items if item.nodeid == JAX_TEST]
    if not jax_items or keras.backend.backend() == "jax":
        return
    items[:] = [item for item in items if item.nodeid != JAX_TEST] + jax_items
    output = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # no pipe to fill up
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *JAX_FILES],
        cwd=ROOT, env={**os.environ, "KERAS_BACKEND": "jax"},
        stdout=output, stderr=subprocess.STDOUT, text=True)
    config.stash[_JAX_RUN] = (process, output)


def pytest_unconfigure(config):
    process, output = config.stash.get(_JAX_RUN, (None, None))
    if process is not None:
        if process.poll() is None:  # the session ended early
            process.kill()
            process.wait()
        output.close()



@pytest.fixture
def jax_run(request):
    """A function that waits for the JAX pytest process started at collection (see
    `pytest_collection_modifyitems`) and returns ``(exit code, its output)``."""
    process, output = request.config.stash.get(_JAX_RUN, (None, None))
    if process is None:
        pytest.skip("the JAX run was not started (this session is the JAX run)")

    def wait(timeout):
        code = process.wait(timeout=timeout)
        output.seek(0)
        return code, output.read()

    return wait
