"""The tagging task: preprocessing, predictions, bad input, the config; a few whole runs."""

import io
import json
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from recipe_scripts import recipe_main

import seqtasks
from seqtasks.data.embedded import embedded_path
from seqtasks.data.readers import read_tagged
from seqtasks.data.word_features import SLOTS, feature_ids
from seqtasks.errors import ConfigError, DataError
from seqtasks.models.mixtures import average_of_taggers
from seqtasks.models.tagger import build_tagger
from seqtasks.tasks import members, tagging
from seqtasks.tasks.config import parse_config
from seqtasks.tasks.runner import run_task

REPOSITORY = Path(__file__).resolve().parents[1]
UD_LINES = REPOSITORY.parent / "shared" / "data" / "ud_english_lines"
SENTENCES = [(["Jordan", "told", "reporters", "."], ["B-PER", "O", "O", "O"]),
             (["Ford", "Motor", "said"], ["B-ORG", "I-ORG", "O"])]
FAST = {"units": 8, "embedding_dim": 8, "char_filters": 8, "epochs": 1, "max_seconds": None,
        "verbose": 0}


def write_conll(path, sentences):
    blocks = ("\n".join(f"{t} {g}" for t, g in zip(*sentence)) for sentence in sentences)
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def write_conllu(path, sentences):
    rows = []
    for tokens, tags in sentences:
        rows += ["# sent_id = x"] + [f"{k}\t{t}\t_\t{g}\t_\t_\t0\t_\t_\t_"
                                     for k, (t, g) in enumerate(zip(tokens, tags), start=1)]
        rows.append("")
    path.write_text("\n".join(rows), encoding="utf-8")


def embedded_folder(folder, sizes):
    """A --data folder with the first sentences of each embedded split (`sizes`)."""
    folder.mkdir()
    for split, size in sizes.items():
        write_conll(folder / f"{split}.conll", read_tagged(embedded_path("tagging", split))[:size])
    return folder


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    return embedded_folder(tmp_path_factory.mktemp("tagging") / "data",
                           {"train": 60, "valid": 20, "test": 20})


def tiny_predictor(chars=True):
    preprocessor = tagging.Preprocessor.fit(SENTENCES, min_freq=1, chars=chars)
    config = tagging.Config(**FAST, char_features=chars)
    model = tagging.build(config, SimpleNamespace(preprocessor=preprocessor))
    return tagging.Predictor(model, preprocessor, config)


# Preprocessing

@pytest.mark.parametrize("chars", [True, False])
def test_preprocessor_round_trips_through_its_config(chars):
    fitted = tagging.Preprocessor.fit(SENTENCES, min_freq=1, chars=chars)
    loaded = tagging.Preprocessor.from_config(json.loads(json.dumps(fitted.get_config())))
    token_lists = [["Jordan", "said", "Zyx-unseen"], ["."]]
    expected, got = fitted.encode(token_lists), loaded.encode(token_lists)
    assert sorted(got) == (["chars", "words"] if chars else ["words"])
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])
    assert got["words"].tolist() == [[4, 7, 1], [2, 0, 0]]
    assert loaded.tags.tokens == fitted.tags.tokens == ["<pad>", "O", "B-ORG", "B-PER", "I-ORG"]


def test_the_hashed_features_are_encoded_on_request_and_their_buckets_round_trip():
    fitted = tagging.Preprocessor.fit(SENTENCES, min_freq=1)
    fitted.feature_buckets = 128
    loaded = tagging.Preprocessor.from_config(json.loads(json.dumps(fitted.get_config())))
    token_lists = [["Jordan", "said"], ["."]]
    inputs = loaded.encode(token_lists, ("words", "features"))
    assert sorted(inputs) == ["features", "words"] and inputs["features"].shape == (2, 2, SLOTS)
    np.testing.assert_array_equal(inputs["features"][0], feature_ids(["Jordan", "said"], 128))
    assert inputs["features"][1, 1].tolist() == [0] * SLOTS  # padding
    older = {key: value for key, value in fitted.get_config().items()
             if key != "feature_buckets"}  # a run saved before the feature tagger
    assert tagging.Preprocessor.from_config(older).feature_buckets == tagging.FEATURE_BUCKETS


def test_lower_cased_words_keep_their_case_in_the_characters_and_round_trip():
    fitted = tagging.Preprocessor.fit(SENTENCES, min_freq=1, lowercase=True)
    loaded = tagging.Preprocessor.from_config(json.loads(json.dumps(fitted.get_config())))
    for preprocessor in (fitted, loaded):
        inputs = preprocessor.encode([["FORD", "ford", "Ford"]])
        assert len(set(inputs["words"][0].tolist())) == 1 and preprocessor.knows("FORD")
        assert len({tuple(row) for row in inputs["chars"][0].tolist()}) == 3
    assert "Ford" not in fitted.words and "ford" in fitted.words


def test_characters_are_encoded_per_word_and_cut_to_the_longest_word_length():
    preprocessor = tagging.Preprocessor.fit(SENTENCES, min_freq=1, max_word_length=3)
    chars = preprocessor.encode([["Ford", "Q"]])["chars"]
    assert chars.shape == (1, 2, 3)
    assert preprocessor.chars.decode(chars[0, 0]) == ["F", "o", "r"]
    assert chars[0, 1].tolist() == [preprocessor.chars.unk_id, 0, 0]


def test_softmax_tags_never_include_padding_and_each_sentence_is_cut_to_its_length():
    preprocessor = tagging.Preprocessor.fit(SENTENCES, min_freq=1)
    probabilities = np.zeros((2, 3, len(preprocessor.tags)))
    probabilities[..., 0] = 0.9  # <pad> is the most likely and never chosen
    probabilities[0, :, 3] = probabilities[1, :, 1] = 0.1
    model = build_tagger(10, len(preprocessor.tags), embedding_dim=2, units=2)
    tag_ids = tagging.best_tag_ids(model, probabilities, [3, 1])
    assert preprocessor.decode(tag_ids, [3, 1]) == [["B-PER"] * 3, ["O"]]


def test_batches_hold_sentences_of_similar_lengths():
    sentences = [(["w"] * n, ["O"] * n) for n in [1, 9, 2, 8, 3, 7, 1, 9]]
    preprocessor = tagging.Preprocessor.fit(sentences, min_freq=1, chars=False)
    batches = tagging.tagged_batches(preprocessor, sentences, batch_size=2, seed=0)
    encoded = [batches[k] for k in range(len(batches))]
    assert sum(int((y > 0).sum()) for _, y in encoded) == 40
    assert all(x["words"].shape[1] - (x["words"] > 0).sum(1).min() <= 1 for x, _ in encoded)


@pytest.mark.parametrize("chars,bidirectional", [(None, False), (7, True)])
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


# Predictions

def test_predictor_tags_strings_and_token_lists_and_writes_tab_separated_lines():
    predictor = tiny_predictor()
    results = predictor.predict(["Jordan  told reporters .", ["Ford", "said"], ""])
    assert [[token for token, _ in pairs] for pairs in results] == [
        ["Jordan", "told", "reporters", "."], ["Ford", "said"], []]
    tags = {tag for pairs in results for _, tag in pairs}
    assert tags <= set(predictor.preprocessor.tags.tokens[1:])
    assert predictor.predict("Ford said") == results[1:2]
    assert predictor.predict([]) == []

    out = io.StringIO()
    predictor.write(results, out)
    sentences = out.getvalue().split("\n\n")
    assert out.getvalue().endswith("\n\n\n")  # the empty sentence is a blank line too
    assert sentences[1] == "\n".join(f"{t}\t{g}" for t, g in results[1])


def test_predictor_without_characters_and_bad_sentences():
    predictor = tiny_predictor(chars=False)
    assert [i.name for i in predictor.model.inputs] == ["words"]
    assert len(predictor.predict([["Jordan", "unseen"]])[0]) == 2
    with pytest.raises(ConfigError, match="list of string tokens"):
        predictor.predict([["Jordan", 3]])


# Bad input

def test_a_conll_line_with_the_wrong_column_count_is_a_data_error_naming_it(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "train.conll").write_text("Jordan B-PER\nsaid O extra\n")
    with pytest.raises(DataError, match=r"train\.conll:2: found 3 columns"):
        tagging.prepare(tagging.Config(data=folder, **FAST))


def test_a_valid_tag_unseen_in_training_is_a_data_error_naming_its_line(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_conll(folder / "train.conll", SENTENCES * 3)
    write_conll(folder / "valid.conll", [SENTENCES[0], (["Paris", "O"], ["B-LOC", "O"])])
    write_conll(folder / "test.conll", SENTENCES)
    with pytest.raises(DataError, match=r"valid\.conll:6: tag 'B-LOC' does not occur"):
        tagging.prepare(tagging.Config(data=folder, **FAST))


def test_test_tags_unseen_in_training_are_noted_at_their_line_and_count_as_errors(
        tmp_path, capsys):
    """As in CoNLL-2000, whose test set has I-LST and whose training set does not."""
    folder = tmp_path / "data"
    folder.mkdir()
    write_conll(folder / "train.conll", SENTENCES * 3)
    write_conll(folder / "valid.conll", SENTENCES)
    write_conll(folder / "test.conll", [SENTENCES[0], (["Paris", "Rome"], ["B-LOC", "B-LOC"])])
    data = tagging.prepare(tagging.Config(data=folder, **{**FAST, "verbose": 1}))
    note = capsys.readouterr().out.strip().splitlines()[-1]
    assert note.endswith("test.conll:6: test tags that do not occur in the training "
                         "sentences count as errors (the model cannot predict them): "
                         "'B-LOC' (2)"), note
    model = tagging.build(tagging.Config(**FAST), data)
    metrics = tagging.evaluate(model, data, tagging.Config(**FAST))
    assert metrics["unseen_tag_tokens"] == 2
    gold_tokens = sum(len(tags) for _, tags in data.sentences["test"])
    assert metrics["accuracy"] <= (gold_tokens - 2) / gold_tokens


def test_a_conllu_folder_without_valid_or_test_holds_them_out_of_train(tmp_path):
    folder = tmp_path / "ud"
    folder.mkdir()
    write_conllu(folder / "x-ud-train.conllu",
                 [(["The", f"cat{k}", "is", "n't"], ["DET", "NOUN", "AUX", "PART"])
                  for k in range(30)])
    data = tagging.prepare(tagging.Config(data=folder, **FAST))
    assert [len(data.sentences[split]) for split in tagging.SPLITS] == [24, 3, 3]
    assert data.paths["test"] == folder / "x-ud-train.conllu"
    assert sorted(data.preprocessor.tags.tokens) == ["<pad>", "AUX", "DET", "NOUN", "PART"]
    lemmas = tagging.prepare(tagging.Config(data=folder, tag_column="lemma", **FAST))
    assert "_" in lemmas.preprocessor.tags


def test_missing_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="nope"):
        tagging.prepare(tagging.Config(data=tmp_path / "nope", **FAST))


# The config

def test_config_defaults_and_checks():
    config = tagging.Config()
    assert (config.cell, config.units, config.bidirectional, config.epochs,
            config.learning_rate, config.max_seconds) == ("lstm", 128, True, 40, 2e-3, 150.0)
    assert (config.char_features, config.char_filters, config.embedding_dim,
            config.min_freq, config.tag_column) == (True, 64, 100, 2, None)
    assert (config.output, config.char_encoder, config.word_dropout, config.dropout,
            config.lowercase, config.ema) == ("crf", "cnn", 0.25, 0.33, True, 0.999)
    assert (config.monitor, config.patience, config.members) == ("val_accuracy", 5, 3)
    assert tagging.Config(tag_column="XPOS").tag_column == "xpos"
    assert tagging.Config(cell="tdnn", bidirectional=False).cell == "tdnn"
    for bad, message in (({"cell": "tdnn"}, "cannot be bidirectional"),
                         ({"tag_column": "tags"}, "tag_column"),
                         ({"char_filters": 0}, "char_filters"), ({"min_freq": 0}, "min_freq"),
                         ({"cell": "bogus"}, "cell"), ({"members": 0}, "members")):
        with pytest.raises(ConfigError, match=message):
            tagging.Config(**bad)
    saved = tagging.Config(data="some/folder", tag_column="-2", char_features=False)
    assert tagging.Config.from_json(json.loads(json.dumps(saved.to_json()))) == saved


@pytest.mark.parametrize("max_seconds, trained", [(100.0, 2), (130.0, 3), (70.0, 1), (None, 3)])
def test_more_taggers_train_while_the_budget_left_covers_the_longest_so_far(
        monkeypatch, tmp_path, max_seconds, trained):
    """Each tagger takes 40 s here: with 100 s, the second starts (60 s left), the third
    not (20 s left); the extra taggers get the time left and seeds after the run's."""
    seen = []

    def fake_train(model, data, config, work):
        seen.append((config.seed, config.max_seconds))
        return SimpleNamespace(attrs={"seconds": 40.0})

    monkeypatch.setattr(tagging, "build", lambda config, data: SimpleNamespace())
    monkeypatch.setattr(members, "train", fake_train)
    monkeypatch.setattr(tagging, "average_of_taggers", lambda taggers: ("average", taggers))
    config = tagging.Config(max_seconds=max_seconds, seed=5, features=False, verbose=0)
    first = SimpleNamespace(name="tagger")
    kept = tagging.finish(first, None, config, tmp_path, SimpleNamespace(attrs={"seconds": 40.0}))
    assert [seed for seed, _ in seen] == [6, 7][:trained - 1]
    if max_seconds is not None:
        assert [left for _, left in seen] == [max_seconds - 40 * k for k in range(1, trained)]
    if trained == 1:
        assert kept is first
    else:
        assert kept[0] == "average" and kept[1][0] is first and len(kept[1]) == trained


def test_the_feature_tagger_trains_first_its_time_counts_and_it_joins_with_its_weight(
        monkeypatch, tmp_path):
    """The first tagger took 40 s, the feature tagger 30 s: of 130 s, 60 are left, so
    one more recurrent tagger trains (not two, as without features); the feature tagger
    joins the two with weight 0.4, they share the rest."""
    seen, features = [], SimpleNamespace(name=tagging.FEATURE_TAGGER)

    def fake_train(model, data, config, work):
        seen.append(config.max_seconds)
        return SimpleNamespace(attrs={"seconds": 40.0})

    monkeypatch.setattr(tagging, "build", lambda config, data: SimpleNamespace())
    monkeypatch.setattr(members, "train", fake_train)
    monkeypatch.setattr(tagging, "train_feature_tagger",
                        lambda data, config, work, spent: (features, 30.0))
    monkeypatch.setattr(tagging, "feature_weight", lambda *args: 0.4)
    monkeypatch.setattr(tagging, "average_of_taggers",
                        lambda taggers, weights=None: (taggers, weights))
    config = tagging.Config(max_seconds=130.0, verbose=0)
    first = SimpleNamespace(name="tagger")
    taggers, weights = tagging.finish(first, None, config, tmp_path,
                                      SimpleNamespace(attrs={"seconds": 40.0}))
    assert seen == [60.0] and len(taggers) == 3
    assert taggers[0] is first and taggers[-1] is features
    assert weights == pytest.approx([0.3, 0.3, 0.4])
    monkeypatch.setattr(tagging, "feature_weight", lambda *args: 0.0)
    kept = tagging.finish(first, None, config.replace(members=1), tmp_path,
                          SimpleNamespace(attrs={"seconds": 40.0}))
    assert kept is first  # a weight of 0 keeps the recurrent taggers alone
    # The first tagger used the whole budget: no feature tagger, no more taggers.
    monkeypatch.setattr(tagging, "train_feature_tagger", None)
    kept = tagging.finish(first, None, config, tmp_path,
                          SimpleNamespace(attrs={"seconds": 130.0}))
    assert kept is first and seen == [60.0]


def test_the_feature_tagger_gets_a_weight_where_it_tags_better_and_the_mix_predicts(
        small_data, tmp_path):
    """A trained feature tagger beside an untrained recurrent one: the weight chosen on
    the validation sentences is above 0; the mixed tagger takes all three inputs, tags
    every word, and reports its parts."""
    keras.utils.set_random_seed(0)
    config = tagging.Config(data=small_data, **FAST)
    data = tagging.prepare(config)
    features, seconds = tagging.train_feature_tagger(data, config, tmp_path, 0.0)
    assert seconds >= 0 and (tmp_path / "features" / "history.csv").exists()
    recurrent = tagging.build(config, data)
    weight = tagging.feature_weight(recurrent, features, data, config)
    assert 0.0 < weight <= 1.0
    mixed = average_of_taggers([recurrent, features], [1.0 - weight, weight])
    assert set(mixed.input) == {"words", "chars", "features"}
    assert tagging.parts_of(mixed) == {"members": 1, "feature_weight": weight}
    assert tagging.parts_of(recurrent) == {"members": 1, "feature_weight": 0.0}
    token_lists = [tokens for tokens, _ in data.sentences["test"]]
    tags = tagging.Predictor(mixed, data.preprocessor, config).predict(token_lists)
    assert [len(pairs) for pairs in tags] == [len(tokens) for tokens in token_lists]


def test_flags_have_help_and_bad_values_exit_with_code_2(capsys):
    config = parse_config(tagging, ["--no-bidirectional", "--cell", "tdnn", "--tag-column",
                                    "3", "--no-char-features"])
    assert (config.bidirectional, config.cell, config.tag_column) == (False, "tdnn", "3")
    with pytest.raises(SystemExit) as exit:
        parse_config(tagging, ["--char-filters", "0"])
    assert exit.value.code == 2 and "--char-filters" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_config(tagging, ["--help"])
    help_text = capsys.readouterr().out
    for flag in ("--tag-column", "--char-features", "--char-filters", "--min-freq", "tdnn"):
        assert flag in help_text


def test_a_field_name_as_tag_column_of_a_conll_file_is_a_config_error(small_data):
    with pytest.raises(ConfigError, match="column number"):
        tagging.prepare(tagging.Config(data=small_data, tag_column="upos", **FAST))


@pytest.mark.skipif(not UD_LINES.is_dir(),
                    reason=f"the real-data folder {UD_LINES} (UD English LinES) is absent")
def test_reads_the_real_ud_lines_treebank():
    data = tagging.prepare(tagging.Config(data=UD_LINES, **FAST))
    assert [len(data.sentences[split]) for split in tagging.SPLITS] == [3457, 1118, 1121]
    assert len(data.preprocessor.tags) == 18  # 17 UPOS tags + padding
    x, y = data.train[0]
    assert x["chars"].shape[:2] == x["words"].shape == y.shape


# Whole runs

def predictions_of(run_dir):
    """The tokens and predicted tags of a run's predictions.txt, per sentence."""
    text = (run_dir / "predictions.txt").read_text(encoding="utf-8")
    sentences = [block.splitlines() for block in text.split("\n\n") if block.strip()]
    return [[line.split("\t") for line in lines if not line.startswith("#")]
            for lines in sentences]


@pytest.mark.e2e
def test_run_task_and_the_recipe_give_the_same_run(small_data, tmp_path):
    flags = ["--data", str(small_data), "--units", "8", "--embedding-dim", "8",
             "--no-char-features", "--epochs", "1", "--no-bidirectional", "--verbose", "0",
             "--members", "1", "--no-features", "--max-seconds", "none"]
    metrics = run_task(tagging, parse_config(tagging, [*flags, "--out", str(tmp_path / "task")]))
    assert recipe_main("tagging")([*flags, "--out", str(tmp_path / "recipe")]) == 0
    recipe_metrics = json.loads((tmp_path / "recipe" / "metrics.json").read_text())
    assert recipe_metrics["accuracy"] == metrics["accuracy"]
    assert 0.0 <= metrics["f1"] <= 1.0 and metrics["test_sentences"] == 20


@pytest.mark.e2e
def test_a_run_of_two_members_and_a_feature_tagger_keeps_their_mix_and_loads_back(
        small_data, tmp_path):
    run_dir = tmp_path / "task"
    metrics = run_task(tagging, parse_config(tagging, [
        "--data", str(small_data), "--units", "8", "--embedding-dim", "8", "--char-filters",
        "8", "--epochs", "1", "--no-bidirectional", "--verbose", "0", "--members", "2",
        "--max-seconds", "none", "--out", str(run_dir)]))
    # Two taggers (the second in members/1), averaged into the one the run keeps.
    assert metrics["members"] == 2
    assert (run_dir / "members" / "1" / "history.csv").exists()
    assert (run_dir / "features" / "history.csv").exists()
    assert 0.0 <= metrics["feature_weight"] <= 1.0
    for name in ("model.keras", "preprocessing.json", "config.json", "metrics.json",
                 "history.csv", "loss.png", "confusion.png", "predictions.txt"):
        assert (run_dir / name).stat().st_size > 0, name
    written = predictions_of(run_dir)
    assert all(len(fields) in (3, 4) for sentence in written for fields in sentence)
    predicted = seqtasks.load(run_dir).predict([[f[0] for f in s] for s in written])
    assert predicted == [[(f[0], f[2]) for f in s] for s in written]


@pytest.mark.e2e
@pytest.mark.slow
def test_bidirectional_tagger_resolves_names_by_the_words_after_them(tmp_path):
    """The embedded data's quality bar, scaled down (a sixth of the sentences, a fast
    learning rate): a name's entity type shows only in the words after it, so the
    BiLSTM's entity F1 is far above a left-to-right LSTM's. Per-word softmaxes, so that
    each tag comes from the recurrent state alone (a CRF's Viterbi path also looks ahead)."""
    folder = embedded_folder(tmp_path / "data", {"train": 800, "valid": 100, "test": 200})
    f1 = {}
    for bidirectional in (True, False):
        config = tagging.Config(data=folder, bidirectional=bidirectional, units=16,
                                output="softmax",
                                batch_size=16, epochs=3, learning_rate=0.01,
                                char_features=False, members=1, features=False, verbose=0,
                                out=tmp_path / f"run-{bidirectional}")
        f1[bidirectional] = run_task(tagging, config)["f1"]
    assert f1[True] > 0.85 and f1[True] > f1[False] + 0.4, f1


def test_crf_decoding_follows_the_transitions_and_never_gives_the_padding_tag():
    """With equal potentials the CRF's path is the transitions' best path; the padding
    tag 0 is never chosen even when its potential is the highest."""
    model = build_tagger(10, 3, embedding_dim=2, units=2, output="crf")
    model.crf.transitions.assign([[0.0, 0.0, 0.0], [0.0, -5.0, 5.0], [0.0, 5.0, -5.0]])
    outputs = np.zeros((1, 4, 3), "float32")
    outputs[..., 0] = 9.0
    outputs[0, 0, 1] = 1.0  # starts with tag 1, then alternates
    assert tagging.best_tag_ids(model, outputs, [4]).tolist() == [[1, 2, 1, 2]]
    softmax = build_tagger(10, 3, embedding_dim=2, units=2)
    assert tagging.best_tag_ids(softmax, outputs, [4]).tolist() == [[1, 1, 1, 1]]
