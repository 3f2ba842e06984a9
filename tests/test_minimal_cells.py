"""minGRU and minLSTM: the formulas (NumPy), the linear-recurrence path of `Recurrent`
against Keras's step loop over the same cell (masks of every shape, both directions,
gradients), its two forms against each other, and bad arguments."""

import keras
import numpy as np
import pytest

from gradients import outputs_and_gradients
from seqtasks.cells import MinGRUCell, MinLSTMCell, make_cell
from seqtasks.errors import ConfigError
from seqtasks.layers import Recurrent, recurrent
from seqtasks.layers.linear_recurrence import linear_recurrence

BATCH, TIME, FEATURES, UNITS = 3, 7, 5, 4
CELLS = {"mingru": MinGRUCell, "minlstm": MinLSTMCell}
MASKS = {  # right-padded, with holes, left-padded
    "right": np.arange(TIME)[None, :] < np.array([[TIME], [4], [1]]),
    "holes": np.array([[1, 0, 1, 1, 0, 0, 1], [0, 1, 1, 0, 1, 1, 1], [1] * TIME], bool),
    "left": np.arange(TIME)[None, :] >= np.array([[0], [3], [6]]),
}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_states(name, x, kernel, bias, h0):
    """The cell's states, step by step, from the module docstring's formulas."""
    h, states = h0, []
    for t in range(x.shape[1]):
        p = x[:, t] @ kernel + bias
        if name == "mingru":
            z, candidate = sigmoid(p[:, :UNITS]), p[:, UNITS:]
            h = (1 - z) * h + z * candidate
        else:
            i, f, candidate = sigmoid(p[:, :UNITS]), sigmoid(p[:, UNITS:2 * UNITS]), p[:, 2 * UNITS:]
            h = f / (f + i) * h + i / (f + i) * candidate
        states.append(h)
    return np.stack(states, 1)


def inputs(seed=0):
    return np.random.default_rng(seed).standard_normal((BATCH, TIME, FEATURES)).astype("float32")


def twin_layers(name, **kwargs):
    """The same cell weights in the linear-recurrence path and in Keras's step loop."""
    fast = Recurrent(CELLS[name](UNITS), **kwargs)
    loop = Recurrent(CELLS[name](UNITS), use_fused=False, **kwargs)
    x = inputs()
    fast(x), loop(x)
    rng = np.random.default_rng(1)
    weights = [rng.normal(0, 0.7, w.shape).astype("float32") for w in fast.get_weights()]
    fast.set_weights(weights)
    loop.set_weights(weights)
    return fast, loop


@pytest.mark.parametrize("name", CELLS)
def test_states_follow_the_formulas(name):
    x, h0 = inputs(), np.random.default_rng(2).standard_normal((BATCH, UNITS)).astype("float32")
    fast, _ = twin_layers(name, return_sequences=True)
    kernel, bias = fast.get_weights()
    assert kernel.shape == (FEATURES, fast.cell.gates * UNITS) and bias.shape == (
        fast.cell.gates * UNITS,)
    want = numpy_states(name, x, kernel, bias, h0)
    np.testing.assert_allclose(fast(x, initial_state=[h0]), want, atol=1e-5)
    plain = keras.layers.RNN(CELLS[name](UNITS), return_sequences=True)
    plain(x)
    plain.set_weights([kernel, bias])
    np.testing.assert_allclose(plain(x, initial_state=[h0]), want, atol=1e-5)


@pytest.mark.parametrize("mask_name", [None, *MASKS])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("name", CELLS)
def test_the_linear_path_equals_the_step_loop(name, go_backwards, mask_name):
    options = {"return_sequences": True, "return_state": True, "go_backwards": go_backwards}
    fast, loop = twin_layers(name, **options)
    x = inputs(3)
    call = {} if mask_name is None else {"mask": MASKS[mask_name]}
    h0 = np.random.default_rng(4).standard_normal((BATCH, UNITS)).astype("float32")
    ours, our_grads = outputs_and_gradients(fast, x, initial_state=[h0], **call)
    theirs, their_grads = outputs_and_gradients(loop, x, initial_state=[h0], **call)
    for a, b in zip(ours + our_grads, theirs + their_grads):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("name", CELLS)
def test_zero_output_for_mask_and_the_last_output(name):
    for options in ({"return_sequences": True, "zero_output_for_mask": True}, {}):
        fast, loop = twin_layers(name, **options)
        x, mask = inputs(5), MASKS["holes"]
        np.testing.assert_allclose(fast(x, mask=mask), loop(x, mask=mask), atol=1e-5)


def test_the_loop_and_scan_forms_agree_with_gradients():
    rng = np.random.default_rng(6)
    a = rng.uniform(0.2, 1.0, (2, 50, 3)).astype("float32")
    b = rng.standard_normal((2, 50, 3)).astype("float32")
    h0 = rng.standard_normal((2, 3)).astype("float32")
    with pytest.raises(ConfigError, match="form"):
        linear_recurrence(a, b, h0, "parallel")
    time_major = linear_recurrence(a.transpose(1, 0, 2), b.transpose(1, 0, 2), h0,
                                   time_major=True)
    np.testing.assert_allclose(np.transpose(time_major, (1, 0, 2)),
                               linear_recurrence(a, b, h0), atol=1e-6)
    if keras.backend.backend() == "tensorflow":
        with pytest.raises(ConfigError, match="TensorFlow"):
            linear_recurrence(a, b, h0, "scan")
        return
    results = {}
    for form in ("loop", "scan"):
        layer = keras.layers.Lambda(lambda ab, form=form: linear_recurrence(
            ab[..., :3], ab[..., 3:], keras.ops.convert_to_tensor(h0), form))
        results[form] = outputs_and_gradients(layer, np.concatenate([a, b], -1))
    for got, want in zip(results["scan"], results["loop"]):
        np.testing.assert_allclose(got[0], want[0], atol=1e-4)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("mask_name", [None, "holes"])
def test_the_hand_written_gradient_equals_autodiff(name, mask_name, monkeypatch):
    """`seqtasks.cells.min_terms` (one product per gate) against the split projection
    differentiated by the backend, outputs and gradients; large pre-activations
    included (on JAX too: tests/test_backends.py)."""
    x = inputs(7) * 3.0
    mask = None if mask_name is None else MASKS[mask_name]
    hand, auto = (Recurrent(CELLS[name](UNITS), return_sequences=True) for _ in range(2))
    hand(x), auto(x)
    weights = [np.random.default_rng(2).normal(0, 2.0, w.shape).astype("float32")
               for w in hand.get_weights()]
    hand.set_weights(weights)
    auto.set_weights(weights)
    assert hand.cell.hand_gradient_terms() is not None
    got = outputs_and_gradients(hand, x, mask=mask)
    monkeypatch.setattr(type(auto.cell), "hand_gradient_terms", lambda cell: None)
    want = outputs_and_gradients(auto, x, mask=mask)
    for got_part, want_part in zip(got, want):
        for g, w in zip(got_part, want_part):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    tanh = CELLS[name](UNITS, activation="tanh")
    assert tanh.hand_gradient_terms() is None  # only for a linear candidate


class Recurrence(keras.layers.Layer):
    """``linear_recurrence`` of the input's halves (a, b) from a trainable initial state,
    or (``unrolled``) the same recurrence as a Python loop of multiply-adds."""

    def __init__(self, initial, unrolled=False, time_major=False):
        super().__init__()
        self.unrolled, self.time_major = unrolled, time_major
        self.initial = self.add_weight(initial.shape, keras.initializers.Constant(initial))

    def call(self, terms):
        a, b = keras.ops.split(terms, 2, axis=-1)
        initial = keras.ops.convert_to_tensor(self.initial)
        if not self.unrolled:
            return linear_recurrence(a, b, initial, time_major=self.time_major)
        h, states = initial, []
        axis = 0 if self.time_major else 1
        for t in range(terms.shape[axis]):
            h = keras.ops.take(a, t, axis) * h + keras.ops.take(b, t, axis)
            states.append(h)
        return keras.ops.stack(states, axis)


@pytest.mark.parametrize("time_major", [False, True])
def test_the_recurrence_gradients_reach_a_b_and_the_initial_state(time_major):
    rng = np.random.default_rng(7)
    terms = np.concatenate([rng.uniform(0.2, 1.0, (9, 2, 3)),
                            rng.standard_normal((9, 2, 3))], -1).astype("float32")
    if not time_major:
        terms = terms.transpose(1, 0, 2)
    h0 = rng.standard_normal((2, 3)).astype("float32")
    ours = outputs_and_gradients(Recurrence(h0, time_major=time_major), terms)
    unrolled = outputs_and_gradients(Recurrence(h0, True, time_major), terms)
    for got, want in zip(ours[0] + ours[1], unrolled[0] + unrolled[1]):
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("name", CELLS)
def test_no_recurrent_kernel_and_no_recurrent_dropout(name):
    layer = Recurrent(make_cell(name, UNITS, dropout=0.2))
    layer(inputs())
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        make_cell(name, UNITS, recurrent_dropout=0.1)
    assert not np.allclose(layer(inputs(), training=True), layer(inputs()))


@pytest.mark.parametrize("name", CELLS)
def test_unknown_batch_and_time_sizes_in_a_tf_function(name, monkeypatch):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("a tf.function with unknown sizes is TensorFlow's")
    import tensorflow as tf

    # Spans of 2 steps (`LINEAR_SPANS`): 7 steps fill 4 of the 8 spans, 2 steps one.
    monkeypatch.setattr(recurrent, "SHORTEST_LINEAR_SPAN", 2)
    fast, loop = twin_layers(name, return_sequences=True, go_backwards=True)
    signature = [tf.TensorSpec((None, None, FEATURES)), tf.TensorSpec((None, None), tf.bool)]

    def outputs_and_gradients(layer, x, mask):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = layer(x, mask=mask)
            loss = tf.reduce_sum(outputs * tf.sin(tf.cumsum(tf.ones_like(outputs), axis=1)))
        return [outputs, *tape.gradient(loss, [*layer.trainable_weights, x])]

    traced = tf.function(lambda x, mask: outputs_and_gradients(fast, x, mask),
                         input_signature=signature)
    for length in (TIME, 2):
        x, mask = tf.constant(inputs(7)[:, :length]), tf.constant(MASKS["right"][:, :length])
        for got, want in zip(traced(x, mask), outputs_and_gradients(loop, x, mask)):
            np.testing.assert_allclose(got, want, atol=1e-5)
