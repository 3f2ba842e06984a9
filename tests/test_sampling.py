"""Sampling (temperature, top-k) and incremental generation with the language model."""

import keras
import numpy as np
import pytest

from seqtasks.decoding.sampling import generate, sample_next
from seqtasks.errors import ConfigError
from seqtasks.models.language_model import (
    build_language_model, reset_states, sequence_model_from, state_sizes, step_model_from,
    stream_cross_entropy, zero_states,
)


def test_temperature_zero_is_greedy_and_top_1_is_greedy():
    probs = np.array([0.2, 0.5, 0.3])
    assert sample_next(probs, temperature=0.0) == 1
    rng = np.random.default_rng(0)
    assert {sample_next(probs, 1.0, top_k=1, rng=rng) for _ in range(50)} == {1}


def test_sample_frequencies_follow_temperature():
    rng = np.random.default_rng(0)
    probs = np.array([0.1, 0.2, 0.7])
    draws = sample_next(np.tile(probs, (20000, 1)), 1.0, rng=rng)
    assert np.allclose(np.bincount(draws, minlength=3) / 20000, probs, atol=0.015)
    # Temperature T samples proportionally to p ** (1 / T).
    sharp = probs ** 2 / (probs ** 2).sum()
    draws = sample_next(np.tile(probs, (20000, 1)), 0.5, rng=rng)
    assert np.allclose(np.bincount(draws, minlength=3) / 20000, sharp, atol=0.015)


def test_top_k_never_samples_outside_the_k_best_and_logits_work():
    rng = np.random.default_rng(1)
    logits = np.log(np.array([0.3, 0.05, 0.25, 0.1, 0.3]))
    draws = sample_next(np.tile(logits, (5000, 1)), 2.0, top_k=3, rng=rng, from_logits=True)
    assert set(draws.tolist()) == {0, 2, 4}
    with pytest.raises(ConfigError):
        sample_next(logits, temperature=-1.0)


def counting_calls(step_model):
    """Makes `step_model` record the time length of the tokens of every call; returns the list."""
    lengths = []
    predict = step_model.predict_on_batch

    def counting(inputs):
        lengths.append(int(inputs[0].shape[1]))
        return predict(inputs)

    step_model.predict_on_batch = counting
    return lengths


def test_generate_is_incremental_one_call_per_token():
    model = build_language_model(vocab_size=12, embedding_dim=4, units=8, depth=2)
    prompt = [3, 4, 5, 6, 7]
    for length in (5, 40):
        step = step_model_from(model)
        lengths = counting_calls(step)
        ids = generate(step, prompt, length, temperature=1.0, seed=0)
        assert len(ids) == length and all(0 <= i < 12 for i in ids)
        # The prompt is read once; every new token after the first costs one call on a
        # single token: the work per token does not grow with the length generated.
        assert lengths == [len(prompt)] + [1] * (length - 1)


@pytest.mark.parametrize("cell", ["gru", "tdnn", "narx"])
def test_generate_matches_rereading_the_whole_prefix(cell):
    """Carrying the state gives exactly the distributions of re-running the full prefix."""
    model = build_language_model(vocab_size=10, embedding_dim=4, units=8, cell=cell, depth=2)
    step = step_model_from(model)
    ids = generate(step, [1, 2], 6, temperature=0.0, seed=0)
    prefix = [1, 2]
    for next_id in ids:
        logits = keras.ops.convert_to_numpy(model(np.array([prefix])))[0, -1]
        assert int(np.argmax(logits)) == next_id
        prefix.append(next_id)
    # The same seed gives the same text.
    assert generate(step, [1, 2], 6, 1.0, seed=3) == generate(step, [1, 2], 6, 1.0, seed=3)


def test_stream_cross_entropy_equals_one_pass_over_the_stream():
    model = build_language_model(vocab_size=7, embedding_dim=4, units=6)
    ids = np.random.default_rng(0).integers(0, 7, 101)
    # One row: carrying the state over chunks of 16 equals one pass over 101 tokens.
    logits = model.predict(ids[None, :-1], verbose=0)[0]
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -log_probs[np.arange(100), ids[1:]].mean()
    assert stream_cross_entropy(model, ids, rows=1, chunk=16) == pytest.approx(expected, rel=1e-4)


def test_state_sizes_and_step_model_of_a_loaded_model(tmp_path):
    model = build_language_model(vocab_size=9, embedding_dim=4, units=5, cell="lstm", depth=2,
                                 dropout=0.2)
    assert state_sizes(model) == [5, 5, 5, 5]
    model.save(tmp_path / "lm.keras")
    loaded = keras.saving.load_model(tmp_path / "lm.keras", safe_mode=True)
    tokens = np.array([[1, 2, 3, 4]])
    zeros = zero_states(loaded)
    expected = keras.ops.softmax(model.predict(tokens, verbose=0)[:, -1])
    for m in (loaded, model):
        probs = step_model_from(m)([tokens, *zeros])[0]
        np.testing.assert_allclose(probs, expected, atol=1e-5)
        assert sequence_model_from(m)([tokens, *zeros])[0].shape == (1, 4, 9)


def test_a_stateful_model_carries_its_states_and_its_step_model_takes_any_batch(tmp_path):
    model = build_language_model(vocab_size=7, embedding_dim=4, units=6, cell="lstm",
                                 stateful_batch_size=2)
    tokens = np.random.default_rng(0).integers(0, 7, (2, 10)).astype("int32")
    whole = model.predict_on_batch(tokens)
    reset_states(model)
    halves = [model.predict_on_batch(tokens[:, :5]), model.predict_on_batch(tokens[:, 5:])]
    np.testing.assert_allclose(np.concatenate(halves, axis=1), whole, atol=1e-5)
    model.save(tmp_path / "stateful.keras")
    loaded = keras.saving.load_model(tmp_path / "stateful.keras", safe_mode=True)
    for m in (model, loaded):
        probs = step_model_from(m).predict_on_batch([tokens[:1], *zero_states(m)])[0]
        np.testing.assert_allclose(probs, keras.ops.softmax(whole[:1, -1]), atol=1e-5)


def test_bad_arguments():
    model = build_language_model(vocab_size=5, embedding_dim=2, units=3)
    with pytest.raises(ConfigError, match="prompt"):
        generate(step_model_from(model), [], 3)
    with pytest.raises(ConfigError, match="units"):
        build_language_model(vocab_size=5, units=0)
    with pytest.raises(ConfigError, match="not a seqtasks language model"):
        step_model_from(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
