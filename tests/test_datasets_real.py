from pathlib import Path

import pytest

from seqtasks.data.readers import read_conllu, read_labelled_text, read_parallel

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_readers_on_real_data():
    if not DATA.is_dir():
        pytest.skip(f"real data not found at {DATA}")

    sst2 = read_labelled_text(DATA / "sst2" / "dev.tsv")
    assert len(sst2) == 872
    assert set(sst2.label) == {0, 1}
    assert sst2.text.iloc[0] == "one long string of cliches ."

    sentences = read_conllu(DATA / "ud_english_lines" / "en_lines-ud-dev.conllu")
    assert len(sentences) == 1118
    assert sum(len(tokens) for tokens, _ in sentences) == 21637
    assert all(len(tokens) == len(tags) for tokens, tags in sentences)

    pairs = read_parallel(DATA / "multi30k" / "val.en", DATA / "multi30k" / "val.de")
    assert len(pairs) == 1014
    assert pairs[0] == (
        "A group of men are loading cotton onto a truck",
        "Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen",
    )
