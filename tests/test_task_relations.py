"""The relations task: the three model builders, the config's refusals, unknown relations
at file:line (tests/test_load.py runs, reloads and predicts with the graph model)."""


import keras
import numpy as np
import pytest

from seqtasks.cli import main as cli
from seqtasks.data.dependencies import conllu_lines, encode_dependencies, read_dependencies
from seqtasks.data.embedded import embedded_path
from seqtasks.errors import ConfigError, DataError
from seqtasks.models.relation_classifier import (INPUTS, MODELS, HeadOffsets, WithHead,
                                                 build_relation_classifier)
from seqtasks.tasks import relations

SENTENCES = [(["the", "dog", "saw", "a", "cat", "."], [2, 3, 0, 5, 3, 3]),
             (["cats", "sleep"], [2, 0])]
TINY = ["--epochs", "1", "--units", "8", "--embedding-dim", "8", "--batch-size", "64",
        "--max-seconds", "20", "--verbose", "0", "--min-freq", "1"]


def embedded(split, n):
    return read_dependencies(embedded_path("dependencies", split))[:n]


@pytest.fixture
def treebank(tmp_path):
    """A UD-like folder: 40 training, 10 dev and 10 test sentences of the embedded data."""
    folder = tmp_path / "ud"
    folder.mkdir()
    for name, split, n in (("x-ud-train", "train", 40), ("x-ud-dev", "valid", 10),
                           ("x-ud-test", "test", 10)):
        (folder / f"{name}.conllu").write_text(
            "\n".join(conllu_lines(*sentence) for sentence in embedded(split, n)),
            encoding="utf-8")
    return folder


@pytest.mark.parametrize("kind", MODELS)
def test_each_model_gives_per_word_probabilities_from_its_own_inputs(kind):
    batch = encode_dependencies(SENTENCES, lambda word: 2 + len(word) % 3)
    model = build_relation_classifier(6, 4, kind, embedding_dim=4, units=4)
    assert sorted(model.input) == sorted(INPUTS[kind])
    probabilities = model.predict(relations.model_inputs(batch, kind), verbose=0)
    assert probabilities.shape == (2, 6, 4)
    assert np.allclose(probabilities.sum(-1), 1, atol=1e-5)


def test_the_head_state_is_gathered_and_zero_for_the_root():
    batch = encode_dependencies(SENTENCES, lambda word: 2)
    states = keras.ops.convert_to_tensor(np.arange(12, dtype="float32").reshape(2, 6, 1))
    pairs = keras.ops.convert_to_numpy(WithHead()(states, batch.heads))
    assert pairs[0, :, 1].tolist() == [1, 2, 0, 4, 2, 2]  # the states of the heads
    assert pairs[1, :2, 1].tolist() == [7, 0]
    offsets = keras.ops.convert_to_numpy(HeadOffsets(1)(batch.heads))
    assert offsets[0].tolist() == [2, 2, 3, 2, 0, 0]  # +1, +1, root, +1, -1, -1 (clipped)


def test_fixed_settings_and_the_model_choice_are_checked():
    with pytest.raises(ConfigError, match="cell must be 'lstm' for relations"):
        relations.Config(cell="gru")
    with pytest.raises(ConfigError, match="bidirectional must be True"):
        relations.Config(bidirectional=False)
    with pytest.raises(ConfigError, match="model"):
        relations.Config(model="transformer")
    assert relations.Config().model == "tree"


def relabel_third_line(path, relation):
    lines = path.read_text(encoding="utf-8").splitlines()
    fields = lines[2].split("\t")
    fields[7] = relation
    lines[2] = "\t".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_valid_relation_missing_from_training_names_its_line(treebank, capsys):
    relabel_third_line(treebank / "x-ud-dev.conllu", "reparandum")
    assert cli(["run", "relations", "--data", str(treebank), *TINY]) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith("x-ud-dev.conllu:3: relation 'reparandum' does not occur in the "
                          "training sentences, so the model cannot predict it")


def test_a_test_relation_missing_from_training_is_noted_and_stays_a_gold_label(
        treebank, capsys):
    relabel_third_line(treebank / "x-ud-test.conllu", "reparandum")
    data = relations.prepare(relations.Config(data=treebank, verbose=1, min_freq=1))
    assert capsys.readouterr().out.strip().endswith(
        "x-ud-test.conllu:3: test relations that do not occur in the training sentences "
        "count as errors (the model cannot predict them): 'reparandum' (1)")
    gold = [relation for sentence in data.sentences["test"] for relation in sentence[2]]
    assert gold.count("reparandum") == 1 and "reparandum" not in data.preprocessor.relations


def test_prediction_input_is_words_with_heads():
    assert relations.parse_input(("dogs bark", [2, 0]), 1) == (["dogs", "bark"], [2, 0])
    with pytest.raises(DataError, match="input:2: 2 words but 1 heads"):
        relations.parse_input((["a", "b"], [0]), 2)
    with pytest.raises(DataError, match="input:1: the heads form a cycle"):
        relations.parse_input((["a", "b", "c"], [0, 3, 2]), 1)
    with pytest.raises(ConfigError, match="--format conllu"):
        relations.parse_input("dogs bark", 1)
