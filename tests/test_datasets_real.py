"""The strict readers on the real datasets of ../shared/data (skipped where one is absent):
every file is read whole, and the counts are the published ones."""

from pathlib import Path

import pytest

from seqtasks.data.readers import (read_conll, read_conllu, read_labelled_text,
                                   read_parallel_splits, read_text)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def needs(name):
    """The folder `name` of the real data, or a skip saying where it was looked for."""
    folder = DATA / name
    if not folder.is_dir():
        pytest.skip(f"real dataset {name} not found at {folder}")
    return folder


def test_sst2():
    folder = needs("sst2")
    dev = read_labelled_text(folder / "dev.tsv")
    assert len(dev) == 872 and set(dev.label) == {0, 1}
    assert dev.text.iloc[0] == "one long string of cliches ."
    train = read_labelled_text(folder / "train.tsv")  # CRLF line ends
    assert len(train) == 67349 and train.index[-1] == 67350
    assert len(read_labelled_text(folder / "test.tsv")) == 1821


def test_universal_dependencies():
    sentences = read_conllu(needs("ud_english_lines") / "en_lines-ud-dev.conllu")
    assert len(sentences) == 1118
    assert sum(len(tokens) for tokens, _ in sentences) == 21637
    assert all(len(tokens) == len(tags) for tokens, tags in sentences)
    assert len(read_conllu(needs("ud_english_ewt") / "en_ewt-ud-train.conllu")) == 12544


def test_conll2000_chunking():
    folder = needs("conll2000_chunking")
    assert [len(read_conll(folder / f"{split}.txt")) for split in ("train", "test")] == [
        8936, 2012]


def test_multi30k():
    splits = read_parallel_splits(needs("multi30k"), "en", "de")
    assert [len(splits[split]) for split in ("train", "valid", "test")] == [29000, 1014, 1000]
    assert splits["valid"][0] == (
        "A group of men are loading cotton onto a truck",
        "Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen",
    )
    assert "\t" in splits["train"][7365][1]  # a tab inside a sentence is whitespace


def test_tinyshakespeare():
    text = read_text(needs("tinyshakespeare") / "input.txt")
    assert len(text) == 1115394 and text.startswith("First Citizen:")
