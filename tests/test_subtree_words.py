"""`SubtreeWordScores` (the bag of words of every node of a tree) against a NumPy walk of
each tree, and its classifier."""

import keras
import numpy as np
import pytest

from seqtasks.data.trees import encode_trees, parse_tree
from seqtasks.errors import ConfigError
from seqtasks.layers.subtree_words import LENGTHS, SubtreeWordScores, descendants
from seqtasks.models.tree_classifier import build_subtree_word_classifier

TREES = ["(3 (2 (2 the) (2 film)) (4 (2 is) (4 (3 very) (4 good))))",
         "(1 bad)",
         "(2 (1 (2 not) (3 good)) (2 .))"]
WORDS = {"the": 2, "film": 3, "is": 4, "very": 5, "good": 6, "bad": 7, "not": 8, ".": 1}


def expected_scores(tree, weights, lengths):
    """Post-order: each node's summed word weights over the square root of their count,
    plus the weight of that count."""
    rows = []

    def walk(node):
        ids = [WORDS[leaf.word] for leaf in node.leaves() if leaf.word is not None]
        for child in node.children:
            walk(child)
        rows.append(weights[ids].sum(0) / np.sqrt(max(len(ids), 1))
                    + lengths[min(len(ids), LENGTHS - 1)])

    walk(tree)
    return np.array(rows)


def test_each_node_scores_the_words_of_its_subtree_across_a_batch_of_shapes():
    parsed = [parse_tree(line) for line in TREES]
    batch = encode_trees(parsed, WORDS.get, 2)
    layer = SubtreeWordScores(vocab_size=9, num_classes=5)
    layer.build(batch.tokens.shape)
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(9, 5)).astype("float32")
    lengths = rng.normal(size=(LENGTHS, 5)).astype("float32")
    layer.set_weights([weights, lengths])
    scores = keras.ops.convert_to_numpy(layer(batch.tokens, batch.children))
    assert scores.shape == (3, batch.tokens.shape[1], 5)
    for b, tree in enumerate(parsed):
        size = tree.size()
        np.testing.assert_allclose(scores[b, :size], expected_scores(tree, weights, lengths),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(scores[b, size:], lengths[0][None].repeat(
            scores.shape[1] - size, 0), rtol=1e-6)  # padding nodes: no words


def test_descendants_reach_the_deepest_leaf_of_a_chain():
    """A left-branching tree 12 deep: its root reaches every node."""
    line = "(2 a)"
    for _ in range(12):
        line = f"(2 {line} (2 a))"
    batch = encode_trees([parse_tree(line)], {"a": 2}.get, 2)
    reach = keras.ops.convert_to_numpy(descendants(batch.children, batch.tokens.shape[1]))
    assert reach[0, -1].sum() == batch.tokens.shape[1] == 25
    assert reach[0, 0].tolist() == [1.0] + [0.0] * 24  # the deepest leaf: itself only


def test_the_classifier_trains_reloads_and_refuses_bad_sizes(tmp_path):
    keras.utils.set_random_seed(0)
    parsed = [parse_tree(line) for line in TREES]
    batch = encode_trees(parsed, WORDS.get, 2)
    model = build_subtree_word_classifier(vocab_size=9, num_classes=5)
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="sparse_categorical_crossentropy")
    inputs = {"tokens": batch.tokens, "children": batch.children}
    losses = model.fit(inputs, np.maximum(batch.labels, 0),
                       sample_weight=batch.node_mask.astype("float32"), epochs=40,
                       verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    probabilities = model.predict(inputs, verbose=0)
    assert int(probabilities[1, 0].argmax()) == 1  # "(1 bad)": its one word says it
    model.save(tmp_path / "words.keras")
    loaded = keras.saving.load_model(tmp_path / "words.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), probabilities, rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ConfigError):
        SubtreeWordScores(vocab_size=0, num_classes=5)
