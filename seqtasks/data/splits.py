"""Finding the train/valid/test files of a dataset folder given with ``--data``.

Names are matched loosely, so the layouts of the embedded data (``train.csv``,
``valid.csv``, ``test.csv``), SST-2 (``train.tsv``, ``dev.tsv``, ``test.tsv``) and UD
(``en_lines-ud-train.conllu``, ``...-dev...``, ``...-test...``) all work.

Example:

>>> find_splits("data/sentiment", (".csv", ".tsv"))  # doctest: +SKIP
{'train': PosixPath('data/sentiment/train.csv'), 'valid': ..., 'test': ...}
"""

from pathlib import Path

from seqtasks.errors import DataError

SPLIT_NAMES = {"train": ("train",), "valid": ("valid", "dev", "val"), "test": ("test",)}


def _matches(path, words):
    stem = path.name.lower()
    return any(word in stem for word in words)


def find_splits(folder, suffixes):
    """Maps 'train', 'valid', 'test' to files in `folder` with one of `suffixes`.

    'train' is required; a missing 'valid' or 'test' maps to None (the caller holds
    out part of train). When several files match a split, the first in name order wins.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("not a folder (--data takes a folder of split files)", path=folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    found = {}
    for split, words in SPLIT_NAMES.items():
        found[split] = next((p for p in files if _matches(p, words)), None)
    if found["train"] is None:
        names = ", ".join(p.name for p in files) or "none"
        raise DataError(
            f"no training file (a name containing 'train' ending in {'/'.join(suffixes)}); "
            f"files there: {names}",
            path=folder,
        )
    return found
