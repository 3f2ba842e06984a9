"""Pretrained word vectors: reading GloVe/word2vec text files for a vocabulary, one-line
errors naming the file and line, the rows they set in an Embedding, and ``--embeddings``
in the sentiment and translation tasks."""

import gzip
import json

import keras
import numpy as np
import pytest

import seqtasks
from seqtasks.cli import main as cli
from seqtasks.data.embedded import embedded_path
from seqtasks.data.embeddings import (
    coverage_line,
    coverage_metrics,
    initialise_embedding,
    load_embeddings,
    use_pretrained,
)
from seqtasks.data.readers import read_labelled_text
from seqtasks.data.text import Vocabulary
from seqtasks.errors import ConfigError, DataError
from seqtasks.tasks import sentiment, tagging, translation
from seqtasks.tuning.space import searchable

VECTORS = {"the": [0.5, -1.0, 2.0], "cat": [1.5, 0.25, -3.0], "sat": [0.0, 1.0, 1e-3]}
VOCAB = Vocabulary.build([["the", "cat", "dog", "the"]])  # <pad> <unk> <bos> <eos> the cat dog


def vector_lines(vectors):
    return [f"{word} {' '.join(map(str, vector))}" for word, vector in vectors.items()]


def write(path, lines, header=None, compress=False):
    """`lines` (and a word2vec header) as a vectors file; returns the path."""
    text = "\n".join(([header] if header else []) + lines) + "\n"
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as file:
            file.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def built_embedding(vocab_size, dim):
    layer = keras.layers.Embedding(vocab_size, dim, mask_zero=True)
    layer.build((None, None))
    return layer


@pytest.mark.parametrize("name, header, compress", [
    ("glove.txt", None, False), ("glove.txt.gz", None, True),
    ("word2vec.vec", "3 3", False), ("word2vec.vec.gz", "3 3", True)])
def test_the_file_rows_of_the_vocabulary_words_go_into_the_embedding(tmp_path, name,
                                                                       header, compress):
    path = write(tmp_path / name, vector_lines(VECTORS), header, compress)
    vectors = load_embeddings(path, VOCAB)
    assert vectors.dim == 3 and vectors.rows == 3 and vectors.lines == 3 + bool(header)
    the, cat, dog = (VOCAB.token_to_id(word) for word in ("the", "cat", "dog"))
    assert vectors.found.tolist() == [i in (the, cat) for i in range(len(VOCAB))]

    layer = built_embedding(len(VOCAB), 3)
    before = layer.embeddings.numpy().copy()
    initialise_embedding(layer, vectors)
    after = layer.embeddings.numpy()
    np.testing.assert_array_equal(after[the], np.float32(VECTORS["the"]))
    np.testing.assert_array_equal(after[cat], np.float32(VECTORS["cat"]))
    untouched = [i for i in range(len(VOCAB)) if i not in (the, cat)]  # padding, <unk>, dog
    np.testing.assert_array_equal(after[untouched], before[untouched])
    # The vectors live in the weights only: the config (and so the saved model's JSON)
    # keeps the random initializer.
    assert layer.get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"


def test_bom_crlf_trailing_spaces_and_blank_lines_are_fine(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_bytes(b"\xef\xbb\xbf\r\nthe 1 2 \r\n\r\ncat 3 4\r\n\r\n")
    vectors = load_embeddings(path, VOCAB)
    assert (vectors.rows, vectors.lines, vectors.found_count) == (2, 5, 2)
    assert vectors.matrix[VOCAB.token_to_id("cat")].tolist() == [3.0, 4.0]


def test_exact_rows_beat_lower_cased_ones_and_reserved_tokens_take_none(tmp_path):
    vocab = Vocabulary.build([["Berlin", "Paris", "paris", "Rome", "ROME"]])
    path = write(tmp_path / "vectors.txt", [
        "<unk> 9 9", "berlin 1 1", "Berlin 2 2", "berlin 3 3", "Paris 4 4", "paris 5 5",
        "rome 6 6", "Paris 7 7", "multi word entry 8 8"])
    vectors = load_embeddings(path, vocab)
    row = {token: vectors.matrix[vocab.token_to_id(token)].tolist()
           for token in ("Berlin", "Paris", "paris", "Rome", "ROME")}
    # Berlin's own row wins over the lower-cased one before it; the first row of a word
    # wins over a later one; Rome and ROME both fall back on rome.
    assert row == {"Berlin": [2, 2], "Paris": [4, 4], "paris": [5, 5], "Rome": [6, 6],
                   "ROME": [6, 6]}
    assert not vectors.found[vocab.unk_id] and vectors.found_count == 5
    assert vectors.lowercased == 2 and vectors.words == 5 and vectors.rows == 9


def test_coverage_figures_line_and_metrics(tmp_path):
    path = write(tmp_path / "glove.txt", vector_lines(VECTORS))
    vectors = load_embeddings(path, VOCAB)
    assert (vectors.found_count, vectors.words) == (2, 3)
    assert vectors.coverage == pytest.approx(2 / 3)
    assert coverage_line(vectors) == ("embeddings glove.txt: 2 of 3 vocabulary words "
                                      "(66.7%) found, dimension 3")
    assert coverage_metrics(path, VOCAB, label="target embeddings") == {
        "target_embeddings_found": 2, "target_embeddings_coverage": 0.6667}
    assert coverage_metrics(None, VOCAB) == {} and use_pretrained(None, None, VOCAB) is None
    assert load_embeddings(path, VOCAB) is vectors  # read once while the file is unchanged
    write(path, vector_lines({"dog": [1, 2, 3]}))
    assert load_embeddings(path, VOCAB).found_count == 1


@pytest.mark.parametrize("content, line, message", [
    (b"the 1 2\ncat 1 2 3\n", 2, "found 3 numbers, expected 2 as on line 1"),
    (b"the 1 2\n\ncat 1\n", 3, "found 1 numbers, expected 2 as on line 1"),
    (b"4 3\nthe 1 2\n", 2, "found 2 numbers, expected 3 as the header (line 1) says"),
    (b"the 1 2\ncat 1 x\n", 2, "'x' is not a finite number"),
    (b"the 1 nan\n", 1, "'nan' is not a finite number"),
    (b"a 1 -inf\n", 1, "'-inf' is not a finite number"),
    (b"a 1 1e99\n", 1, "'1e99' is not a finite number"),
    (b"the 1 2\ncat\n", 2, "the word 'cat' has no numbers"),
    (b"the\t1\t2\n", 1, "has no numbers (fields are separated by spaces)"),
    (b"the 1 2\n\xff 1 2\n", 2, "not valid UTF-8 (byte 0xff)"),
    (b"5 0\n", 1, "gives vectors of length 0"),
])
def test_bad_lines_are_data_errors_naming_file_and_line(tmp_path, content, line, message):
    path = tmp_path / "vectors.txt"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        load_embeddings(path, VOCAB)
    assert str(error.value).startswith(f"{path}:{line}: ") and message in str(error.value)


@pytest.mark.parametrize("name, content, message", [
    ("empty.txt", b"", "no word vectors in the file"),
    ("blank.txt", b"\n\n", "no word vectors in the file"),
    ("header-only.vec", b"0 300\n", "no word vectors in the file"),
    ("missing.txt", None, "file not found"),
])
def test_files_without_vectors_are_data_errors_naming_the_file(tmp_path, name, content,
                                                                message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        load_embeddings(path, VOCAB)
    assert error.value.path == str(path)


def test_damaged_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "vectors.txt.gz"
    path.write_bytes(b"the 1 2\n")
    with pytest.raises(DataError, match=rf"^{path}:1: damaged gzip data"):
        load_embeddings(path, VOCAB)
    write(path, vector_lines(VECTORS) * 50, compress=True)
    path.write_bytes(path.read_bytes()[:-30])  # truncated
    with pytest.raises(DataError, match=rf"^{path}:\d+: damaged gzip data"):
        load_embeddings(path, VOCAB)


def test_another_dimension_than_the_layer_is_a_config_error_naming_the_setting(tmp_path):
    path = write(tmp_path / "glove.txt", vector_lines(VECTORS))
    with pytest.raises(ConfigError) as error:
        initialise_embedding(built_embedding(len(VOCAB), 4), load_embeddings(path, VOCAB))
    assert str(error.value) == (f"the vectors of {path} have dimension 3, but embedding_dim=4:"
                                f" set embedding_dim=3 (--embedding-dim 3)")


def test_embeddings_are_a_setting_no_search_varies():
    for task in (sentiment, tagging, translation):
        assert "embeddings" not in searchable(task)
    assert "target_embeddings" not in searchable(translation)
    with pytest.raises(ConfigError, match="--tokens word"):
        translation.Config(embeddings="glove.txt", tokens="char")
    # tokens="auto" (the default) takes words when there are word vectors.
    assert translation.resolved_tokens(translation.Config(embeddings="glove.txt"), []) == "word"


@pytest.fixture
def reviews(tmp_path):
    """A folder with train.csv: the first 40 embedded reviews (valid and test held out)."""
    folder = tmp_path / "reviews"
    folder.mkdir()
    frame = read_labelled_text(embedded_path("sentiment", "train")).head(40)
    frame.rename(columns={"text": "sentence"}).to_csv(folder / "train.csv", index=False)
    return folder


def test_sentiment_build_starts_the_embedding_from_the_file(tmp_path, reviews, capsys):
    path = write(tmp_path / "glove.txt", vector_lines(VECTORS))
    config = sentiment.Config(data=reviews, embeddings=path, embedding_dim=3, units=4,
                              min_freq=1)
    data = sentiment.prepare(config)
    model = sentiment.build(config, data)
    vocab = data.preprocessor.vocab
    weights = model.get_layer("embedding").embeddings.numpy()
    np.testing.assert_array_equal(weights[vocab.token_to_id("the")], np.float32(VECTORS["the"]))
    assert capsys.readouterr().out.startswith(
        f"embeddings glove.txt: 1 of {len(vocab) - 4} vocabulary words (")
    with pytest.raises(ConfigError, match="set embedding_dim=3"):
        sentiment.build(config.replace(embedding_dim=5), data)


def test_translation_build_starts_source_and_target_embeddings(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    pairs = ["a dog runs\tein Hund rennt", "the cat sleeps\teine Katze schläft"] * 4
    (folder / "train.tsv").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    source = write(tmp_path / "en.txt", ["dog 1 2 3", "cat 4 5 6"])
    target = write(tmp_path / "de.txt.gz", ["hund 7 8 9"], compress=True)
    config = translation.Config(data=folder, tokens="word", min_freq=1, units=4,
                                embedding_dim=3, embeddings=source, target_embeddings=target,
                                verbose=0)
    data = translation.prepare(config)
    model = translation.build(config, data)
    vocabs = data.preprocessor
    source_weights = model.get_layer("source_embedding").embeddings.numpy()
    target_weights = model.get_layer("target_embedding").embeddings.numpy()
    assert source_weights[vocabs.source_vocab.token_to_id("cat")].tolist() == [4, 5, 6]
    assert target_weights[vocabs.target_vocab.token_to_id("Hund")].tolist() == [7, 8, 9]


@pytest.mark.e2e
def test_a_run_with_embeddings_saves_them_and_reports_the_coverage(tmp_path, reviews):
    path = write(tmp_path / "glove.txt", vector_lines(VECTORS))
    out = tmp_path / "run"
    # A learning rate too small to move the weights: the saved rows are still the file's.
    assert cli(["run", "sentiment", "--data", str(reviews), "--min-freq", "1",
                "--embeddings", str(path), "--embedding-dim", "3",
                "--units", "4", "--epochs", "1", "--batch-size", "64", "--max-seconds", "20",
                "--learning-rate", "1e-12", "--verbose", "0", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["embeddings_found"] == 1 and 0 < metrics["embeddings_coverage"] < 1
    predictor = seqtasks.load(out)
    recurrent = sentiment.mixture_parts(predictor.model)[0]["recurrent"]  # beside n-grams
    weights = recurrent.get_layer("embedding").embeddings.numpy()
    the = predictor.preprocessor.vocab.token_to_id("the")
    np.testing.assert_allclose(weights[the], VECTORS["the"], atol=1e-6)


def test_a_bad_vectors_file_stops_the_run_with_one_line(tmp_path, capsys):
    path = tmp_path / "glove.txt"
    path.write_text("the 1 2\ncat 1 2 3\n", encoding="utf-8")
    out = tmp_path / "run"
    code = cli(["run", "sentiment", "--embeddings", str(path), "--embedding-dim", "2",
                "--epochs", "1", "--units", "4", "--verbose", "0", "--out", str(out)])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error and "Traceback" not in error
    assert error == f"seqtasks run: error: {path}:2: found 3 numbers, expected 2 as on line 1"
    assert not out.exists() and not (tmp_path / "run.partial").exists()
