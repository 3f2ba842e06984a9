"""Readers for the file formats of the sequence tasks: strict and exact.

Every reader returns plain Python structures (or a pandas DataFrame for labelled text)
and raises a one-line `DataError` naming the file and the 1-based line of the first bad
input, before any training starts:

- the file must exist and be non-empty UTF-8; a leading byte-order mark is dropped;
- no control characters: NUL and the other C0 and C1 controls, DEL, and a byte-order
  mark past the start of the file (two files joined?). Tab, line feed and carriage
  return are whitespace; in the line-based formats (all but plain text) a line ends in
  LF or CRLF, and a carriage return anywhere else is refused;
- no empty field a task learns from: a text, label, source, target, form or tag that is
  empty or blank is an error, never a silently dropped or empty example.

Spreadsheet exports work: CSV fields in double quotes may hold commas, quotes ("") and
line breaks, and each row is located at the line it starts on.

Example:

>>> pairs = read_parallel("val.en", "val.de")  # doctest: +SKIP
>>> len(pairs), pairs[0][0]  # doctest: +SKIP
(1014, 'A group of men are loading cotton onto a truck')
"""

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from seqtasks.data.splits import find_splits
from seqtasks.errors import ConfigError, DataError

CONLLU_FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
_SEPARATORS = {".tsv": "\t", ".csv": ","}
# C0 controls but tab, LF and CR; DEL and the C1 controls; a byte-order mark.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff]")
_LONE_CR = re.compile(r"\r(?!\n)")


def _line_of(text, position):
    """The 1-based line of character `position` of `text`."""
    return text.count("\n", 0, position) + 1


def _control_name(character):
    """How an error names a forbidden character, e.g. "a NUL byte (U+0000)"."""
    code = f"U+{ord(character):04X}"
    if character == "\x00":
        return f"a NUL byte ({code})"
    if character == "\ufeff":
        return f"a byte-order mark ({code}) past the start of the file (files joined?)"
    return f"control character {code}"


def _read_file(path):
    """The whole file as text: a DataError if it is missing, empty, not UTF-8 or holds a
    control character (see the module docstring); a leading byte-order mark is dropped."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", path=path) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a file", path=path) from None
    if not data.strip():
        raise DataError("file is empty", path=path)
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        message = f"not valid UTF-8 (byte 0x{data[err.start]:02x})"
        raise DataError(message, path=path, line=line, offset=err.start) from None
    found = _CONTROL.search(text)
    if found:
        raise DataError(f"{_control_name(found.group())} in the text", path=path,
                        line=_line_of(text, found.start()))
    return text


def _read_line_based(path):
    """`_read_file`'s text, whose lines must end in LF or CRLF (no lone carriage return)."""
    text = _read_file(path)
    found = _LONE_CR.search(text)
    if found:
        raise DataError("a carriage return inside a line (lines must end in LF or CRLF)",
                        path=path, line=_line_of(text, found.start()))
    return text


def _read_lines(path):
    """The file's lines without their LF or CRLF ends (see `_read_line_based`)."""
    lines = _read_line_based(path).split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _require(value, name, path, line):
    """`value`, or a DataError ("empty NAME") when it is empty or blank."""
    if not value.strip():
        raise DataError(f"empty {name}", path=path, line=line)
    return value


def read_text(path):
    """Reads a UTF-8 plain-text corpus.

    Example:

    >>> text = read_text("tinyshakespeare/input.txt")  # doctest: +SKIP
    >>> text[:14]  # doctest: +SKIP
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

    The result's index is the 1-based line each row starts on (a quoted CSV field may
    span lines), which `encode_labels` uses in its error messages. Every row must have
    as many fields as the header (or the first row), and a non-blank text and label.

    Args:
        path: the file.
        text_column: the text column's name, or a sequence of accepted names (the
            first one present is used); a 0-based position when `header=False`.
        label_column: the label column's name (or position when `header=False`).
        sep: the field separator; inferred from a `.tsv` or `.csv` extension by default.
            Tab-separated files are read without quote processing.
        header: whether the first line holds column names.

    Returns:
        A DataFrame with columns `text` (str) and `label` (numbers when every label is
        one, else str).

    Example:

    >>> df = read_labelled_text("sst2/dev.tsv")  # doctest: +SKIP
    >>> list(df.columns), df.index[0]  # doctest: +SKIP
    (['text', 'label'], 2)
    """
    if sep is None:
        sep = _SEPARATORS.get(Path(path).suffix.lower())
        if sep is None:
            raise ConfigError(f"cannot infer the separator of {path}; pass sep='\\t' or sep=','")
    rows = _delimited_rows(path, sep)
    if header:
        names, rows = rows[0][1], rows[1:]
    else:
        names = list(range(len(rows[0][1])))
    candidates = [text_column] if isinstance(text_column, (str, int)) else list(text_column)
    text_at = next((names.index(name) for name in candidates if name in names), None)
    if text_at is None or label_column not in names:
        missing = candidates if text_at is None else [label_column]
        raise DataError(
            f"no column {' or '.join(map(repr, missing))}; the columns are {names}",
            path=path,
            line=1,
        )
    if not rows:
        raise DataError("no rows after the header", path=path, line=2)
    label_at, texts, labels = names.index(label_column), [], []
    for line, fields in rows:
        if len(fields) != len(names):
            found = (f"{len(fields)} field{'s' * (len(fields) > 1)}" if fields
                     else "a blank line")
            where = "the header" if header else "the first row"
            raise DataError(f"found {found}, expected {len(names)} fields as in {where}",
                            path=path, line=line)
        texts.append(_require(fields[text_at], "text", path, line))
        labels.append(_require(fields[label_at], "label", path, line))
    lines = pd.Index([line for line, _ in rows], name="line")
    return pd.DataFrame({"text": texts, "label": _numbers_if_all_are(labels)}, index=lines)


def _delimited_rows(path, sep):
    """``[(line the row starts on, fields)]`` of a CSV (quoted fields) or TSV (no quoting)
    file; a blank line is a row of no fields."""
    reader = csv.reader(io.StringIO(_read_line_based(path), newline=""), delimiter=sep,
                        quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL,
                        strict=True)
    rows, line = [], 1
    try:
        for fields in reader:
            rows.append((line, fields))
            line = reader.line_num + 1
    except csv.Error as err:
        raise DataError(f"cannot split the row into fields: {err}", path=path,
                        line=line) from None
    return rows


def _numbers_if_all_are(values):
    """`values` as an array of numbers when every one parses as a number, else of str."""
    try:
        return pd.to_numeric(pd.Series(values)).to_numpy()
    except (ValueError, TypeError):
        return np.array(values, dtype=object)


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

    >>> tokens, tags = read_conll("conll2000_chunking/train.txt")[0]  # doctest: +SKIP
    >>> tokens[:3], tags[:3]  # doctest: +SKIP
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

    >>> tokens, tags = read_conllu("en_lines-ud-dev.conllu")[0]  # doctest: +SKIP
    >>> tokens[:3], tags[:3]  # doctest: +SKIP
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
        return (_require(fields[1], "form", path, line_number),
                _require(fields[tag_column], CONLLU_FIELDS[tag_column], path, line_number))

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

    >>> sentences = read_tagged("en_lines-ud-dev.conllu", tag_column="xpos")  # doctest: +SKIP
    """
    reader = read_conllu if Path(path).suffix.lower() == ".conllu" else read_conll
    return reader(path, **options)


def read_parallel(source, target=None, sep="\t"):
    """Reads sentence pairs for translation; no source or target may be empty or blank.

    Args:
        source: a file of `source<sep>target` lines, or, with `target`, the file of
            source sentences, one per line.
        target: the file of target sentences, line-aligned with `source`.
        sep: the separator of a one-file corpus.

    Returns:
        A list of `(source, target)` string pairs.

    Example:

    >>> read_parallel("val.en", "val.de")[0][1]  # doctest: +SKIP
    'Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen'
    """
    if target is not None:
        sources, targets = _read_lines(source), _read_lines(target)
        if len(sources) != len(targets):
            raise DataError(
                f"the files are not line-aligned: {source} has {len(sources)} lines, "
                f"{target} has {len(targets)} lines"
            )
        return [(_require(s, "source", source, line), _require(t, "target", target, line))
                for line, (s, t) in enumerate(zip(sources, targets), start=1)]
    pairs = []
    for line_number, line in enumerate(_read_lines(source), start=1):
        fields = line.split(sep)
        if len(fields) != 2:
            raise DataError(
                f"found {len(fields)} fields, expected 2 (source{sep!r}target)",
                path=source,
                line=line_number,
            )
        pairs.append((_require(fields[0], "source", source, line_number),
                      _require(fields[1], "target", source, line_number)))
    return pairs


def read_parallel_splits(folder, source_lang=None, target_lang=None):
    """Reads the train/valid/test sentence pairs of a folder (`read_parallel` each).

    Either TSV files of ``source<TAB>target`` lines (``train.tsv``, ``valid.tsv``, ...),
    or, with both languages given, line-aligned ``NAME.SRC``/``NAME.TGT`` files like
    Multi30k's ``train.en``/``train.de``, ``val.*``, ``test_2016_flickr.*`` (the first
    test file in name order is used). A missing valid or test split maps to None.

    Example:

    >>> splits = read_parallel_splits("multi30k", "en", "de")  # doctest: +SKIP
    >>> [len(splits[split]) for split in ("train", "valid", "test")]  # doctest: +SKIP
    [29000, 1014, 1000]
    """
    if (source_lang is None) != (target_lang is None):
        raise ConfigError("give both source and target languages (--source-lang and "
                          "--target-lang), or neither for TSV files")
    if source_lang is None:
        paths = find_splits(folder, (".tsv",))
        return {split: path and read_parallel(path) for split, path in paths.items()}
    pairs = {}
    for split, path in find_splits(folder, (f".{source_lang}",)).items():
        target = path and path.with_suffix(f".{target_lang}")
        if target and not target.is_file():
            raise DataError(f"no line-aligned target file {target.name} for it", path=path)
        pairs[split] = path and read_parallel(path, target)
    return pairs
