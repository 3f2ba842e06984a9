"""The CRF layer against brute-force enumeration of every tag path, and `CRFModel`
training, masking and saving; the brute-force and loss tests run again on JAX (tests/test_backends.py)."""

import itertools

import keras
import numpy as np
import pytest
from keras import ops

from seqtasks.errors import ConfigError
from seqtasks.layers import CRF, CRFModel

NUM_TAGS = 3
EPOCHS = 8
# Batches of right-padded sequences: lengths and padded width.
BATCHES = {
    "mixed": ([4, 1, 3, 0, 2], 4),  # a length-1 and an empty sequence among them
    "length_one": ([1, 1], 1),
}


def logsumexp(values):
    top = np.max(values)
    return top + np.log(np.sum(np.exp(values - top)))


def all_paths(length, weights, unary):
    """Every tag path of `length` steps (paths, length) and its score (paths,)."""
    transitions, start, end = weights
    paths = np.array(list(itertools.product(range(NUM_TAGS), repeat=length)))
    scores = (start[paths[:, 0]] + end[paths[:, -1]]
              + unary[np.arange(length), paths].sum(axis=1)
              + transitions[paths[:, :-1], paths[:, 1:]].sum(axis=1))
    return paths, scores


def batch(name, seed=0):
    """Random potentials, gold tags and mask; padded steps hold large values and bad tags."""
    lengths, width = BATCHES[name]
    rng = np.random.default_rng(seed)
    mask = np.arange(width)[None] < np.array(lengths)[:, None]
    potentials = rng.normal(size=(len(lengths), width, NUM_TAGS)).astype("float32")
    potentials[~mask] = 1e4
    tags = rng.integers(0, NUM_TAGS, size=mask.shape)
    tags[~mask] = -1
    return lengths, potentials, tags, mask


def make_crf(seed=1):
    crf = CRF(NUM_TAGS)
    crf.build((None, None, NUM_TAGS))
    rng = np.random.default_rng(seed)
    crf.set_weights([rng.normal(size=(NUM_TAGS, NUM_TAGS)), rng.normal(size=NUM_TAGS),
                     rng.normal(size=NUM_TAGS)])
    return crf


def numpy(x):
    return ops.convert_to_numpy(x)


def compiled(function):
    """`function`, jit-compiled on JAX: one compilation, not one per operation and scan."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(function)
    return function


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_brute_log_partition_likelihood_and_viterbi_match_enumeration(name):
    crf = make_crf()
    weights = crf.get_weights()
    lengths, potentials, tags, mask = batch(name)
    log_z, log_likelihood, decoded, step_losses = map(numpy, compiled(lambda p, t, m: (
        crf.log_partition(p, m), crf.log_likelihood(p, t, m), crf.decode(p, m),
        crf.step_losses(p, t)))(potentials, tags, mask))
    assert decoded.shape == mask.shape and decoded.dtype == np.int32
    assert (decoded[~mask] == 0).all()
    for row, length in enumerate(lengths):
        if length == 0:  # no valid step: an empty path, scored 0
            assert log_z[row] == 0 and log_likelihood[row] == 0
            continue
        paths, scores = all_paths(length, weights, potentials[row, :length])
        gold = np.flatnonzero((paths == tags[row, :length]).all(axis=1))[0]
        np.testing.assert_allclose(log_z[row], logsumexp(scores), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(log_likelihood[row], scores[gold] - logsumexp(scores),
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(decoded[row, :length], paths[np.argmax(scores)])
        # The per-step terms behind CRFModel's loss add up to the negative log-likelihood.
        np.testing.assert_allclose(step_losses[row, :length].sum(), -log_likelihood[row],
                                   rtol=1e-5, atol=1e-5)


def test_brute_no_mask_means_every_step_counts():
    crf = make_crf()
    _, potentials, tags, _ = batch("mixed")
    tags = np.abs(tags)
    full = np.ones(tags.shape, bool)
    unmasked, masked = compiled(lambda p, t, m: [
        (crf.log_likelihood(p, t), crf.decode(p)),
        (crf.log_likelihood(p, t, m), crf.decode(p, m))])(potentials, tags, full)
    np.testing.assert_allclose(numpy(unmasked[0]), numpy(masked[0]))
    np.testing.assert_array_equal(numpy(unmasked[1]), numpy(masked[1]))


def gradients(crf, function, potentials):
    """d function(potentials) / d [transitions, start, end, potentials], as NumPy arrays."""
    weights = [crf.transitions, crf.start_transitions, crf.end_transitions]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(potentials)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = function(x)
        grads = tape.gradient(value, [*weights, x])
    elif backend == "jax":
        import jax

        def value(values, x):
            with keras.StatelessScope(state_mapping=list(zip(weights, values))):
                return function(x)

        weight_grads, input_grad = jax.jit(jax.grad(value, argnums=(0, 1)))(
            [w.value for w in weights], potentials)
        grads = [*weight_grads, input_grad]
    else:  # pragma: no cover - the suite runs on TensorFlow and JAX
        pytest.skip(f"no gradient helper for {backend}")
    return [np.asarray(g) for g in grads]


def test_brute_gradients_of_the_log_partition_are_the_path_marginals():
    crf = make_crf()
    weights = crf.get_weights()
    lengths, potentials, tags, mask = batch("mixed")
    grads = gradients(crf, lambda x: ops.sum(crf.log_partition(x, mask)), potentials)
    expected = [np.zeros_like(w) for w in weights] + [np.zeros_like(potentials)]
    for row, length in enumerate(lengths):
        if length == 0:
            continue
        paths, scores = all_paths(length, weights, potentials[row, :length])
        probability = np.exp(scores - logsumexp(scores))
        for t in range(length):
            np.add.at(expected[3][row, t], paths[:, t], probability)
            if t:
                np.add.at(expected[0], (paths[:, t - 1], paths[:, t]), probability)
        np.add.at(expected[1], paths[:, 0], probability)
        np.add.at(expected[2], paths[:, -1], probability)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert (grads[3][~mask] == 0).all()  # padded potentials get no gradient

    grads = gradients(crf, lambda x: -ops.sum(crf.log_likelihood(x, tags, mask)), potentials)
    assert all(np.isfinite(g).all() for g in grads)
    assert all(np.abs(g).sum() > 0 for g in grads)


def test_arguments_are_checked_and_named():
    for bad in (0, -2, True, 2.5, "3"):
        with pytest.raises(ConfigError, match="num_tags"):
            CRF(bad)
    with pytest.raises(ValueError, match="potentials"):
        CRF(4)(keras.ops.ones((2, 3, 5)))
    with pytest.raises(ValueError, match="potentials"):
        CRF(4).decode(keras.ops.ones((2, 4)))


def test_config_round_trip():
    crf = CRF(5, transitions_initializer="ones", transitions_regularizer="l2", name="tags")
    again = CRF.from_config(crf.get_config())
    assert again.num_tags == 5 and again.name == "tags"
    again.build((None, None, 5))
    np.testing.assert_array_equal(numpy(again.transitions), np.ones((5, 5)))
    assert isinstance(again.transitions_regularizer, keras.regularizers.L2)


def test_sequences_of_unknown_length_in_a_tensorflow_graph():
    """Keras fits batches of new lengths with a traced function of unknown time length
    (Keras 3.15's TensorFlow ``scan`` failed there on several sequences)."""
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("a TensorFlow graph needs the TensorFlow backend")
    crf = CRF(3)
    crf.build((None, None, 3))
    spec = tf.TensorSpec((None, None, 3), "float32")

    @tf.function(input_signature=[spec, tf.TensorSpec((None, None), "bool")])
    def log_z_and_path(potentials, mask):
        return crf.log_partition(potentials, mask), crf.decode(potentials, mask)

    potentials = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[True] * 4, [True, True, False, False]])
    log_z, path = log_z_and_path(potentials, mask)
    np.testing.assert_allclose(numpy(log_z), numpy(crf.log_partition(potentials, mask)),
                               rtol=1e-6)
    np.testing.assert_array_equal(numpy(path), numpy(crf.decode(potentials, mask)))


def previous_tag_problem(count=128, width=8, seed=0):
    """Tokens 1-3 give the first tag; every later token is 4 and says nothing: the tag is
    the previous tag + 1 (mod 3). Padded with token 0."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, width + 1, size=count)
    mask = np.arange(width)[None] < lengths[:, None]
    first = rng.integers(0, NUM_TAGS, size=count)
    tags = (first[:, None] + np.arange(width)[None]) % NUM_TAGS
    tokens = np.where(np.arange(width)[None] == 0, first[:, None] + 1, 4)
    return np.where(mask, tokens, 0), np.where(mask, tags, 0), mask


def tagger(num_tags=NUM_TAGS):
    tokens = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(5, 8, mask_zero=True)(tokens)
    crf = CRF(num_tags, name="crf")
    return CRFModel(tokens, crf(keras.layers.Dense(num_tags)(embedded))), crf


def test_model_loss_is_the_masked_negative_log_likelihood_per_step():
    tokens, tags, mask = previous_tag_problem(count=32)
    model, crf = tagger()
    model.compile(optimizer="adam")
    tags = np.where(mask, tags, 2)  # padded gold tags take no part
    loss = model.evaluate(tokens, tags, batch_size=32, verbose=0)
    potentials = model(tokens)
    nll = -numpy(compiled(crf.log_likelihood)(potentials, tags, mask))
    np.testing.assert_allclose(loss, nll.sum() / mask.sum(), rtol=1e-4)
    weights = np.linspace(0.0, 2.0, len(tokens))  # one per sequence
    loss = model.evaluate(tokens, tags, sample_weight=weights, batch_size=32, verbose=0)
    # the mean over the weighted steps: steps of weight 0 (padding rows) count for nothing
    expected = (weights * nll).sum() / (weights[:, None] * mask).sum()
    np.testing.assert_allclose(loss, expected, rtol=1e-4)


def test_model_learns_a_previous_tag_problem_and_round_trips_through_save(tmp_path):
    tokens, tags, mask = previous_tag_problem()
    model, crf = tagger()
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(tokens, tags, epochs=EPOCHS, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    potentials = model.predict(tokens, verbose=0)
    decoded = numpy(crf.decode(potentials, mask))
    assert (decoded == tags)[mask].mean() > 0.97
    # After the first step the token (4) says nothing, so any per-step classifier (an
    # independent softmax, or the argmax of these potentials) is right about 1/3 of the
    # time there; the CRF carries the first tag along through its transitions.
    later = mask & (np.arange(mask.shape[1])[None] > 0)
    assert (potentials.argmax(-1) == tags)[later].mean() < 0.5

    path = tmp_path / "crf.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is CRFModel and loaded.crf.num_tags == NUM_TAGS
    loaded_potentials = loaded.predict(tokens, verbose=0)
    np.testing.assert_array_equal(numpy(loaded.crf.decode(loaded_potentials, mask)), decoded)
    # Loaded compiled and trainable: its loss is the CRF's, on the trained weights.
    expected = -numpy(crf.log_likelihood(potentials, tags, mask)).sum() / mask.sum()
    np.testing.assert_allclose(loaded.evaluate(tokens, tags, batch_size=256, verbose=0),
                               expected, rtol=1e-3, atol=1e-5)


def test_model_refuses_a_compiled_loss():
    model, _ = tagger()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    tokens, tags, _ = previous_tag_problem(count=4)
    with pytest.raises(ConfigError, match="loss"):
        model.fit(tokens, tags, epochs=1, verbose=0)
