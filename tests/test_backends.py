"""The cell and layer tests, run again on the JAX backend (Keras picks a backend per process)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="this run already is the JAX run")
def test_cell_and_layer_tests_pass_on_jax():
    import jax  # noqa: F401  (a test dependency: fail loudly if it is missing)

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         "tests/test_cells.py", "tests/test_layers.py"],
        cwd=ROOT,
        env={**os.environ, "KERAS_BACKEND": "jax"},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    tail = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert "keras backend: jax" in result.stdout, tail
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 90, tail
