"""Finding the train/valid/test files of a ``--data`` folder, and holding out missing splits.

Names are matched loosely, so the layouts of the embedded data (``train.csv``,
``valid.csv``, ``test.csv``), SST-2 (``train.tsv``, ``dev.tsv``, ``test.tsv``) and UD
(``en_lines-ud-train.conllu``, ``...-dev...``, ``...-test...``) all work.

Example:

>>> find_splits("data/sentiment", (".csv", ".tsv"))  # doctest: +SKIP
{'train': PosixPath('data/sentiment/train.csv'), 'valid': ..., 'test': ...}
"""

from pathlib import Path

import numpy as np

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


def hold_out(splits, seed, fraction=0.1):
    """Fills a missing (None) 'valid' or 'test' split with a random part of 'train'.

    Each held-out split takes `fraction` of the training examples (at least one); what
    stays in 'train' keeps its order. Works on lists and on DataFrames (rows).

    Example:

    >>> parts = hold_out({"train": list(range(10)), "valid": None, "test": [10]}, seed=0)
    >>> len(parts["train"]), len(parts["valid"]), parts["test"]
    (9, 1, [10])
    """
    splits = dict(splits)
    train = splits["train"]
    missing = [split for split in ("valid", "test") if splits.get(split) is None]
    if not missing:
        return splits
    size = max(1, int(len(train) * fraction))
    if len(train) <= size * len(missing):
        raise DataError(f"{len(train)} training examples are too few to hold out "
                        f"{' and '.join(missing)} from them")
    order = np.random.default_rng(seed).permutation(len(train))
    take = train.iloc if hasattr(train, "iloc") else None

    def subset(indices):
        indices = sorted(indices)
        return take[indices] if take is not None else [train[k] for k in indices]

    for k, split in enumerate(missing):
        splits[split] = subset(order[k * size:(k + 1) * size])
    splits["train"] = subset(order[len(missing) * size:])
    return splits


def read_splits(data, dataset, suffixes, read, seed):
    """``({split: examples}, {split: path})`` of a ``--data`` folder, or of the embedded
    `dataset` when `data` is None: each split's file read with ``read(path)``, a missing
    valid or test split held out of train (its path is then the training file's).

    Example:

    >>> from seqtasks.data.trees import read_trees
    >>> trees, paths = read_splits(None, "trees", (".txt",), read_trees, seed=0)
    >>> len(trees["valid"]), paths["test"].name
    (500, 'test.txt')
    """
    from seqtasks.data.embedded import embedded_path

    if data is None:
        paths = {split: embedded_path(dataset, split) for split in SPLIT_NAMES}
    else:
        paths = find_splits(data, suffixes)
    examples = hold_out({split: read(path) if path else None for split, path in paths.items()},
                        seed)
    return examples, {split: paths[split] or paths["train"] for split in SPLIT_NAMES}
