"""The recipe scripts' `main` functions, loaded from ``recipes/NAME.py`` into the test
process (no new interpreter, no second TensorFlow import)."""

import importlib.util
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def recipe_main(name):
    """``main`` of ``recipes/NAME.py``, as the script runs it."""
    spec = importlib.util.spec_from_file_location(f"{name}_recipe", RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main
