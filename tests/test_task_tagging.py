"""The tagging recipe and its model: outputs, padding masks, reloading, bad input."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from seqtasks.recipes.tagging import main
from seqtasks.data.readers import read_tagged
from seqtasks.data.embedded import embedded_path
from seqtasks.models.tagger import TaggingData, build_tagger, tagging_dataset
from seqtasks.recipe import run_main
from seqtasks.data.text import Vocabulary

UD_LINES = Path(__file__).resolve().parents[2] / "shared" / "data" / "ud_english_lines"
FAST = ["--units", "8", "--embedding-dim", "8", "--epochs", "1", "--max-seconds", "20",
        "--verbose", "0"]


def write_conll(folder, sentences, name="train.conll"):
    folder.mkdir(exist_ok=True)
    text = "\n\n".join("\n".join(f"{t} {g}" for t, g in zip(*s)) for s in sentences)
    (folder / name).write_text(text + "\n")


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """A --data folder with a few embedded sentences per split."""
    folder = tmp_path_factory.mktemp("tagging")
    for split, n in (("train", 60), ("valid", 20), ("test", 20)):
        write_conll(folder, read_tagged(embedded_path("tagging", split))[:n], f"{split}.conll")
    return folder


def test_recipe_writes_its_outputs_and_the_model_reloads(small_data, tmp_path):
    out = tmp_path / "run"
    assert main(["--data", str(small_data), "--out", str(out), *FAST]) == 0
    for name in ("model.keras", "words.json", "tags.json", "chars.json", "history.csv",
                 "metrics.json", "config.json", "loss.png", "confusion.png", "predictions.txt"):
        assert (out / name).is_file(), name
    assert not (tmp_path / "run.partial").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["f1"] <= 1.0  # BIO tags: f1
    assert json.loads((out / "config.json").read_text())["bidirectional"] is True
    lines = [line.split("\t") for line in (out / "predictions.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines and all(len(fields) in (3, 4) for fields in lines)

    data = TaggingData(Vocabulary.load(out / "words.json"), Vocabulary.load(out / "tags.json"),
                       Vocabulary.load(out / "chars.json"))
    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    tokens = [["Jordan", "told", "reporters", "never-seen-word", "."]]
    probabilities = model.predict(data.inputs(tokens), verbose=0)
    assert probabilities.shape == (1, 5, len(data.tags))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    (tags,) = data.predict(model, tokens)
    assert len(tags) == 5 and set(tags) <= set(data.tags.tokens[1:])


@pytest.mark.parametrize("chars", [None, 7])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_is_left_out_of_loss_and_accuracy(chars, bidirectional):
    model = build_tagger(10, 4, embedding_dim=4, units=4, bidirectional=bidirectional,
                         char_vocab_size=chars, max_word_length=5)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = {"words": np.array([[2, 3, 0, 0], [4, 0, 0, 0]])}
    if chars:
        x["chars"] = np.where(x["words"][..., None] > 0, 2, 0) * np.ones((1, 1, 5), "int32")
    y = np.array([[1, 1, 0, 0], [2, 0, 0, 0]])
    pred = model.predict(x, verbose=0).argmax(-1)
    real = x["words"] > 0
    padding_right = np.where(real, y, pred)  # padded steps "correct" ...
    padding_wrong = np.where(real, y, (pred + 1) % 4)  # ... or wrong
    loss_a, acc_a = model.evaluate(x, padding_right, verbose=0)
    loss_b, acc_b = model.evaluate(x, padding_wrong, verbose=0)
    assert loss_a == pytest.approx(loss_b, rel=1e-6)
    assert acc_a == pytest.approx(acc_b) == pytest.approx((pred == y)[real].mean())


def test_dataset_batches_sentences_of_similar_length():
    sentences = [(["w"] * n, ["O"] * n) for n in [1, 9, 2, 8, 3, 7, 1, 9]]
    data = TaggingData.fit(sentences, chars=False)
    batches = list(tagging_dataset(data, sentences, batch_size=2, seed=0))
    assert sum(int((y.numpy() > 0).sum()) for _, y in batches) == 40
    assert all(x["words"].shape[1] - min((x["words"].numpy() > 0).sum(1)) <= 1
               for x, _ in batches)


def test_without_char_features_and_unidirectional(small_data, tmp_path):
    out = tmp_path / "run"
    argv = ["--data", str(small_data), "--out", str(out), "--no-char-features",
            "--no-bidirectional", "--cell", "gru", *FAST]
    assert main(argv) == 0
    assert not (out / "chars.json").exists()
    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    assert [i.name for i in model.inputs] == ["words"]


def test_conllu_folder_without_valid_or_test_holds_out_train(tmp_path):
    folder = tmp_path / "ud"
    folder.mkdir()
    rows = []
    for k in range(30):
        rows += ["# sent", f"1\tThe\tthe\tDET\t_\t_\t2\tdet\t_\t_",
                 f"2\tcat{k}\tcat\tNOUN\t_\t_\t0\troot\t_\t_",
                 "3-4\tisn't\t_\t_\t_\t_\t_\t_\t_\t_", "3\tis\tbe\tAUX\t_\t_\t2\tcop\t_\t_",
                 "4\tn't\tnot\tPART\t_\t_\t2\tadvmod\t_\t_", ""]
    (folder / "x-ud-train.conllu").write_text("\n".join(rows))
    out = tmp_path / "run"
    assert main(["--data", str(folder), "--out", str(out), *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert "f1" not in metrics  # UPOS tags are not BIO
    assert metrics["test_sentences"] == 3
    assert Vocabulary.load(out / "tags.json").tokens == ["<pad>", "AUX", "DET", "NOUN", "PART"]


def test_malformed_file_gives_exit_2_and_one_line_naming_it(small_data, tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    for split in ("valid", "test"):
        (folder / f"{split}.conll").write_text((small_data / f"{split}.conll").read_text())
    (folder / "train.conll").write_text("Jordan B-PER\nsaid O extra\n")
    code = run_main(main, ["--data", str(folder), "--out", str(tmp_path / "run"), *FAST],
                    prog="tagging")
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "train.conll:2:" in err and err.startswith("tagging: error:")
    assert not (tmp_path / "run").exists()


def test_missing_folder_and_bad_tag_column_are_one_line_errors(small_data, tmp_path, capsys):
    assert run_main(main, ["--data", str(tmp_path / "nope"), *FAST], prog="tagging") == 2
    assert "nope" in capsys.readouterr().err
    argv = ["--data", str(small_data), "--tag-column", "upos", "--out", str(tmp_path / "r"), *FAST]
    assert run_main(main, argv, prog="tagging") == 2
    assert "--tag-column" in capsys.readouterr().err


@pytest.mark.skipif(not UD_LINES.is_dir(), reason="../shared/data/ud_english_lines is absent")
def test_reads_the_real_ud_lines_treebank(tmp_path):
    train = read_tagged(UD_LINES / "en_lines-ud-train.conllu")
    data = TaggingData.fit(train, min_freq=2)
    x, y = data.encode(train[:5])
    assert x["chars"].shape[:2] == x["words"].shape == y.shape
    assert len(data.tags) == 18  # 17 UPOS tags + padding
