"""Packaging: every package folder is listed in setup.cfg, so installs are complete."""

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_setup_cfg_lists_every_package():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("seqtasks/**/__init__.py")
    } | {"seqtasks.recipes"}
    assert listed == on_disk
    assert (ROOT / "recipes" / "__init__.py").is_file()
