"""Readers for the file formats of the sequence tasks.

Every reader returns plain Python structures (or a pandas DataFrame for labelled text)
and raises `DataError` naming the file and the 1-based line of the first bad input.

Example:

>>> pairs = read_parallel("val.en", "val.de")
>>> len(pairs), pairs[0][0]
(1014, 'A group of men are loading cotton onto a truck')
"""

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from seqtasks.errors import ConfigError, DataError

CONLLU_FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
_SEPARATORS = {".tsv": "\t", ".csv": ","}


def _read_file(path):
    """The whole file as text; DataError if it is missing, empty or not UTF-8."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", path=path) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a file", path=path) from None
    if not data.strip():
        raise DataError("file is empty", path=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        message = f"not valid UTF-8 (byte 0x{data[err.start]:02x})"
        raise DataError(message, path=path, line=line, offset=err.start) from None
    return text.removeprefix("\ufeff")


def _read_lines(path):
    """The file's lines, split on "\\n" only, without line ends."""
    lines = _read_file(path).split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_text(path):
    """Reads a UTF-8 plain-text corpus.

    Example:

    >>> text = read_text("tinyshakespeare/input.txt")
    >>> text[:14]
    'First Citizen:'
    """
    return _read_file(path)


def read_labelled_text(
    path,
    text_column=("sentence", "text", "content"),
    label_column="label",
    sep=None,
    header=True,
):
    """Reads a CSV or TSV file of texts and labels.

    The result's index is the 1-based line of each row in the file (rows are assumed
    to be one line each), which `encode_labels` uses in its error messages.

    Args:
        path: the file.
        text_column: the text column's name, or a sequence of accepted names (the
            first one present is used); a 0-based position when `header=False`.
        label_column: the label column's name (or position when `header=False`).
        sep: the field separator; inferred from a `.tsv` or `.csv` extension by default.
            Tab-separated files are read without quote processing.
        header: whether the first line holds column names.

    Returns:
        A DataFrame with columns `text` (str) and `label`.

    Example:

    >>> df = read_labelled_text("sst2/dev.tsv")
    >>> list(df.columns), df.index[0]
    (['text', 'label'], 2)
    """
    if sep is None:
        sep = _SEPARATORS.get(Path(path).suffix.lower())
        if sep is None:
            raise ConfigError(f"cannot infer the separator of {path}; pass sep='\\t' or sep=','")
    candidates = [text_column] if isinstance(text_column, (str, int)) else list(text_column)
    first_line = 2 if header else 1
    try:
        df = pd.read_csv(
            io.StringIO(_read_file(path)),
            sep=sep,
            header=0 if header else None,
            dtype={name: str for name in candidates},
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL,
        )
    except pd.errors.ParserError as err:
        # pandas says e.g. "Error tokenizing data. C error: Expected 2 fields in line 3, saw 3".
        message = str(err).split("error: ")[-1].strip()
        line = re.search(r"line (\d+)", message)
        raise DataError(message, path=path, line=int(line.group(1)) if line else None) from None
    text_name = next((name for name in candidates if name in df.columns), None)
    if text_name is None or label_column not in df.columns:
        missing = candidates if text_name is None else [label_column]
        raise DataError(
            f"no column {' or '.join(map(repr, missing))}; the columns are {list(df.columns)}",
            path=path,
            line=1,
        )
    if df.empty:
        raise DataError("no rows after the header", path=path, line=2)
    df = df[[text_name, label_column]].set_axis(["text", "label"], axis=1)
    df.index = pd.RangeIndex(first_line, first_line + len(df), name="line")
    for column in ("text", "label"):
        empty = df.index[df[column].isna() | (df[column].astype(str).str.strip() == "")]
        if len(empty):
            raise DataError(f"empty {column}", path=path, line=int(empty[0]))
    return df


def encode_labels(labels, classes=None, path=None):
    """Maps label values to integer ids.

    Args:
        labels: the label values; a Series from `read_labelled_text` lets errors name
            the line.
        classes: the known label values (say, from the training split), in id order.
            By default, the sorted distinct values of `labels`.
        path: the file the labels came from, for error messages.

    Returns:
        `(ids, classes)`: an int32 numpy array and the list of label values.

    Example:

    >>> ids, classes = encode_labels(["pos", "neg", "pos"])
    >>> ids.tolist(), classes
    ([1, 0, 1], ['neg', 'pos'])
    >>> encode_labels(["neg"], classes=classes)[0].tolist()
    [0]
    """
    classes = pd.Index(labels).unique().sort_values() if classes is None else pd.Index(classes)
    ids = classes.get_indexer(labels)
    unknown = np.flatnonzero(ids < 0)
    if len(unknown):
        position = unknown[0]
        value = pd.Series(labels).tolist()[position]
        if isinstance(labels, pd.Series):
            line, item = int(labels.index[position]), ""
        else:
            line, item = None, f" (item {position + 1})"
        raise DataError(
            f"unknown label {value!r}{item}; known labels are {classes.tolist()}",
            path=path,
            line=line,
        )
    return ids.astype("int32"), classes.tolist()


def read_conll(path, token_column=0, tag_column=-1):
    """Reads a CoNLL file: whitespace-separated columns, a blank line between sentences.

    Every non-blank line must have as many columns as the file's first one. Lines
    starting with `-DOCSTART-` are skipped.

    Args:
        path: the file.
        token_column: the token's 0-based column.
        tag_column: the tag's 0-based column; negative counts from the end.

    Returns:
        A list of `(tokens, tags)` pairs, one per sentence.

    Example:

    >>> tokens, tags = read_conll("conll2000_chunking/train.txt")[0]
    >>> tokens[:3], tags[:3]
    (['Confidence', 'in', 'the'], ['B-NP', 'B-PP', 'B-NP'])
    """
    width = None

    def parse_line(line_number, line):
        nonlocal width
        if line.startswith("-DOCSTART-"):
            return None
        fields = line.split()
        if width is None:
            width = len(fields)
            columns = range(width)
            try:
                distinct = columns[token_column] != columns[tag_column]
            except IndexError:
                distinct = False
            if not distinct:
                raise DataError(
                    f"found {width} column(s), too few for token_column={token_column} "
                    f"and tag_column={tag_column}",
                    path=path,
                    line=line_number,
                )
        if len(fields) != width:
            raise DataError(
                f"found {len(fields)} columns, expected {width} as on the first line",
                path=path,
                line=line_number,
            )
        return fields[token_column], fields[tag_column]

    return _read_sentences(path, parse_line)


def read_conllu(path, tag_column="upos"):
    """Reads a CoNLL-U file (Universal Dependencies) as tagged sentences.

    Comments, multiword-token ranges (`1-2`) and empty nodes (`8.1`) are skipped, so
    the tokens are the syntactic words.

    Args:
        path: the file.
        tag_column: the tag field: a name from `CONLLU_FIELDS` such as `"upos"` or
            `"xpos"`, or a 0-based index.

    Returns:
        A list of `(tokens, tags)` pairs, one per sentence.

    Example:

    >>> tokens, tags = read_conllu("en_lines-ud-dev.conllu")[0]
    >>> tokens[:3], tags[:3]
    (['When', 'a', 'user'], ['SCONJ', 'DET', 'NOUN'])
    """
    if isinstance(tag_column, str):
        if tag_column not in CONLLU_FIELDS:
            raise ConfigError(
                f"tag_column={tag_column!r} is not a CoNLL-U field; expected one of {CONLLU_FIELDS}"
            )
        tag_column = CONLLU_FIELDS.index(tag_column)

    def parse_line(line_number, line):
        if line.startswith("#"):
            return None
        fields = line.split("\t")
        if len(fields) != len(CONLLU_FIELDS):
            raise DataError(
                f"found {len(fields)} tab-separated fields, CoNLL-U needs {len(CONLLU_FIELDS)}",
                path=path,
                line=line_number,
            )
        if "-" in fields[0] or "." in fields[0]:
            return None
        return fields[1], fields[tag_column]

    return _read_sentences(path, parse_line)


def _read_sentences(path, parse_line):
    """Groups the `(token, tag)` pairs of `parse_line(line_number, line)` into sentences.

    Blank lines end sentences; lines for which `parse_line` returns None are ignored.
    """
    sentences, tokens, tags = [], [], []
    # The extra blank line ends the last sentence.
    for line_number, line in enumerate(_read_lines(path) + [""], start=1):
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
                tokens, tags = [], []
            continue
        pair = parse_line(line_number, line)
        if pair is not None:
            tokens.append(pair[0])
            tags.append(pair[1])
    if not sentences:
        raise DataError("no sentences found", path=path)
    return sentences


def read_tagged(path, **options):
    """Reads tagged sentences, with `read_conllu` for `.conllu` files, else `read_conll`.

    Example:

    >>> sentences = read_tagged("en_lines-ud-dev.conllu", tag_column="xpos")
    """
    reader = read_conllu if Path(path).suffix.lower() == ".conllu" else read_conll
    return reader(path, **options)


def read_parallel(source, target=None, sep="\t"):
    """Reads sentence pairs for translation.

    Args:
        source: a file of `source<sep>target` lines, or, with `target`, the file of
            source sentences, one per line.
        target: the file of target sentences, line-aligned with `source`.
        sep: the separator of a one-file corpus.

    Returns:
        A list of `(source, target)` string pairs.

    Example:

    >>> read_parallel("val.en", "val.de")[0][1]
    'Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen'
    """
    if target is not None:
        sources, targets = _read_lines(source), _read_lines(target)
        if len(sources) != len(targets):
            raise DataError(
                f"the files are not line-aligned: {source} has {len(sources)} lines, "
                f"{target} has {len(targets)} lines"
            )
        return list(zip(sources, targets, strict=True))
    pairs = []
    for line_number, line in enumerate(_read_lines(source), start=1):
        fields = line.split(sep)
        if len(fields) != 2:
            raise DataError(
                f"found {len(fields)} fields, expected 2 (source{sep!r}target)",
                path=source,
                line=line_number,
            )
        pairs.append((fields[0], fields[1]))
    return pairs
