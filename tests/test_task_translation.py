"""The translation recipe end to end on a few pairs, its saved run, and its one-line errors."""

import json
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from seqtasks.recipes.translation import main
from seqtasks.data.embedded import embedded_path
from seqtasks.models.translator import (Translator, build_translator, inference_models_from,
                                        parallel_splits, translate_texts)
from seqtasks.recipe import run_main

MULTI30K = Path(__file__).resolve().parents[2] / "shared" / "data" / "multi30k"
TINY = ["--units", "8", "--embedding-dim", "4", "--epochs", "1", "--batch-size", "8",
        "--max-seconds", "20", "--beam-size", "2", "--verbose", "0"]


def write_dates(folder, n_train=48, n_other=6):
    folder.mkdir()
    lines = embedded_path("dates", "train").read_text(encoding="utf-8").splitlines()
    (folder / "train.tsv").write_text("\n".join(lines[:n_train]) + "\n", encoding="utf-8")
    (folder / "valid.tsv").write_text("\n".join(lines[n_train:n_train + n_other]) + "\n")
    (folder / "test.tsv").write_text("\n".join(lines[-n_other:]) + "\n")
    return folder


def test_recipe_trains_saves_and_translates(tmp_path):
    data = write_dates(tmp_path / "dates")
    out = tmp_path / "run"
    assert main(["--data", str(data), "--out", str(out), *TINY]) == 0

    for name in ("model.keras", "source_vocab.json", "target_vocab.json", "translator.json",
                 "history.csv", "metrics.json", "loss.png", "attention.png",
                 "translations.csv", "config.json"):
        assert (out / name).is_file(), name
    assert not (tmp_path / "run.partial").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    for decoder in ("greedy", "beam"):
        assert 0.0 <= metrics[decoder]["bleu"] <= 100.0
        assert 0.0 <= metrics[decoder]["exact_match"] <= 1.0
    assert metrics["test_pairs"] == 6 and metrics["beam"]["beam_size"] == 2
    table = pd.read_csv(out / "translations.csv", dtype=str, keep_default_na=False)
    assert list(table.columns) == ["source", "reference", "greedy", "beam"]
    assert len(table) == 6
    assert json.loads((out / "config.json").read_text())["data"] == str(data)

    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    source = np.array([[5, 6, 7, 0]])
    probs = np.asarray(model({"source": source, "target_in": np.array([[2, 5, 6]])}))
    assert probs.shape[:2] == (1, 3)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)

    # The run's own translations come back from the saved folder.
    sources = list(table["source"])
    assert translate_texts(out, sources, beam_size=2) == list(table["beam"])
    translator = Translator.load(out)
    assert translator.translate(sources, beam_size=1) == list(table["greedy"])
    # Incremental decoding: one step call per output position for all six sentences.
    assert translator.step_calls <= translator.max_output_length


def test_line_aligned_files_with_word_tokens(tmp_path):
    data = tmp_path / "parallel"
    data.mkdir()
    english = ["a dog runs .", "a cat sleeps .", "two dogs run .", "the cat runs ."] * 6
    german = ["ein Hund rennt .", "eine Katze schläft .", "zwei Hunde rennen .",
              "die Katze rennt ."] * 6
    for split, n in (("train", 16), ("val", 4), ("test_2016_flickr", 4)):
        (data / f"{split}.en").write_text("\n".join(english[:n]) + "\n", encoding="utf-8")
        (data / f"{split}.de").write_text("\n".join(german[:n]) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    argv = ["--data", str(data), "--source-lang", "en", "--target-lang", "de",
            "--tokens", "word", "--min-freq", "1", "--out", str(out), *TINY]
    assert main(argv) == 0
    translator = Translator.load(out)
    assert "Hund" in translator.target_vocab.tokens  # the target keeps its case
    table = pd.read_csv(out / "translations.csv", dtype=str, keep_default_na=False)
    assert table["reference"].tolist() == german[:4]


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_one_step_decoder_matches_the_teacher_forced_model(attention, cell):
    model = build_translator(20, 15, embedding_dim=6, cell=cell, units=8, depth=2,
                             attention=attention)
    source = np.array([[3, 4, 5, 6], [7, 8, 0, 0]])
    target_in = np.array([[2, 5, 6, 9], [2, 7, 0, 0]])
    expected = np.asarray(model({"source": source, "target_in": target_in}))
    encoder, step = inference_models_from(model)
    memory, keys, *states = encoder.predict_on_batch(source)
    for t in range(target_in.shape[1]):
        log_probs, weights, *states = step.predict_on_batch(
            [target_in[:, t:t + 1], memory, keys, source != 0, *states])
        np.testing.assert_allclose(np.exp(log_probs[0]), expected[0, t], atol=1e-5)
        if t < 2:
            np.testing.assert_allclose(np.exp(log_probs[1]), expected[1, t], atol=1e-5)
        # Attention is a distribution over the real (unpadded) source tokens only.
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
        assert np.all(weights[1, 2:] == 0.0)


def test_a_large_vocabulary_is_learned_past_the_unigram_loss():
    # Word-for-word "translation" over a Zipfian vocabulary of 1,000 words. With a tanh
    # attentional layer (Luong's) this stalled at the unigram loss (4.92 vs entropy 4.88
    # after 8 epochs); the linear one reaches 1.9.
    from seqtasks.models.translator import teacher_forcing_dataset

    rng = np.random.default_rng(0)
    vocab, pairs = 1000, 3000
    frequency = 1.0 / np.arange(1, vocab + 1)
    source = [list(rng.choice(vocab, size=rng.integers(4, 10), p=frequency / frequency.sum())
                   + 4) for _ in range(pairs)]
    word_for = rng.permutation(vocab) + 4
    target = [[int(word_for[i - 4]) for i in sentence] for sentence in source]
    counts = np.bincount([t for sentence in target for t in sentence] + [3] * pairs)
    unigram = counts[counts > 0] / counts.sum()
    unigram_loss = -(unigram * np.log(unigram)).sum()

    keras.utils.set_random_seed(0)
    model = build_translator(vocab + 4, vocab + 4, embedding_dim=32, cell="gru", units=64)
    model.compile(keras.optimizers.Adam(3e-3, global_clipnorm=1.0),
                  "sparse_categorical_crossentropy")
    history = model.fit(teacher_forcing_dataset(source, target, 2, 3, 64), epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.6 * unigram_loss


def test_padding_does_not_change_a_translation():
    model = build_translator(20, 15, embedding_dim=6, cell="lstm", units=8)
    encoder, step = inference_models_from(model)
    short = np.array([[3, 4, 5]])
    padded = np.array([[3, 4, 5, 0, 0, 0]])
    outputs = []
    for source in (short, padded):
        memory, keys, *states = encoder.predict_on_batch(source)
        log_probs, *_ = step.predict_on_batch(
            [np.array([[2]]), memory, keys, source != 0, *states])
        outputs.append(log_probs)
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-5)


def test_bad_tsv_line_is_one_line_error_naming_the_file(tmp_path, capsys):
    data = write_dates(tmp_path / "dates")
    with open(data / "train.tsv", "a", encoding="utf-8") as f:
        f.write("no tab on this line\n")
    code = run_main(main, ["--data", str(data), "--out", str(tmp_path / "run"), *TINY],
                    prog="translation")
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "train.tsv:49" in err and "expected 2" in err


def test_missing_or_misaligned_target_files_are_one_line_errors(tmp_path, capsys):
    data = tmp_path / "parallel"
    data.mkdir()
    (data / "train.en").write_text("a\nb\nc\n")
    argv = ["--data", str(data), "--source-lang", "en", "--target-lang", "de",
            "--out", str(tmp_path / "run"), *TINY]
    assert run_main(main, argv, prog="translation") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "train.en" in err and "train.de" in err

    (data / "train.de").write_text("x\ny\n")
    assert run_main(main, argv, prog="translation") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not line-aligned" in err and "train.de" in err

    assert run_main(main, argv[:3] + argv[5:], prog="translation") == 2  # no --target-lang
    assert "--target-lang" in capsys.readouterr().err


def test_translate_texts_on_a_folder_without_a_run(tmp_path, capsys):
    code = run_main(lambda argv: translate_texts(tmp_path, ["hello"]), [], prog="translate")
    assert code == 2
    assert str(tmp_path) in capsys.readouterr().err


@pytest.mark.skipif(not MULTI30K.is_dir(), reason="needs ../shared/data/multi30k")
def test_multi30k_splits_are_found_and_aligned():
    splits = parallel_splits(MULTI30K, "en", "de")
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [29000, 1014, 1000]
    assert splits["valid"][0] == ("A group of men are loading cotton onto a truck",
                                  "Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen")
