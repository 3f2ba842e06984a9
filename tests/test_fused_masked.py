"""The fused CPU LSTM and GRU (`tf_fused`, `jax_fused`) with masks: equal to Keras's loop.

Every check runs seqtasks' fused kernel (the backend's own fused functions are made to
refuse, and a spy fails the test when the kernel is not called), against
`keras.layers.LSTM` / `keras.layers.GRU` (both reset conventions) with the same weights on
the same backend, and against `Recurrent(use_fused=False)`: outputs, final states and
gradients with respect to the inputs, the weights and the initial states, to 1e-5.
"""

import itertools

import keras
import numpy as np
import pytest
from keras import ops

from seqtasks.cells import GRUCell, LSTMCell
from seqtasks.layers import Recurrent, fused, recurrent
from gradients import outputs_and_gradients

BATCH, TIME, FEATURES, UNITS = 5, 7, 3, 4
TOLERANCE = 1e-5


def _lengths_mask(lengths):
    return np.arange(TIME)[None, :] < np.asarray(lengths)[:, None]


MASKS = {
    # Padded past the longest row at the end / at the start (JAX's loops skip those steps).
    "right-padded": _lengths_mask([6, 3, 1, 5, 4]),
    "left-padded": ~_lengths_mask([1, 3, 6, 2, 1]),
    "holes": np.array([[1, 0, 1, 1, 0, 0, 1],
                       [0, 1, 1, 0, 1, 1, 0],
                       [1, 1, 1, 1, 1, 1, 0],
                       [0, 0, 0, 1, 0, 0, 0],
                       [1, 0, 0, 0, 0, 0, 1]], bool),
    "all-ones": np.ones((BATCH, TIME), bool),
    "a fully masked row": _lengths_mask([7, 0, 4, 2, 7]),
}
# (return_sequences, zero_output_for_mask)
OUTPUTS = {"last": (False, False), "sequences": (True, False),
           "sequences with zeros": (True, True)}
# name -> (our cell, Keras's layer, the number of states, the fused function)
CELLS = {
    "lstm": (lambda: LSTMCell(UNITS), lambda **kw: keras.layers.LSTM(UNITS, **kw), 2, "lstm"),
    "gru": (lambda: GRUCell(UNITS), lambda **kw: keras.layers.GRU(UNITS, **kw), 1, "gru"),
    "gru-resetbefore": (lambda: GRUCell(UNITS, reset_after=False),
                        lambda **kw: keras.layers.GRU(UNITS, reset_after=False, **kw), 1, "gru"),
}


def parity_cases():
    """Every mask and direction for every cell, with one output kind per case in turn
    (each kind comes several times for each cell)."""
    for cell_name in CELLS:
        kinds = itertools.cycle(OUTPUTS)
        for mask_name, go_backwards in itertools.product(MASKS, (False, True)):
            outputs = next(kinds)
            yield pytest.param(cell_name, mask_name, go_backwards, outputs,
                               id=f"{cell_name}-{mask_name}-backwards={go_backwards}-{outputs}")


def test_the_active_range_runs_from_the_first_to_the_last_step_some_row_marks():
    valid = np.zeros((6, 2, 1), bool)
    valid[1, 0, 0] = valid[3, 1, 0] = True
    assert [int(t) for t in fused.active_range(valid, 6)] == [1, 4]
    # No step marked: every step (the loops then keep the states at each), as with no mask.
    assert [int(t) for t in fused.active_range(np.zeros((6, 2, 1), bool), 6)] == [0, 6]
    assert fused.active_range(None, 6) == (0, 6)


@pytest.fixture
def fused_calls(monkeypatch):
    """Records the calls of seqtasks' fused CPU kernels as (name, keyword arguments); the
    backend's fused functions (cuDNN, JAX's GRU scan) refuse, so the kernels under test run
    on any device."""
    calls = []
    cpu_fused = recurrent._cpu_fused

    def refuse(*args, **kwargs):
        raise NotImplementedError

    def spy(name, *args, **kwargs):
        calls.append((name, kwargs))
        return cpu_fused(name, *args, **kwargs)

    monkeypatch.setattr(recurrent.compat, "lstm", refuse)
    monkeypatch.setattr(recurrent.compat, "gru", refuse)
    monkeypatch.setattr(recurrent, "_cpu_fused", spy)
    return calls


def random_array(shape, seed, scale=1.0):
    return np.random.default_rng(seed).normal(0.0, scale, shape).astype("float32")


class WithInitialState(keras.layers.Layer):
    """A recurrent layer whose initial states are dense projections of the first step, so
    that gradients with respect to the initial states reach trainable weights."""

    def __init__(self, rnn, states, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.rnn = rnn
        self.to_states = [keras.layers.Dense(UNITS) for _ in range(states)]

    def call(self, inputs, mask=None):
        initial_state = [dense(inputs[:, 0]) for dense in self.to_states]
        return self.rnn(inputs, mask=mask, initial_state=initial_state)


def same_weights(*layers, seed=3):
    """Builds the layers and gives them all the same random weights (scale 0.5)."""
    x = random_array((BATCH, TIME, FEATURES), 0)
    for layer in layers:
        layer(x)
    weights = [random_array(w.shape, seed + i, 0.5) for i, w in enumerate(layers[0].get_weights())]
    for layer in layers:
        layer.set_weights(weights)


def assert_all_close(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=TOLERANCE, rtol=TOLERANCE)


def recurrent_layers(cell_name, **options):
    """Ours (fused), ours (loop) and Keras's layer, each with learned initial states."""
    make_cell, make_keras_layer, states, _ = CELLS[cell_name]
    options = {"return_state": True, **options}
    return [WithInitialState(Recurrent(make_cell(), **options), states),
            WithInitialState(Recurrent(make_cell(), use_fused=False, **options), states),
            WithInitialState(make_keras_layer(**options), states)]


@pytest.mark.parametrize("cell_name,mask_name,go_backwards,outputs", list(parity_cases()))
def test_fused_masked_recurrence_equals_keras_loop(cell_name, mask_name, go_backwards, outputs,
                                                   fused_calls):
    return_sequences, zero_output_for_mask = OUTPUTS[outputs]
    layers = recurrent_layers(cell_name, return_sequences=return_sequences,
                              go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask)
    same_weights(*layers)
    x, mask = random_array((BATCH, TIME, FEATURES), 1), MASKS[mask_name]
    fused_calls.clear()
    fused, loop, keras_layer = (outputs_and_gradients(layer, x, mask=mask) for layer in layers)
    assert [name for name, _ in fused_calls] == [CELLS[cell_name][3]], "the kernel did not run"
    states = CELLS[cell_name][2]
    # The output and the states; the cell's 3 weights, 2 per initial state, the inputs.
    assert len(fused[0]) == 1 + states and len(fused[1]) == 3 + 2 * states + 1
    assert_all_close(fused[0] + fused[1], keras_layer[0] + keras_layer[1])
    assert_all_close(fused[0] + fused[1], loop[0] + loop[1])


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("cell_name", CELLS)
def test_fused_masked_bidirectional_equals_keras(cell_name, return_sequences, fused_calls):
    make_cell, make_keras_layer, _, _ = CELLS[cell_name]
    ours = keras.layers.Bidirectional(Recurrent(make_cell(), return_sequences=return_sequences))
    theirs = keras.layers.Bidirectional(make_keras_layer(return_sequences=return_sequences))
    same_weights(ours, theirs)
    x = random_array((BATCH, TIME, FEATURES), 2)
    for mask_name in ("right-padded", "a fully masked row", "holes"):
        fused_calls.clear()
        fused = outputs_and_gradients(ours, x, mask=MASKS[mask_name])
        assert [call["go_backwards"] for _, call in fused_calls] == [False, True]
        reference = outputs_and_gradients(theirs, x, mask=MASKS[mask_name])
        assert_all_close(fused[0] + fused[1], reference[0] + reference[1])


def position_weighted_sum(outputs):
    """A scalar that weighs every output element differently, for shapes known or not."""
    total = 0.0
    for out in outputs:
        flat = ops.reshape(out, (-1,))
        total = total + ops.sum(flat * ops.sin(ops.cumsum(ops.ones_like(flat))))
    return total


def compiled_outputs_and_gradients(layer):
    """A function of ``(x, mask)`` that returns the outputs and gradients (weights, then
    inputs) of `position_weighted_sum`, compiled once as training compiles them: on
    TensorFlow a tf.function whose batch and time dimensions are unknown, on JAX a jitted
    function; every mask runs through the same compiled function."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        @tf.function(input_signature=[tf.TensorSpec((None, None, FEATURES), tf.float32),
                                      tf.TensorSpec((None, None), tf.bool)])
        def run(x, mask):
            with tf.GradientTape() as tape:
                tape.watch(x)
                outputs = layer(x, mask=mask)
                loss = position_weighted_sum(outputs)
            return outputs, tape.gradient(loss, [*layer.trainable_weights, x])

    elif keras.backend.backend() == "jax":
        import jax

        fixed = [v.value for v in layer.non_trainable_variables]

        @jax.jit
        def jitted(trainable, x, mask):
            def loss_fn(trainable, x):
                outputs, _ = layer.stateless_call(trainable, fixed, x, mask=mask)
                return position_weighted_sum(outputs), outputs

            (_, outputs), grads = jax.value_and_grad(loss_fn, (0, 1), has_aux=True)(
                trainable, x)
            return outputs, [*grads[0], grads[1]]

        def run(x, mask):
            return jitted([v.value for v in layer.trainable_variables], x, mask)

    else:  # pragma: no cover - the suite runs on TensorFlow and JAX
        pytest.skip(keras.backend.backend())

    def outputs_and_gradients(x, mask):
        outputs, grads = run(x, mask)
        return [np.asarray(o) for o in outputs], [np.asarray(g) for g in grads]

    return outputs_and_gradients


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("cell_name", CELLS)
def test_compiled_fused_masked_recurrence_equals_keras(cell_name, go_backwards, fused_calls):
    layers = recurrent_layers(cell_name, return_sequences=True, go_backwards=go_backwards)
    fused, _, keras_layer = layers
    same_weights(*layers)
    x = random_array((BATCH, TIME, FEATURES), 4)
    fused_calls.clear()
    ours = compiled_outputs_and_gradients(fused)
    theirs = compiled_outputs_and_gradients(keras_layer)
    for mask_name in ("right-padded", "holes"):
        ours_now = ours(x, MASKS[mask_name])
        assert fused_calls, "the fused kernel did not run"  # traced at the first mask
        theirs_now = theirs(x, MASKS[mask_name])
        assert_all_close(ours_now[0] + ours_now[1], theirs_now[0] + theirs_now[1])


@pytest.mark.parametrize("cell_name", CELLS)
def test_sequences_shorter_than_the_backward_spans_equal_keras(cell_name, fused_calls,
                                                              monkeypatch):
    # TensorFlow's backward pass runs in spans of time (`tf_fused.CHUNKS`, for layers of
    # `SPAN_UNITS` or more: here all): a sequence of fewer steps leaves some spans empty,
    # through the same compiled function.
    if keras.backend.backend() == "tensorflow":
        from seqtasks.layers import tf_fused

        monkeypatch.setattr(tf_fused, "SPAN_UNITS", 1)
    layers = recurrent_layers(cell_name, return_sequences=True)
    fused, _, keras_layer = layers
    same_weights(*layers)
    x = random_array((BATCH, TIME, FEATURES), 5)
    ours = compiled_outputs_and_gradients(fused)
    theirs = compiled_outputs_and_gradients(keras_layer)
    fused_calls.clear()
    for length in (1, 2, 3, TIME):
        mask = MASKS["right-padded"][:, :length]
        ours_now = ours(x[:, :length], mask)
        theirs_now = theirs(x[:, :length], mask)
        assert_all_close(ours_now[0] + ours_now[1], theirs_now[0] + theirs_now[1])
    assert fused_calls, "the fused kernel did not run"


@pytest.mark.parametrize("cell_name", CELLS)
def test_padding_changes_nothing_in_a_fused_model(cell_name, fused_calls):
    # A model fed by an Embedding's mask, compiled by predict with an unknown length.
    make_cell = CELLS[cell_name][0]
    inputs = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(20, 4, mask_zero=True)(inputs)
    hidden = keras.layers.Bidirectional(Recurrent(make_cell(), return_sequences=True))(hidden)
    model = keras.Model(inputs, Recurrent(make_cell())(hidden))
    short = model.predict(np.array([[3, 4, 5], [6, 7, 8]]), verbose=0)
    padded = model.predict(np.array([[3, 4, 5, 0, 0], [6, 7, 8, 0, 0]]), verbose=0)
    assert len(fused_calls) >= 3  # all three layers, at each trace
    np.testing.assert_allclose(short, padded, atol=1e-6)
