"""Test set-up: deterministic seeds, and the Keras backend in the report header."""

import keras
import pytest


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def pytest_report_header(config):
    return f"keras backend: {keras.backend.backend()}"
