"""Where the embedded default datasets live.

A checkout of the repository has them in its `data/` folder. A plain (non-editable)
install has no such folder, so the files are generated once, by
`seqtasks.data.synthetic.write_embedded`, into a cache folder: `$SEQTASKS_CACHE/data-<version>`,
or `~/.cache/seqtasks/data-<version>` when `SEQTASKS_CACHE` is not set.

Example:

>>> path = embedded_path("dates", "train")
>>> path.name
'train.tsv'
>>> path.read_text(encoding="utf-8").splitlines()[0].count("\\t")  # source<TAB>target
1
"""

import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from seqtasks.errors import ConfigError
from seqtasks.data.synthetic import FILE_SUFFIXES, SPLITS, write_embedded

REPOSITORY_DATA = Path(__file__).resolve().parents[2] / "data"


def embedded_path(name, split):
    """Returns the path of one embedded file, generating the files first if need be.

    Args:
        name: "sentiment", "tagging" or "dates".
        split: "train", "valid" or "test".

    Raises:
        ConfigError: for an unknown name or split.
    """
    if name not in FILE_SUFFIXES:
        choices = sorted(FILE_SUFFIXES)
        raise ConfigError(f"dataset {name!r} is not embedded; choose one of {choices}")
    if split not in SPLITS:
        raise ConfigError(f"split {split!r} is unknown; choose one of {list(SPLITS)}")
    relative = Path(name) / f"{split}{FILE_SUFFIXES[name]}"
    if (REPOSITORY_DATA / relative).is_file():
        return REPOSITORY_DATA / relative
    return _generated_folder() / relative


def cache_folder():
    """The folder the embedded files are generated into when `data/` is absent."""
    root = os.environ.get("SEQTASKS_CACHE") or Path.home() / ".cache" / "seqtasks"
    return Path(root) / f"data-{_version()}"


def _version():
    try:
        return metadata.version("seqtasks")
    except metadata.PackageNotFoundError:
        return "unknown"


def _generated_folder():
    """Generates the files into `cache_folder()` unless they are there already.

    They are written to a temporary folder beside it and renamed into place, so that a
    crash or a concurrent run never leaves a half-written cache.
    """
    folder = cache_folder()
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        write_embedded(temporary)
        temporary.rename(folder)
    except OSError:
        if not folder.is_dir():  # not another process winning the race: a real failure
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return folder
