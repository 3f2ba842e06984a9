"""The trees task: preprocessing, the accuracies, a tiny run that loads back and predicts,
and clean errors for bad trees."""

import io
import json

import keras
import numpy as np
import pandas as pd
import pytest

import seqtasks
from seqtasks.cli import main as cli
from seqtasks.data.batching import tf_dataset
from seqtasks.data.embedded import embedded_path
from seqtasks.data.trees import parse_tree
from seqtasks.errors import ConfigError, DataError
from seqtasks.tasks import trees

TINY = ["--epochs", "1", "--units", "8", "--embedding-dim", "8", "--batch-size", "8",
        "--max-seconds", "20", "--verbose", "0"]


def main(argv):
    return cli(["run", "trees", *argv])


def embedded_lines(split, n):
    return embedded_path("trees", split).read_text(encoding="utf-8").splitlines()[:n]


@pytest.fixture
def sst_like(tmp_path):
    """A folder laid out like the SST trees: train.txt, dev.txt, test.txt."""
    folder = tmp_path / "sst"
    folder.mkdir()
    for name, split, n in (("train", "train", 80), ("dev", "valid", 16), ("test", "test", 24)):
        (folder / f"{name}.txt").write_text("\n".join(embedded_lines(split, n)) + "\n",
                                            encoding="utf-8")
    return folder


def test_fixed_settings_are_refused_with_the_setting_named():
    with pytest.raises(ConfigError, match="cell must be 'lstm'"):
        trees.Config(cell="gru")
    with pytest.raises(ConfigError, match="depth must be 1"):
        trees.Config(depth=2)


def test_preprocessor_lowercases_words_chooses_the_composition_and_round_trips():
    binary = trees.Preprocessor.fit([parse_tree("(3 (2 The) (4 Good))")])
    assert binary.composition == "binary" and binary.num_classes == 5
    assert binary.words.tokens[2:] == ["good", "the"]
    wide = trees.Preprocessor.fit([parse_tree("(3 (2 a) (2 b) (7 c))")], lowercase=False)
    assert wide.composition == "childsum" and wide.num_classes == 8
    wide.binary_bias = 0.25
    again = trees.Preprocessor.from_config(json.loads(json.dumps(wide.get_config())))
    assert again.binary_bias == 0.25
    older = {k: v for k, v in wide.get_config().items() if k != "binary_bias"}
    assert trees.Preprocessor.from_config(older).binary_bias == 0.0
    batch = again.encode([parse_tree("(1 (1 a) (1 b) (1 zzz))")])
    assert batch.tokens.tolist() == [[wide.word_id("a"), wide.word_id("b"), 1, 0]]


def test_a_binary_model_refuses_a_node_with_three_children():
    binary = trees.Preprocessor.fit([parse_tree("(3 (2 a) (4 b))")])
    with pytest.raises(DataError, match="3 children"):
        binary.encode([parse_tree("(3 (2 a) (2 b) (2 a))")])


def test_binary_accuracy_compares_probability_mass_on_non_neutral_gold():
    probabilities = np.array([[0.3, 0.3, 0.0, 0.4, 0.0],   # negative mass 0.6: negative
                              [0.0, 0.1, 0.5, 0.0, 0.4],   # positive
                              [0.9, 0.0, 0.1, 0.0, 0.0]])  # gold neutral: not counted
    assert trees.binary_accuracy(np.array([1, 1, 2]), probabilities) == 0.5
    assert trees.binary_accuracy(np.array([2]), probabilities[:1]) is None
    assert trees.polarity([0, 1, 2, 3, 4], 5).tolist() == [-1, -1, 0, 1, 1]
    # A bias moves the decision: row 1 has log odds log(0.4 / 0.1) = 1.39.
    assert trees.binary_accuracy(np.array([1, 1]), probabilities[:2], bias=1.5) == 1.0
    assert trees.polarities(probabilities, 1.5).tolist() == [-1, -1, -1]


def test_binary_bias_fits_the_side_a_model_favours_on_non_neutral_gold():
    """A model that puts 0.6 of its mass on the positive side where the gold is
    negative half the time: the fitted bias moves the threshold up to log(0.6 / 0.4)
    on a grid of 0.01, and decides more rows right than no bias."""
    rng = np.random.default_rng(0)
    gold = rng.choice([0, 1, 3, 4], 400)
    positive_mass = np.where(gold >= 3, 0.8, 0.6)  # biased towards positive
    probabilities = np.zeros((400, 5))
    probabilities[:, 3] = positive_mass
    probabilities[:, 1] = 1.0 - positive_mass
    bias = trees.binary_bias(gold, probabilities)
    assert np.log(0.6 / 0.4) <= bias <= np.log(0.8 / 0.2)
    assert trees.binary_accuracy(gold, probabilities, bias) == 1.0
    assert trees.binary_accuracy(gold, probabilities) < 0.6
    assert trees.binary_bias(np.array([2, 2]), probabilities[:2]) == 0.0  # all neutral


def test_phrases_are_distinct_labelled_word_lists():
    tree = parse_tree("(3 (2 (2 the) (2 film)) (3 (2 was) (3 (2 the) (2 film))))")
    words, labels = trees.phrases([tree], str)
    assert sorted(map(tuple, words)) == sorted([("the",), ("film",), ("was",),
                                                 ("the", "film"), ("was", "the", "film"),
                                                 ("the", "film", "was", "the", "film")])
    assert labels[words.index(["was", "the", "film"])] == 3


def test_validation_accuracy_is_the_root_accuracy_over_batches_of_any_size():
    lines = embedded_lines("valid", 60)
    valid = [parse_tree(line) for line in lines]
    preprocessor = trees.Preprocessor.fit(valid)
    config = trees.Config(units=4, embedding_dim=4, verbose=0)
    data = trees.Data({"train": valid}, {}, preprocessor, None, None)
    model = trees.build(config, data)
    batches = trees.node_batches(preprocessor, valid, 8, roots_only=True, shuffle=False)
    assert len({batches[k][1].shape[1] for k in range(len(batches))}) > 1  # sizes differ
    hits = 0
    for k in range(len(batches)):
        x, y, w = batches[k]
        hits += ((model.predict_on_batch(x).argmax(-1) == y) & (w > 0)).sum()
    roots = trees.root_probabilities(model, preprocessor, valid, 8)
    assert hits == (roots.argmax(-1) == [tree.label for tree in valid]).sum()
    source = tf_dataset(batches) if keras.backend.backend() == "tensorflow" else batches
    evaluated = model.evaluate(source, verbose=0, return_dict=True)["accuracy"]
    assert evaluated == pytest.approx(hits / len(valid), abs=1e-6)


@pytest.mark.parametrize("weight", [0.0, 0.3])
def test_finish_mixes_in_the_bag_of_words_with_its_weight_and_evaluate_reports_both(
        sst_like, tmp_path, monkeypatch, weight):
    keras.utils.set_random_seed(0)
    config = trees.Config(data=sst_like, units=4, embedding_dim=4, batch_size=8, epochs=1,
                          max_seconds=None, members=1, baseline="none", verbose=0)
    data = trees.prepare(config)
    model = trees.build(config, data)
    monkeypatch.setattr(trees, "mixture_weight", lambda *args: weight)
    kept = trees.finish(model, data, config, tmp_path, pd.DataFrame())
    assert (tmp_path / "words" / "history.csv").exists()
    metrics = trees.evaluate(kept, data, config)
    assert metrics["members"] == 1 and metrics["words_weight"] == weight
    valid = data.trees["valid"]
    assert data.preprocessor.binary_bias == metrics["binary_bias"] == trees.binary_bias(
        np.array([tree.label for tree in valid]),
        trees.root_probabilities(kept, data.preprocessor, valid))
    if not weight:
        assert kept is model and "tree_fine_accuracy" not in metrics
        return
    tree_models, words, mixed = trees.mixture_parts(kept)
    assert tree_models == [model] and mixed == 0.3
    assert 0.0 <= metrics["tree_fine_accuracy"] <= 1.0
    test = data.trees["test"]
    expected = (0.7 * trees.root_probabilities(model, data.preprocessor, test)
                + 0.3 * trees.root_probabilities(words, data.preprocessor, test))
    np.testing.assert_allclose(trees.root_probabilities(kept, data.preprocessor, test),
                               expected, rtol=1e-5, atol=1e-6)
    assert trees.finish(model, data, config.replace(words=False), tmp_path,
                        pd.DataFrame()) is model


def test_finish_averages_the_tree_lstms_of_members_and_the_kept_model_reloads(
        sst_like, tmp_path):
    keras.utils.set_random_seed(0)
    config = trees.Config(data=sst_like, units=4, embedding_dim=4, batch_size=8, epochs=1,
                          max_seconds=None, members=2, words=False, baseline="none",
                          verbose=0)
    data = trees.prepare(config)
    model = trees.build(config, data)
    kept = trees.finish(model, data, config, tmp_path, pd.DataFrame())
    assert (tmp_path / "members" / "1" / "history.csv").exists()
    tree_models, words, weight = trees.mixture_parts(kept)
    assert [m.name for m in tree_models] == ["tree_classifier", "tree_classifier_1"]
    assert words is None and weight == 0.0
    test = data.trees["test"]
    first, second = (trees.root_probabilities(m, data.preprocessor, test) for m in tree_models)
    assert not np.allclose(first, second)  # another seed
    averaged = trees.root_probabilities(kept, data.preprocessor, test)
    np.testing.assert_allclose(averaged, (first + second) / 2, rtol=1e-5, atol=1e-6)
    path = tmp_path / "kept.keras"
    kept.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(trees.root_probabilities(again, data.preprocessor, test),
                               averaged, rtol=1e-5, atol=1e-6)
    assert trees.evaluate(kept, data, config)["members"] == 2


def test_word_dropout_makes_words_unknown_in_training_and_leaves_inner_nodes():
    valid = [parse_tree(line) for line in embedded_lines("valid", 20)]
    preprocessor = trees.Preprocessor.fit(valid)
    config = trees.Config(units=4, embedding_dim=4, word_dropout=0.5, verbose=0)
    model = trees.build(config, trees.Data({"train": valid}, {}, preprocessor, None, None))
    tokens = preprocessor.inputs(valid)["tokens"]
    dropped = keras.ops.convert_to_numpy(model.get_layer("word_dropout")(tokens, training=True))
    assert ((dropped == 0) == (tokens == 0)).all()  # nodes without a word stay so
    replaced = (dropped != tokens)
    assert (dropped[replaced] == 1).all() and 0.3 < replaced.sum() / (tokens > 0).sum() < 0.7
    assert trees.Config().word_dropout > 0


def test_bilstm_leaves_read_the_words_in_order_and_the_model_reloads(tmp_path):
    lines = ["(3 (2 (2 a) (2 b)) (4 c))", "(3 (2 (2 c) (2 b)) (4 c))", "(1 a)"]
    parsed = [parse_tree(line) for line in lines]
    preprocessor = trees.Preprocessor.fit(parsed)
    config = trees.Config(units=4, embedding_dim=4, leaves="bilstm", dropout=0.0, verbose=0)
    model = trees.build(config, trees.Data({"train": parsed}, {}, preprocessor, None, None))
    inputs = preprocessor.inputs(parsed)
    leaves = keras.Model(model.inputs, model.get_layer("leaf_words_only").output)
    states = keras.ops.convert_to_numpy(leaves(inputs))
    words = inputs["tokens"] != 0
    assert (states[~words] == 0).all() and (np.abs(states[words]).sum(-1) > 0).all()
    # "b" is the second word of both trees; only its left neighbour differs.
    b_first, b_second = states[0][inputs["tokens"][0] == inputs["tokens"][1][1]][0], \
        states[1][inputs["tokens"][1] == inputs["tokens"][0][1]][0]
    assert not np.allclose(b_first, b_second)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(inputs, verbose=0),
                               model.predict(inputs, verbose=0), atol=1e-6)


def test_prediction_input_may_have_labels_or_not():
    assert trees.parse_input("(3 (2 a) (4 b))", 1).words() == ["a", "b"]
    assert trees.parse_input("((the film) good)", 1).words() == ["the", "film", "good"]
    with pytest.raises(DataError, match="input:2: column"):
        trees.parse_input("((the film) good", 2)


def test_a_test_label_above_the_training_labels_names_its_line(sst_like, capsys):
    with open(sst_like / "test.txt", "a", encoding="utf-8") as file:
        file.write("(9 (2 a) (9 b))\n")
    assert main(["--data", str(sst_like), *TINY]) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith("test.txt:25: label 9 is above the training labels (0-4)")
    assert error.count("\n") == 0


def test_an_unbalanced_tree_is_one_line_naming_file_line_and_column(sst_like, capsys):
    (sst_like / "dev.txt").write_text("(2 (2 a) (2 b)\n", encoding="utf-8")
    assert main(["--data", str(sst_like), *TINY]) == 2
    assert "dev.txt:1: column 1: unbalanced brackets" in capsys.readouterr().err


@pytest.mark.e2e
def test_a_run_scores_the_tree_model_beside_its_baselines_and_predicts(sst_like, tmp_path,
                                                                       capsys):
    out = tmp_path / "run"
    # One Tree-LSTM (more are averaged in while the budget lasts: test_finish_averages_...).
    assert main(["--data", str(sst_like), "--out", str(out), "--baseline-seconds", "2",
                 "--members", "1", *TINY]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for name in ("fine_accuracy", "phrase_accuracy", "baseline_fine_accuracy",
                 "bag_of_words_fine_accuracy"):
        assert 0.0 <= metrics[name] <= 1.0, name
    valid_binary = metrics["valid_binary_accuracy"]
    assert valid_binary is None or 0.0 <= valid_binary <= 1.0
    assert metrics["test_trees"] == 24 and metrics["composition"] == "binary"
    assert (out / "words" / "history.csv").exists()  # the bag of words trained beside it
    assert {"loss.png", "confusion.png", "predictions.csv"} <= {p.name for p in out.iterdir()}
    predictor = seqtasks.load(out)
    [result] = predictor.predict(["((the film) (was (not good)))"])
    assert result["label"] in {"0", "1", "2", "3", "4"} and 0 < result["probability"] <= 1
    assert result["polarity"] in {"positive", "negative"}
    # The bias fitted on the validation roots travels with the run and decides polarity.
    assert predictor.preprocessor.binary_bias == metrics["binary_bias"]
    lines = tmp_path / "lines.txt"
    lines.write_text("((the film) (was good))\n(1 (2 the) (1 dull))\n", encoding="utf-8")
    capsys.readouterr()
    assert cli(["predict", str(out), str(lines)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "tree,label,probability,polarity" and len(printed) == 3
    # The command prints what the API returns.
    buffer = io.StringIO()
    trees.Predictor.write(predictor.predict(["(1 (2 the) (1 dull))"]), buffer)
    assert buffer.getvalue().splitlines()[1] == printed[2]
