"""The readers: every format read exactly, every malformed input one `DataError` line
naming its file and line."""

import dataclasses
from typing import Callable

import pandas as pd
import pytest

from seqtasks.data.readers import (
    encode_labels,
    read_conll,
    read_conllu,
    read_labelled_text,
    read_parallel,
    read_parallel_splits,
    read_tagged,
    read_text,
)
from seqtasks.errors import ConfigError, DataError


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def raises_at(path, line, match, call):
    """Asserts `call()` raises a DataError located at `path:line`, matching `match`."""
    with pytest.raises(DataError, match=match) as info:
        call()
    assert info.value.path == str(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}")
    return info.value


# Shared file checks, through each reader.

READERS = [read_text, read_labelled_text, read_conll, read_conllu, read_parallel]


@pytest.mark.parametrize("reader", READERS)
def test_missing_file(tmp_path, reader):
    path = tmp_path / "missing.tsv"
    with pytest.raises(DataError, match="file not found") as info:
        reader(path)
    assert str(info.value) == f"{path}: file not found"


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("content", ["", "\n \n"])
def test_empty_file(tmp_path, reader, content):
    path = write(tmp_path, "empty.tsv", content)
    with pytest.raises(DataError) as info:
        reader(path)
    assert str(info.value) == f"{path}: file is empty"


@pytest.mark.parametrize("reader", READERS)
def test_invalid_utf8_names_line_and_byte_offset(tmp_path, reader):
    path = write(tmp_path, "bad.tsv", b"label\tsentence\n1\tgood\n0\tbad \xff byte\n")
    with pytest.raises(DataError) as info:
        reader(path)
    assert str(info.value) == f"{path}:3 (byte 28): not valid UTF-8 (byte 0xff)"
    assert (info.value.line, info.value.offset) == (3, 28)


def test_read_text_keeps_content_and_drops_bom(tmp_path):
    path = write(tmp_path, "corpus.txt", "\ufeffFirst Citizen:\nBefore we proceed\r\n")
    assert read_text(path) == "First Citizen:\nBefore we proceed\r\n"


# read_labelled_text and encode_labels.


def test_read_labelled_text_tsv(tmp_path):
    path = write(tmp_path, "train.tsv", 'label\tsentence\n0\thide new "secretions"\n1\tNA\n')
    df = read_labelled_text(path)
    assert list(df.columns) == ["text", "label"]
    assert df.text.tolist() == ['hide new "secretions"', "NA"]
    assert df.label.tolist() == [0, 1]
    assert df.index.tolist() == [2, 3]


def test_read_labelled_text_accepts_alternative_text_column(tmp_path):
    path = write(tmp_path, "dev.tsv", "label\tcontent\n1\t007 rocks\n")
    assert read_labelled_text(path).text.tolist() == ["007 rocks"]


def test_read_labelled_text_csv_with_quotes_and_custom_columns(tmp_path):
    path = write(tmp_path, "data.csv", 'review,stars\n"good, really",5\nbad,1\n')
    df = read_labelled_text(path, text_column="review", label_column="stars")
    assert df.text.tolist() == ["good, really", "bad"]
    assert df.label.tolist() == [5, 1]


def test_read_labelled_text_headerless_with_explicit_separator(tmp_path):
    path = write(tmp_path, "amazon_cells_labelled.txt", "So there is no way.\t0\nGood case!\t1\n")
    df = read_labelled_text(path, text_column=0, label_column=1, sep="\t", header=False)
    assert df.text.tolist() == ["So there is no way.", "Good case!"]
    assert df.index.tolist() == [1, 2]


def test_read_labelled_text_needs_a_separator_for_unknown_extensions(tmp_path):
    path = write(tmp_path, "data.txt", "a\tb\n")
    with pytest.raises(ConfigError, match="sep="):
        read_labelled_text(path)


def test_read_labelled_text_missing_text_column_names_existing_columns(tmp_path):
    path = write(tmp_path, "train.tsv", "label\tsentense\n0\tx\n")
    error = raises_at(
        path, 1, "no column 'sentence' or 'text' or 'content'", lambda: read_labelled_text(path)
    )
    assert "['label', 'sentense']" in str(error)


def test_read_labelled_text_missing_label_column(tmp_path):
    path = write(tmp_path, "train.tsv", "polarity\tsentence\n0\tx\n")
    error = raises_at(path, 1, "no column 'label'", lambda: read_labelled_text(path))
    assert "['polarity', 'sentence']" in str(error)


@pytest.mark.parametrize(
    "content, line, match",
    [
        ("label\tsentence\n0\tfine\n1\t\n", 3, "empty text"),
        ("label\tsentence\n0\tfine\n1\t   \n", 3, "empty text"),
        ("label\tsentence\n0\tfine\n\n1\tok\n", 3, "found a blank line, expected 2 fields"),
        ("label\tsentence\n0\tfine\n1\n", 3, "found 1 field, expected 2 fields as in the header"),
        ("label\tsentence\n\tfine\n", 2, "empty label"),
        ("label\tsentence\n0\tfine\n1\ttoo\tmany\n", 3, "found 3 fields, expected 2"),
    ],
)
def test_read_labelled_text_bad_rows(tmp_path, content, line, match):
    path = write(tmp_path, "train.tsv", content)
    raises_at(path, line, match, lambda: read_labelled_text(path))


def test_read_labelled_text_header_only(tmp_path):
    path = write(tmp_path, "train.tsv", "label\tsentence\n")
    raises_at(path, 2, "no rows", lambda: read_labelled_text(path))


def test_encode_labels_builds_sorted_classes():
    ids, classes = encode_labels(["pos", "neg", "pos"])
    assert ids.tolist() == [1, 0, 1] and ids.dtype == "int32"
    assert classes == ["neg", "pos"]


def test_encode_labels_with_training_classes(tmp_path):
    train = read_labelled_text(write(tmp_path, "train.tsv", "label\tsentence\n2\ta\n0\tb\n"))
    ids, classes = encode_labels(train.label)
    assert classes == [0, 2] and type(classes[0]) is int
    dev = read_labelled_text(write(tmp_path, "dev.tsv", "label\tsentence\n2\tc\n0\td\n"))
    assert encode_labels(dev.label, classes=classes)[0].tolist() == [1, 0]


def test_encode_labels_unknown_value_at_evaluation_names_file_and_line(tmp_path):
    path = write(tmp_path, "dev.tsv", "label\tsentence\n1\ta\n0\tb\n3\tc\n")
    dev = read_labelled_text(path)
    error = raises_at(
        path, 4, "unknown label 3", lambda: encode_labels(dev.label, classes=[0, 1], path=path)
    )
    assert "known labels are [0, 1]" in str(error)


def test_encode_labels_unknown_value_in_plain_list_names_item():
    with pytest.raises(DataError, match=r"unknown label 'maybe' \(item 2\)"):
        encode_labels(["yes", "maybe"], classes=["no", "yes"])


# read_conll, read_conllu and read_tagged.

CONLL = """\
-DOCSTART- -X- O

Confidence NN B-NP
in IN B-PP

the DT B-NP
pound NN I-NP
"""


def test_read_conll(tmp_path):
    path = write(tmp_path, "train.txt", CONLL)
    assert read_conll(path) == [
        (["Confidence", "in"], ["B-NP", "B-PP"]),
        (["the", "pound"], ["B-NP", "I-NP"]),
    ]
    assert read_conll(path, tag_column=1)[1] == (["the", "pound"], ["DT", "NN"])


def test_read_conll_flags_a_row_without_tag_column(tmp_path):
    path = write(tmp_path, "train.txt", "Confidence NN B-NP\nin IN\n")
    raises_at(path, 2, "found 2 columns, expected 3", lambda: read_conll(path))


def test_read_conll_flags_a_file_with_only_one_column(tmp_path):
    path = write(tmp_path, "train.txt", "\nConfidence\nin\n")
    raises_at(path, 2, "found 1 column", lambda: read_conll(path))


def test_read_conll_flags_a_tag_column_out_of_range(tmp_path):
    path = write(tmp_path, "train.txt", "Confidence NN B-NP\n")
    raises_at(path, 1, "tag_column=5", lambda: read_conll(path, tag_column=5))


def test_read_conll_without_sentences(tmp_path):
    path = write(tmp_path, "train.txt", "-DOCSTART- -X- O\n\n")
    with pytest.raises(DataError, match="no sentences") as info:
        read_conll(path)
    assert str(path) in str(info.value)


CONLLU = """\
# sent_id = 1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_
3.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t0:root\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_

# sent_id = 2
1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_read_conllu_skips_comments_ranges_and_empty_nodes(tmp_path):
    path = write(tmp_path, "dev.conllu", CONLLU)
    sentences = read_conllu(path)
    assert sentences == [
        (["I", "do", "n't", "know"], ["PRON", "AUX", "PART", "VERB"]),
        (["Yes"], ["INTJ"]),
    ]
    assert read_conllu(path, tag_column="xpos")[0][1] == ["PRP", "VBP", "RB", "VB"]
    assert read_conllu(path, tag_column=2)[0][1] == ["I", "do", "not", "know"]


def test_read_conllu_wrong_field_count_names_line(tmp_path):
    lines = CONLLU.split("\n")
    lines[5] = "3\tn't\tnot\tPART\tRB"
    path = write(tmp_path, "dev.conllu", "\n".join(lines))
    raises_at(path, 6, "found 5 tab-separated fields, CoNLL-U needs 10", lambda: read_conllu(path))


def test_read_conllu_space_separated_line_is_an_error(tmp_path):
    path = write(tmp_path, "dev.conllu", CONLLU.replace("1\tYes\tyes", "1 Yes yes"))
    raises_at(path, 11, "found 8 tab-separated fields", lambda: read_conllu(path))


def test_read_conllu_unknown_field_name(tmp_path):
    path = write(tmp_path, "dev.conllu", CONLLU)
    with pytest.raises(ConfigError, match="'pos'"):
        read_conllu(path, tag_column="pos")


def test_read_tagged_dispatches_on_extension(tmp_path):
    conllu = write(tmp_path, "dev.conllu", CONLLU)
    conll = write(tmp_path, "train.txt", CONLL)
    assert read_tagged(conllu, tag_column="xpos") == read_conllu(conllu, tag_column="xpos")
    assert read_tagged(conll) == read_conll(conll)


# read_parallel.


def test_read_parallel_two_files(tmp_path):
    source = write(tmp_path, "val.en", "A man.\nTwo dogs\r\n")
    target = write(tmp_path, "val.de", "Ein Mann.\nZwei Hunde\n")
    assert read_parallel(source, target) == [("A man.", "Ein Mann."), ("Two dogs", "Zwei Hunde")]


def test_read_parallel_line_count_mismatch_names_both_files_and_counts(tmp_path):
    source = write(tmp_path, "val.en", "A man.\nTwo dogs\nA cat\n")
    target = write(tmp_path, "val.de", "Ein Mann.\nZwei Hunde\n")
    with pytest.raises(DataError) as info:
        read_parallel(source, target)
    assert f"{source} has 3 lines" in str(info.value)
    assert f"{target} has 2 lines" in str(info.value)


def test_read_parallel_tsv(tmp_path):
    path = write(tmp_path, "pairs.tsv", "Go.\tVa !\nHi.\tSalut !\n")
    assert read_parallel(path) == [("Go.", "Va !"), ("Hi.", "Salut !")]


@pytest.mark.parametrize("bad_line, found", [("Run!", 1), ("Run!\tCours !\textra", 3)])
def test_read_parallel_tsv_needs_two_fields(tmp_path, bad_line, found):
    path = write(tmp_path, "pairs.tsv", f"Go.\tVa !\n{bad_line}\n")
    raises_at(path, 2, f"found {found} fields, expected 2", lambda: read_parallel(path))


# A corpus of malformed files, through every reader. Each format writes the same rows
# (a text-like and a label-like field) its own way, so one malformation is tried on all.


@dataclasses.dataclass
class Format:
    """How one reader's files are written: `render(first, second)` gives a row's line in
    each file (two files for line-aligned parallel data), after the optional `header`."""

    name: str
    files: tuple
    render: Callable
    read: Callable
    header: str | None = None
    fields: tuple = ()  # what the reader calls the two fields, where it checks them

    def write(self, folder, rows, newline="\n", bom=False, corrupt=None):
        """Writes `rows` into `folder`; `corrupt` replaces b"BAD" by other bytes."""
        for k, name in enumerate(self.files):
            lines = [*([self.header] if self.header else []),
                     *(self.render(*row)[k] for row in rows)]
            data = (("\ufeff" if bom else "") + newline.join(lines) + newline).encode()
            (folder / name).write_bytes(data.replace(b"BAD", corrupt) if corrupt else data)
        return self.read(folder)

    def where(self, folder, row, field=0):
        """``(path, line)`` of field `field` of row `row` (0-based) once written."""
        return folder / self.files[field if len(self.files) > 1 else 0], row + 1 + bool(
            self.header)


FORMATS = [
    Format("csv", ("train.csv",), lambda a, b: (f"{b},{a}",),
           lambda d: read_labelled_text(d / "train.csv"), "label,text", ("text", "label")),
    Format("tsv", ("train.tsv",), lambda a, b: (f"{b}\t{a}",),
           lambda d: read_labelled_text(d / "train.tsv"), "label\ttext", ("text", "label")),
    Format("conll", ("train.txt",), lambda a, b: (f"{a} {b}",),
           lambda d: read_conll(d / "train.txt")),
    Format("conllu", ("train.conllu",),
           lambda a, b: (f"1\t{a}\t_\t{b}\t_\t_\t0\troot\t_\t_",),
           lambda d: read_conllu(d / "train.conllu"), None, ("form", "upos")),
    Format("parallel-tsv", ("train.tsv",), lambda a, b: (f"{a}\t{b}",),
           lambda d: read_parallel(d / "train.tsv"), None, ("source", "target")),
    Format("parallel-files", ("train.en", "train.de"), lambda a, b: (a, b),
           lambda d: read_parallel(d / "train.en", d / "train.de"), None,
           ("source", "target")),
    Format("text", ("input.txt",), lambda a, b: (f"{a} {b}",),
           lambda d: read_text(d / "input.txt")),
]
ROWS = [("good", "pos"), ("dull", "neg"), ("fine", "pos")]
CONTROL_CHARACTERS = [
    ("\x00", r"a NUL byte \(U\+0000\)"),
    ("\x1b", r"control character U\+001B"),
    ("\x0b", r"control character U\+000B"),  # str.splitlines would break the line here
    ("\x0c", r"control character U\+000C"),
    ("\x7f", r"control character U\+007F"),
    ("\x85", r"control character U\+0085"),  # C1: cp1252 text decoded as Latin-1
    ("\ufeff", r"byte-order mark \(U\+FEFF\) past the start"),
]


def one_line_error_at(path, line, match, call):
    """`raises_at`, and the message is one line."""
    error = raises_at(path, line, match, call)
    assert "\n" not in str(error)
    return error


def with_field(rows, row, field, value):
    """`rows` with field `field` of row `row` replaced by `value`."""
    changed = [list(r) for r in rows]
    changed[row][field] = value
    return [tuple(r) for r in changed]


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("character, message", CONTROL_CHARACTERS,
                         ids=lambda c: f"U+{ord(c):04X}" if len(c) == 1 else None)
@pytest.mark.parametrize("field", [0, 1])
def test_a_control_character_in_any_field_of_any_format(tmp_path, fmt, character, message,
                                                        field):
    rows = with_field(ROWS, 1, field, f"du{character}ll")
    path, line = fmt.where(tmp_path, 1, field)
    one_line_error_at(path, line, message, lambda: fmt.write(tmp_path, rows))


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.name != "text"], ids=lambda f: f.name)
def test_a_carriage_return_inside_a_line(tmp_path, fmt):
    path, line = fmt.where(tmp_path, 1)
    one_line_error_at(path, line, "carriage return inside a line",
                      lambda: fmt.write(tmp_path, with_field(ROWS, 1, 0, "du\rll")))


def test_plain_text_keeps_its_carriage_returns(tmp_path):
    text_format = FORMATS[-1]
    assert text_format.write(tmp_path, ROWS, newline="\r") == "good pos\rdull neg\rfine pos\r"


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.fields], ids=lambda f: f.name)
@pytest.mark.parametrize("field", [0, 1])
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_field_is_refused_at_its_line(tmp_path, fmt, field, value):
    path, line = fmt.where(tmp_path, 2, field)
    one_line_error_at(path, line, f"empty {fmt.fields[field]}$",
                      lambda: fmt.write(tmp_path, with_field(ROWS, 2, field, value)))


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_invalid_utf8_in_any_format(tmp_path, fmt):
    path, line = fmt.where(tmp_path, 1, field=1)
    error = one_line_error_at(path, line, r"not valid UTF-8 \(byte 0xff\)", lambda: fmt.write(
        tmp_path, with_field(ROWS, 1, 1, "BAD"), corrupt=b"b\xffd"))
    assert path.read_bytes()[error.offset] == 0xFF


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_spreadsheet_exports_read_like_plain_files(tmp_path, fmt):
    plain, export = tmp_path / "plain", tmp_path / "export"
    plain.mkdir(), export.mkdir()
    expected = fmt.write(plain, ROWS)
    exported = fmt.write(export, ROWS, newline="\r\n", bom=True)
    if fmt.name == "text":  # plain text is kept as it is, line ends included
        assert exported == expected.replace("\n", "\r\n")
    elif isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(exported, expected)
    else:
        assert exported == expected


def test_quoted_csv_fields_keep_commas_quotes_and_line_breaks(tmp_path):
    path = write(tmp_path, "reviews.csv", 'label,text\r\n'
                 'pos,"warm, funny and ""wise""\r\nwith a second line"\r\n'
                 'neg,dull\r\n')
    df = read_labelled_text(path)
    assert df.text.tolist() == ['warm, funny and "wise"\r\nwith a second line', "dull"]
    assert df.index.tolist() == [2, 4]  # each row at the line it starts on


@pytest.mark.parametrize("content, line, match", [
    # A row after a multi-line quoted field is located exactly.
    ('label,text\npos,"one\ntwo\nthree"\nneg,\n', 5, "empty text"),
    # An unclosed quote: the line its row starts on.
    ('label,text\npos,fine\nneg,"never closed\nmore\n', 3, "unexpected end of data"),
    # Before the readers checked for control characters, this failed later with
    # "inputs is empty", naming no file.
    (b"label,text\npos,good\nneg,\x00\x00\x00\n", 3, "NUL byte"),
])
def test_csv_errors_name_the_line_of_their_row(tmp_path, content, line, match):
    path = write(tmp_path, "reviews.csv", content)
    one_line_error_at(path, line, match, lambda: read_labelled_text(path))


@pytest.mark.parametrize("extra", ["source", "target"])
def test_two_file_parallel_data_must_have_as_many_lines(tmp_path, extra):
    lines = {"source": "A man.\nTwo dogs\n", "target": "Ein Mann.\nZwei Hunde\n"}
    lines[extra] += "\n"  # one more (blank) line at the end of one file
    source = write(tmp_path, "val.en", lines["source"])
    target = write(tmp_path, "val.de", lines["target"])
    with pytest.raises(DataError, match="not line-aligned") as info:
        read_parallel(source, target)
    counts = {"source": 2, "target": 2, extra: 3}
    assert f"{source} has {counts['source']} lines" in str(info.value)
    assert f"{target} has {counts['target']} lines" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_tab_inside_a_sentence_is_whitespace(tmp_path):
    # Multi30k's train.de has one (line 7366).
    source = write(tmp_path, "train.en", "A man\tsmiles.\n")
    target = write(tmp_path, "train.de", "Ein Mann\tlächelt.\n")
    assert read_parallel(source, target) == [("A man\tsmiles.", "Ein Mann\tlächelt.")]


@pytest.mark.parametrize("languages", [("en", None), (None, "de")])
def test_parallel_splits_need_both_languages_or_neither(tmp_path, languages):
    with pytest.raises(ConfigError, match="both source and target"):
        read_parallel_splits(tmp_path, *languages)


def test_parallel_splits_of_line_aligned_files(tmp_path):
    for split in ("train", "val", "test_2016_flickr"):
        write(tmp_path, f"{split}.en", f"{split} one\n{split} two\n")
        write(tmp_path, f"{split}.de", f"{split} eins\n{split} zwei\n")
    splits = read_parallel_splits(tmp_path, "en", "de")
    assert splits["valid"] == [("val one", "val eins"), ("val two", "val zwei")]
    assert splits["test"][1] == ("test_2016_flickr two", "test_2016_flickr zwei")


def test_parallel_splits_without_a_target_file(tmp_path):
    path = write(tmp_path, "train.en", "a\n")
    with pytest.raises(DataError, match="no line-aligned target file train.de") as info:
        read_parallel_splits(tmp_path, "en", "de")
    assert info.value.path == str(path)


def test_parallel_splits_of_tsv_files_hold_none_for_missing_splits(tmp_path):
    write(tmp_path, "train.tsv", "Go.\tVa !\n")
    assert read_parallel_splits(tmp_path) == {"train": [("Go.", "Va !")], "valid": None,
                                              "test": None}
