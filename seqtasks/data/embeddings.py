"""Pretrained word vectors (GloVe, word2vec, fastText text files) for a vocabulary's words.

`load_embeddings` streams a vectors file and keeps only the rows of a `Vocabulary`'s
words (the files run to gigabytes; nothing else is held in memory), then
`initialise_embedding` copies those rows into a built `keras.layers.Embedding`; the other
rows keep their random initialisation. `use_pretrained` does both and prints
`coverage_line`.

The format: one word and its numbers per line, separated by single spaces (a trailing
space is fine), UTF-8 (a leading byte-order mark is dropped), gzip-compressed when the
name ends in ``.gz``. word2vec's optional header line ``COUNT DIM`` (two whole numbers)
is recognised on the first line and skipped; DIM is then the length every vector must
have, else the first vector's length is. Blank lines are skipped.

Matching: a word of the vocabulary takes the file's row of the same word (the first one,
where a word has several), else the row of its lower-cased form ("Berlin" takes
"berlin" when the file has no "Berlin"); an exact row always beats a lower-cased one.
Reserved tokens (``<pad>``, ``<unk>``, ...) never take a row. A word that holds spaces
(GloVe 840B has a few) is read as the fields before the last DIM; it matches no token.

Checks: a `DataError` naming the file and the 1-based line for a vector of another
length than the first (or the header's DIM), a word without numbers, a field that is
not a finite number, bad UTF-8 or a damaged gzip stream; a missing file or one with no
vectors is a `DataError` naming the file. Only the rows that are kept (and the first,
which sets the length) have their numbers parsed: the others are counted, not read,
which keeps a GB file to seconds.

Example:

>>> vectors = load_embeddings("glove.6B.100d.txt", vocab)  # doctest: +SKIP
>>> coverage_line(vectors)  # doctest: +SKIP
'embeddings glove.6B.100d.txt: 8,123 of 9,000 vocabulary words (90.3%) found, dimension 100'
>>> initialise_embedding(model.get_layer("embedding"), vectors)  # doctest: +SKIP
"""

import collections
import dataclasses
import functools
import gzip
import zlib
from pathlib import Path

import numpy as np

from seqtasks.errors import ConfigError, DataError

EXACT, LOWERCASE = 2, 1  # how a vocabulary word found its row (0: not found)
FLOAT32_MAX = float(np.finfo("float32").max)


@dataclasses.dataclass(frozen=True)
class WordVectors:
    """The rows of a vectors file for a vocabulary (what `load_embeddings` returns).

    Attributes:
        path: the vectors file.
        matrix: float32 (vocabulary size, dim), read-only; row i is the vector of word
            id i, zeros where none was found.
        found: bool (vocabulary size,): which ids took a row.
        lowercased: how many of them took the row of their lower-cased form.
        dim: the length of the vectors.
        words: the vocabulary's words that could take a row (all but the reserved ones).
        rows: the vectors in the file.
        lines: the lines read (header and blank lines included).
    """

    path: Path
    matrix: np.ndarray = dataclasses.field(repr=False)
    found: np.ndarray = dataclasses.field(repr=False)
    lowercased: int
    dim: int
    words: int
    rows: int
    lines: int

    @property
    def found_count(self):
        """How many vocabulary words took a row."""
        return int(self.found.sum())

    @property
    def coverage(self):
        """The fraction of the vocabulary's `words` that took a row (0 with no words)."""
        return self.found_count / self.words if self.words else 0.0


def load_embeddings(path, vocabulary):
    """The `WordVectors` of `vocabulary`'s words in the vectors file `path` (see the module
    docstring for the format, matching and checks).

    The result is cached while the file is unchanged (same size and modification time),
    so building a model again (a search's trials, `evaluate`'s figures) reads it once.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataError("file not found", path=path) from None
    return _load_cached(path.resolve(), stat.st_size, stat.st_mtime_ns,
                        tuple(vocabulary.tokens), tuple(vocabulary.reserved), path)


@functools.lru_cache(maxsize=4)
def _load_cached(resolved, size, mtime_ns, tokens, reserved, path):
    """`_read_vectors` of the file `resolved` (the other arguments key the cache)."""
    return _read_vectors(path, tokens, reserved)


def _read_vectors(path, tokens, reserved):
    """`WordVectors` of the vocabulary `tokens` (less `reserved`) in the file `path`."""
    exact_ids = {token: i for i, token in enumerate(tokens) if token not in reserved}
    lowercase_ids = collections.defaultdict(list)
    for token, i in exact_ids.items():
        if token.lower() != token:
            lowercase_ids[token.lower()].append(i)
    how_found = np.zeros(len(tokens), dtype="int8")
    matrix, dim, expected, rows, lines = None, None, None, 0, 0
    for lines, text in _numbered_lines(path):
        text = text.rstrip()
        if not text:
            continue
        if expected is None:  # the first line: a header?
            dim = _header_dim(text, path, lines)
            if dim is not None:
                expected = f"as the header (line {lines}) says"
                continue
        word, numbers = _split_row(text, dim, expected, path, lines)
        if dim is None:  # the first vector sets the length, and is parsed in full
            dim, expected = _parse_numbers(numbers, path, lines).size, f"as on line {lines}"
        if matrix is None:
            matrix = np.zeros((len(tokens), dim), dtype="float32")
        rows += 1
        ids = [(exact_ids[word], EXACT)] if word in exact_ids else []
        ids += [(i, LOWERCASE) for i in lowercase_ids.get(word, ())]
        ids = [(i, how) for i, how in ids if how_found[i] < how]
        if ids:
            vector = _parse_numbers(numbers, path, lines)
            for i, how in ids:
                matrix[i], how_found[i] = vector, how
    if not rows:
        raise DataError("no word vectors in the file", path=path)
    found = how_found > 0
    matrix.setflags(write=False)
    found.setflags(write=False)
    return WordVectors(path=path, matrix=matrix, found=found,
                       lowercased=int((how_found == LOWERCASE).sum()), dim=dim,
                       words=len(exact_ids), rows=rows, lines=lines)


def _numbered_lines(path):
    """``(1-based line number, text)`` of each line of `path` (gunzipped if it ends in
    ``.gz``); a DataError for a missing or unreadable file, bad UTF-8 or bad gzip data."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    number = 0
    try:
        with opener(path, "rb") as file:
            for number, raw in enumerate(file, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise DataError(f"not valid UTF-8 (byte 0x{raw[err.start]:02x})",
                                    path=path, line=number) from None
                yield number, text.removeprefix("\ufeff") if number == 1 else text
    except FileNotFoundError:
        raise DataError("file not found", path=path) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a file", path=path) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise DataError(f"damaged gzip data ({err})", path=path, line=number + 1) from None
    except OSError as err:
        raise DataError(f"cannot read the file ({err.strerror or err})", path=path) from None


def _header_dim(text, path, line):
    """The DIM of a word2vec header line ``COUNT DIM``, or None if `text` is not one."""
    fields = text.split(" ")
    if len(fields) != 2 or not all(field.isascii() and field.isdigit() for field in fields):
        return None
    if int(fields[1]) == 0:
        raise DataError(f"the header {text!r} gives vectors of length 0", path=path,
                        line=line)
    return int(fields[1])


def _split_row(text, dim, expected, path, line):
    """``(word, numbers text)`` of a vector line of `dim` numbers (any count when `dim` is
    None); a word with spaces is the fields before the last `dim`. A DataError for a line
    without numbers or with another count of them (`expected` says why `dim`)."""
    count = text.count(" ")  # the fields after the word's first one
    if count == 0:
        raise DataError(f"the word {text!r} has no numbers (fields are separated by "
                        f"spaces)", path=path, line=line)
    if dim is None or count == dim:
        word, _, numbers = text.partition(" ")
        return word, numbers
    if count > dim:
        word = text.rsplit(" ", dim)[0]
        if not any(_is_number(field) for field in word.split(" ")[1:]):
            numbers = text[len(word) + 1:]
            _parse_numbers(numbers, path, line)  # a rare line: read it in full
            return word, numbers
    raise DataError(f"found {count} numbers, expected {dim} {expected}", path=path, line=line)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_numbers(numbers, path, line):
    """The float32 vector of a line's space-separated `numbers`; a DataError naming the
    first field that is not a finite number."""
    fields = numbers.split(" ")
    try:
        with np.errstate(over="ignore"):  # too large for float32: inf, refused below
            vector = np.array(fields, dtype="float64").astype("float32")
    except ValueError:
        vector = None
    if vector is None or not np.isfinite(vector).all():
        bad = next(field for field in fields
                   if not (_is_number(field) and abs(float(field)) <= FLOAT32_MAX))
        raise DataError(f"{bad!r} is not a finite number", path=path, line=line)
    return vector


def initialise_embedding(layer, vectors, setting="embedding_dim"):
    """Copies the rows `vectors` found into the built Embedding `layer`'s weights; the
    other rows (the padding's among them) keep their values.

    The matrix goes into the weights only, never into the layer's initializer or config
    (a saved model would hold it twice). A ConfigError if the layer's width or vocabulary
    size differs from the vectors'; it names the file and the value `setting` needs.
    """
    if layer.output_dim != vectors.dim:
        raise ConfigError(
            f"the vectors of {vectors.path} have dimension {vectors.dim}, but "
            f"{setting}={layer.output_dim}: set {setting}={vectors.dim} "
            f"(--{setting.replace('_', '-')} {vectors.dim})")
    if not layer.built or layer.input_dim != len(vectors.matrix):
        raise ConfigError(f"the embedding layer {layer.name!r} must be built with one row "
                          f"per word of the vocabulary ({len(vectors.matrix)})")
    weights = np.array(layer.embeddings.numpy())
    weights[vectors.found] = vectors.matrix[vectors.found]
    layer.embeddings.assign(weights)


def coverage_line(vectors, label="embeddings"):
    """One line on how much of the vocabulary `vectors` covers.

    Example (of a file with 8,123 of the 9,000 words):

    >>> coverage_line(vectors)  # doctest: +SKIP
    'embeddings glove.txt: 8,123 of 9,000 vocabulary words (90.3%) found, dimension 100'
    """
    lowercased = f", {vectors.lowercased:,} by their lower-case form" if vectors.lowercased else ""
    return (f"{label} {vectors.path.name}: {vectors.found_count:,} of {vectors.words:,} "
            f"vocabulary words ({vectors.coverage:.1%}) found{lowercased}, "
            f"dimension {vectors.dim}")


def coverage_metrics(path, vocabulary, label="embeddings"):
    """``{"LABEL_found": words, "LABEL_coverage": fraction}`` of `load_embeddings(path,
    vocabulary)` (spaces in `label` become underscores); ``{}`` when `path` is None."""
    if path is None:
        return {}
    vectors = load_embeddings(path, vocabulary)
    prefix = label.replace(" ", "_")
    return {f"{prefix}_found": vectors.found_count,
            f"{prefix}_coverage": round(vectors.coverage, 4)}


def use_pretrained(layer, path, vocabulary, verbose=0, label="embeddings",
                   setting="embedding_dim"):
    """`initialise_embedding(layer, load_embeddings(path, vocabulary))`, printing its
    `coverage_line` when `verbose`; returns the vectors. Does nothing (and returns None)
    when `path` is None, so a task can call it with its optional setting as it is.

    >>> use_pretrained(model.get_layer("embedding"), "glove.txt", vocab)  # doctest: +SKIP
    """
    if path is None:
        return None
    vectors = load_embeddings(path, vocabulary)
    initialise_embedding(layer, vectors, setting)
    if verbose:
        print(coverage_line(vectors, label))
    return vectors
