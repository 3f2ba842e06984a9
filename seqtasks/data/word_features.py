"""The spelling and context features of a word in its sentence, hashed into ids.

The features of a classical feature-based tagger (a linear-chain CRF over word shapes):
the word lower-cased, its 1-3 letter prefixes and suffixes, its shape, case, digits and
hyphen, and the lower-cased words at -2, -1, +1 and +2 (`word_features`). `feature_ids`
hashes each into one of `buckets` ids (0 is kept for "no such feature": a flag that is
false, a prefix longer than the word), a fixed number of slots a word, so a sentence's
features are one int32 array (`SLOTS` per word) that a `FeatureScores` layer reads.

Example:

>>> word_features(["The", "cat"], 0)["suffix2"], shape("McDonald's-2")
('he', "XxXx'x-d")
>>> feature_ids(["The", "cat"], buckets=1000).shape
(2, 19)
"""

import itertools
import zlib

import numpy as np

FLAGS = ("upper", "title", "has_upper", "digit", "all_digits", "hyphen")
OFFSETS = (-2, -1, 1, 2)
# Every feature name a word can have, each with its slot in `feature_ids`.
NAMES = ("bias", "word", "shape", *(f"{part}{n}" for n in (1, 2, 3)
                                   for part in ("prefix", "suffix")),
         *FLAGS, *(f"word{offset:+d}" for offset in OFFSETS))
SLOTS = len(NAMES)
SLOT = {name: k for k, name in enumerate(NAMES)}


def shape(word):
    """The word's characters as X (upper case), x (lower case), d (digit) or themselves,
    runs of one kind shortened to one: ``shape("McDonald's-2")`` is ``"XxXx'x-d"``."""
    kinds = ("X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c
             for c in word)
    return "".join(kind for kind, _ in itertools.groupby(kinds))


def word_features(tokens, i):
    """The features of ``tokens[i]``: a dict of strings (one feature each) and booleans
    (true ones only)."""
    word = tokens[i]
    lower = word.lower()
    features = {"bias": True, "word": lower, "shape": shape(word)}
    for n in (1, 2, 3):
        if len(lower) >= n:
            features[f"prefix{n}"] = lower[:n]
            features[f"suffix{n}"] = lower[-n:]
    flags = {"upper": word.isupper(), "title": word.istitle(),
             "has_upper": any(c.isupper() for c in word),
             "digit": any(c.isdigit() for c in word), "all_digits": word.isdigit(),
             "hyphen": "-" in word}
    features.update((name, True) for name, value in flags.items() if value)
    for offset in OFFSETS:
        j = i + offset
        inside = 0 <= j < len(tokens)
        features[f"word{offset:+d}"] = tokens[j].lower() if inside else (
            "<s>" if j < 0 else "</s>")
    return features


def feature_id(name, value, buckets):
    """The id in [1, buckets) of feature `name` with `value` (a stable hash: CRC-32)."""
    return zlib.crc32(f"{name}={value}".encode("utf-8")) % (buckets - 1) + 1


def feature_ids(tokens, buckets):
    """``(len(tokens), SLOTS)`` int32: each word's features hashed (`feature_id`), in the
    slots of `NAMES`; 0 where the word lacks a feature.

    >>> ids = feature_ids(["A"], buckets=64)
    >>> int(ids[0, NAMES.index("prefix2")]), int(ids[0, NAMES.index("upper")]) > 0
    (0, True)
    """
    ids = np.zeros((len(tokens), SLOTS), dtype="int32")
    for i in range(len(tokens)):
        for name, value in word_features(tokens, i).items():
            ids[i, SLOT[name]] = feature_id(name, value, buckets)
    return ids
