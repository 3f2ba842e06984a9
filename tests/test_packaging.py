"""Packaging and layering: complete installs, and imports that flow one way only."""

import ast
import configparser
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from seqtasks.tasks.config import TaskConfig

ROOT = Path(__file__).resolve().parents[1]
# Lower layers never import upper ones (see ../shared/DESIGN.md).
LOWER = ("seqtasks/cells", "seqtasks/layers", "seqtasks/data", "seqtasks/decoding",
         "seqtasks/analysis", "seqtasks/models")
UPPER = ("seqtasks.models", "seqtasks.tasks", "seqtasks.tuning", "seqtasks.cli", "recipes")


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_setup_cfg_lists_every_package():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in ROOT.glob("seqtasks/**/__init__.py")}
    assert listed == on_disk
    assert "seqtasks.recipes" not in (ROOT / "setup.cfg").read_text()


@pytest.mark.parametrize("folder", LOWER)
def test_lower_layers_do_not_import_upper_ones(folder):
    allowed = {"seqtasks/models": ("seqtasks.models",)}.get(folder, ())
    for path in (ROOT / folder).rglob("*.py"):
        for module in imported_modules(path):
            upper = [u for u in UPPER if module == u or module.startswith(u + ".")]
            assert not [u for u in upper if u not in allowed], f"{path}: imports {module}"


def test_the_library_never_imports_the_recipes():
    for path in (ROOT / "seqtasks").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"import_module\(.*recipe|seqtasks\.recipes", text), path
        assert not [m for m in imported_modules(path) if m.startswith("recipes")], path


def test_private_keras_imports_live_in_one_shim_module():
    users = {path.relative_to(ROOT).as_posix() for path in (ROOT / "seqtasks").rglob("*.py")
             if any(m.startswith(("keras.src", "keras_tuner.src"))
                    for m in imported_modules(path))}
    assert users <= {"seqtasks/compat.py"}, users


def test_the_data_help_points_to_a_formats_document_in_the_package():
    help_text = TaskConfig.__dataclass_fields__["data"].metadata["help"]
    assert "seqtasks/data/FORMATS.md" in help_text
    assert (ROOT / "seqtasks" / "data" / "FORMATS.md").is_file()


@pytest.mark.e2e
def test_wheel_and_sdist_carry_the_formats_document(tmp_path):
    for kind in ("wheel", "sdist"):
        build = f"from setuptools import build_meta; build_meta.build_{kind}({str(tmp_path)!r})"
        subprocess.run([sys.executable, "-c", build], cwd=ROOT, check=True,
                       capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("*.whl")
    [sdist] = tmp_path.glob("*.tar.gz")
    assert "seqtasks/data/FORMATS.md" in zipfile.ZipFile(wheel).namelist()
    assert any(name.endswith("seqtasks/data/FORMATS.md")
               for name in tarfile.open(sdist).getnames())
