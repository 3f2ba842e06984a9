"""Batches in a bounded set of padded shapes (what JAX reads): how many shapes an epoch
takes, and that the padding changes no reported loss, metric or prediction.

The shape checks run on any backend; the others on JAX, where the padding happens (in
the TensorFlow suite by the JAX run of `tests/test_backends.py`).
"""

import functools
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from seqtasks.compat import count_weighted_rows
from seqtasks.data.batching import BucketedBatches, LengthBatches, Padding, bucket, pad, pad_batch
from seqtasks.tasks import sentiment, tagging, trees
from seqtasks.training import feed, predict_batch

ON_JAX = pytest.mark.skipif(keras.backend.backend() != "jax",
                            reason="the batches are padded on JAX (test_backends.py runs these)")
RNG = np.random.default_rng(0)
LENGTHS = RNG.integers(1, 61, 203)  # 60 distinct lengths, a short last batch
TINY = {"units": 4, "embedding_dim": 4, "epochs": 1, "max_seconds": None, "verbose": 0,
        "ema": 0.0}


def test_bucket_boundaries_hold_each_length_with_little_padding():
    for size in range(1, 2000):
        boundary, coarse = bucket(size), bucket(size, step=16)
        assert boundary >= size and (boundary - size < 8 or boundary < 1.3 * size)
        assert coarse >= boundary and (coarse - size < 16 or coarse == boundary)
    assert len({bucket(size) for size in range(1, 129)}) == 12
    assert len({bucket(size, step=16) for size in range(1, 129)}) == 8


def test_an_epoch_of_many_lengths_takes_a_handful_of_shapes():
    examples = [[7] * n for n in LENGTHS]
    batches = LengthBatches(examples, lambda chunk: (pad(chunk), np.zeros(len(chunk))),
                            LENGTHS, batch_size=16, seed=0)
    shapes = {x.shape for x, _ in (batches[k] for k in range(len(batches)))}
    bucketed = BucketedBatches(batches, free_axes=(1,))
    padded = [bucketed[k] for k in range(len(bucketed))]
    assert len(shapes) > 10
    assert {x.shape for x, _, _ in padded} <= {(16, 8 * k) for k in range(1, 9)}
    weights = np.concatenate([weight for _, _, weight in padded])
    assert weights.sum() == len(examples) and len(weights) == 16 * len(batches)


def test_padding_keeps_fixed_sizes_and_fills_index_arrays_with_their_value():
    x = {"tokens": np.array([[4, 5, 0]]), "children": np.array([[[-1, -1], [-1, -1], [0, 1]]])}
    weights = np.array([[0.0, 0.0, 1.0]])
    (padded, y, weight) = pad_batch((x, np.array([[1, 2, 3]]), weights), 3,
                                    {"tokens": (1,), "children": (1,)}, Padding({"children": -1}))
    assert padded["tokens"].shape == (3, 8) and padded["children"].shape == (3, 8, 2)
    assert (padded["children"][0, 3:] == -1).all() and (padded["tokens"][0, 3:] == 0).all()
    assert (padded["children"][1] == padded["children"][0]).all()  # a copy of a real row
    assert y.shape == (3, 8) and weight.shape == (3, 8)
    assert weight.sum() == 1.0 and weight[0, 2] == 1.0
    _, y, weight = pad_batch((np.array([[3, 4]]), np.array([[1, 2]])), 2, (1,))
    assert weight.shape == y.shape == (2, 8)  # without weights: 1 at each target
    assert weight.tolist()[0][:3] == [1.0, 1.0, 0.0] and weight.sum() == 2.0


def test_levels_padded_like_their_nodes_take_one_shape_per_node_bucket():
    # Trees of 3 to 41 nodes: chains (tall, narrow) and flat ones (short, wide).
    texts = []
    for n in range(1, 21):
        chain = "(0 w)"
        for _ in range(n):
            chain = f"(1 (0 w) {chain})"
        texts += [chain, "(1 " + " ".join(["(0 w)"] * (n + 1)) + ")"]
    parsed = [trees.parse_tree(text) for text in texts]
    preprocessor = trees.Preprocessor.fit(parsed, min_freq=1)
    batches = trees.node_batches(preprocessor, parsed, 4, seed=0)
    bucketed = BucketedBatches(batches, {"tokens": (1,), "children": (1, 2),
                                         "levels": (1, 2)})
    shapes = {tuple(x[name].shape for name in ("children", "levels"))
              for x, _, _ in (bucketed[k] for k in range(len(bucketed)))}
    assert all(levels == (4, nodes, nodes) for (_, nodes, _), levels in shapes)
    assert {nodes for (_, nodes, _), _ in shapes} == {16, 32, 48}  # TreeBatch's step: 16
    assert len(shapes) == len({children[1:] for children, _ in shapes})
    x = {"nodes": np.zeros((1, 20)), "levels": np.zeros((1, 3, 9)), "other": np.zeros((1, 3))}
    axes = {name: (1,) if name != "levels" else (1, 2) for name in x}
    padded = pad_batch(x, 1, axes, Padding(like={"levels": "nodes"}))
    assert padded["levels"].shape == (1, 24, 24) and padded["other"].shape == (1, 8)
    padded = pad_batch(x, 1, axes, Padding(like={"levels": "nodes"}, step=16))
    assert padded["levels"].shape == (1, 32, 32) and padded["other"].shape == (1, 16)


def evaluations(model, batches):
    """``evaluate`` on the batches as they are and padded (`feed`), as dicts."""
    with count_weighted_rows():
        return [model.evaluate(data, verbose=0, return_dict=True)
                for data in (batches, feed(model, batches))]


@functools.cache
def sentiment_case():
    texts = [" ".join(["good"] * (n % 11 + 1) + ["bad"] * (n % 3)) for n in range(21)]
    labels = [n % 2 for n in range(21)]
    preprocessor = sentiment.Preprocessor.fit(texts, labels, min_freq=1)
    config = sentiment.Config(**TINY)
    model = sentiment.build(config, SimpleNamespace(preprocessor=preprocessor))
    return model, sentiment.labelled_batches(preprocessor, texts, labels, 16, shuffle=False)


def tagging_case():
    sentences = [(["Jordan", "said"] + ["it"] * (n % 13), ["B-PER", "O"] + ["O"] * (n % 13))
                 for n in range(20)]
    preprocessor = tagging.Preprocessor.fit(sentences, min_freq=1, chars=False)
    config = tagging.Config(**TINY, char_features=False)  # the CRF's loss and accuracy
    model = tagging.build(config, SimpleNamespace(preprocessor=preprocessor))
    return model, tagging.tagged_batches(preprocessor, sentences, 16, shuffle=False)


def trees_case():
    texts = ["(1 (0 a) (1 b))", "(0 (1 (0 a) (1 b)) (0 c))", "(1 c)"] * 4
    parsed = [trees.parse_tree(text) for text in texts]
    preprocessor = trees.Preprocessor.fit(parsed, min_freq=1)
    config = trees.Config(**TINY)
    data = SimpleNamespace(preprocessor=preprocessor, trees={"train": parsed})
    model = trees.build(config, data)
    return model, trees.node_batches(preprocessor, parsed, 8, shuffle=False)


@ON_JAX
@pytest.mark.parametrize("case", [sentiment_case, tagging_case, trees_case])
def test_padded_rows_and_steps_change_no_reported_loss_or_metric(case):
    model, batches = case()
    assert isinstance(feed(model, batches), BucketedBatches)
    as_is, padded = evaluations(model, batches)
    assert padded.keys() == as_is.keys() and "accuracy" in padded
    for name, value in as_is.items():
        assert padded[name] == pytest.approx(value, rel=1e-6, abs=1e-7), name


@ON_JAX
def test_predictions_drop_the_padding_rows():
    model, batches = sentiment_case()
    x, _ = batches[len(batches) - 1]  # the short last batch
    outputs = predict_batch(model, x, rows=16)
    assert outputs.shape == (len(x), 2)
    np.testing.assert_allclose(outputs, keras.ops.convert_to_numpy(model(x)), atol=1e-6)
