"""`Recurrent` and `recurrent_stack`: states, masks, the fused path, stacking, saving."""

import json
import zipfile

import keras
import numpy as np
import pytest

from seqtasks.cells import CELLS, GRUCell, LSTMCell, make_cell
from seqtasks.errors import ConfigError
from seqtasks.layers import TDNN, Recurrent, recurrent_stack
from seqtasks.layers.recurrent import _fused_op
from gradients import outputs_and_gradients

BATCH, TIME, FEATURES, UNITS = 4, 6, 5, 8


def random_inputs(batch=BATCH, time=TIME, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, time, FEATURES)).astype("float32")


def test_stateful_layer_carries_state_across_calls():
    x = random_inputs()
    whole = Recurrent(LSTMCell(UNITS), return_sequences=True)
    expected = np.asarray(whole(x))
    halves = Recurrent(LSTMCell(UNITS), return_sequences=True, stateful=True)
    halves(x[:, :3])
    halves.set_weights(whole.get_weights())
    halves.reset_state()
    first, second = halves(x[:, :3]), halves(x[:, 3:])
    np.testing.assert_allclose(np.concatenate([first, second], 1), expected, atol=1e-5)
    halves.reset_state()
    np.testing.assert_allclose(halves(x[:, 3:]), whole(x[:, 3:]), atol=1e-5)


def test_a_stateful_layer_on_torch_runs_the_loop_not_a_fused_kernel(monkeypatch):
    from seqtasks.layers import recurrent

    def fused_called(*args):
        raise AssertionError("a stateful layer on torch must not take a fused kernel")

    x = random_inputs()
    layer = Recurrent(LSTMCell(UNITS), return_sequences=True, stateful=True)
    expected = np.asarray(layer(x))
    layer.reset_state()
    monkeypatch.setattr(recurrent, "_fused_op", fused_called)
    monkeypatch.setattr(recurrent.keras.backend, "backend", lambda: "torch")
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)


def test_initial_state_matches_builtin():
    x = random_inputs()
    rng = np.random.default_rng(5)
    h0, c0 = (rng.standard_normal((BATCH, UNITS)).astype("float32") for _ in range(2))
    theirs = keras.layers.LSTM(UNITS, return_state=True)
    ours = Recurrent(LSTMCell(UNITS), return_state=True)
    theirs(x), ours(x)
    ours.set_weights(theirs.get_weights())
    for a, b in zip(ours(x, initial_state=[h0, c0]), theirs(x, initial_state=[h0, c0])):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_padded_steps_repeat_last_output_or_zeros():
    x = random_inputs()
    mask = np.ones((BATCH, TIME), bool)
    mask[0, 3:] = False
    repeat = Recurrent(GRUCell(UNITS), return_sequences=True)
    out = np.asarray(repeat(x, mask=mask))
    np.testing.assert_array_equal(out[0, 3:], np.repeat(out[0, 2:3], TIME - 3, axis=0))
    zeros = Recurrent(GRUCell(UNITS), return_sequences=True, zero_output_for_mask=True)
    zeros(x)
    zeros.set_weights(repeat.get_weights())
    out_zero = np.asarray(zeros(x, mask=mask))
    np.testing.assert_array_equal(out_zero[0, 3:], 0.0)
    np.testing.assert_allclose(out_zero[0, :3], out[0, :3], atol=1e-6)


def test_masked_sequence_gives_the_same_final_state_as_the_truncated_one():
    x = random_inputs()
    mask = np.ones((BATCH, TIME), bool)
    mask[:, 4:] = False
    layer = Recurrent(LSTMCell(UNITS), return_state=True)
    out, h, c = layer(x, mask=mask)
    out_short, h_short, c_short = layer(x[:, :4])
    for a, b in [(out, out_short), (h, h_short), (c, c_short)]:
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_masking_layer_feeds_the_mask_in_a_model():
    x = random_inputs()
    x[1, 3:] = 0.0
    inputs = keras.Input((None, FEATURES))
    outputs = Recurrent(LSTMCell(UNITS))(keras.layers.Masking()(inputs))
    model = keras.Model(inputs, outputs)
    np.testing.assert_allclose(model(x)[1], model(x[:, :3])[1], atol=1e-6)


def test_fused_path_is_chosen_only_for_standard_cells():
    assert _fused_op(LSTMCell(4), training=True) is not None
    assert _fused_op(GRUCell(4, reset_after=False), training=False) is not None
    for cell in [
        LSTMCell(4, peephole=True),
        LSTMCell(4, layer_norm=True),
        LSTMCell(4, forget_gate=False),
        LSTMCell(4, activation="relu"),
        GRUCell(4, variant="minimal"),
        make_cell("elman", 4),
    ]:
        assert _fused_op(cell, training=False) is None
    assert _fused_op(LSTMCell(4, recurrent_dropout=0.2), training=True) is None
    assert _fused_op(LSTMCell(4, recurrent_dropout=0.2), training=False) is not None


def test_loop_and_auto_agree():
    x = random_inputs()
    auto = Recurrent(LSTMCell(UNITS), return_sequences=True)
    loop = Recurrent(LSTMCell(UNITS), return_sequences=True, use_fused=False)
    auto(x), loop(x)
    loop.set_weights(auto.get_weights())
    np.testing.assert_allclose(auto(x), loop(x), atol=1e-6)


@pytest.mark.parametrize("cell_name", ["lstm", "gru", "mingru"])
def test_integer_inputs_run_in_the_compute_dtype_as_keras_does(cell_name):
    x = np.arange(BATCH * 5 * 3).reshape(BATCH, 5, 3) % 4  # int64, as Keras's own test feeds
    ours = keras.layers.Bidirectional(Recurrent(make_cell(cell_name, UNITS)))
    loop = keras.layers.Bidirectional(Recurrent(make_cell(cell_name, UNITS), use_fused=False))
    ours(x.astype("float32")), loop(x.astype("float32"))
    loop.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x), loop(x.astype("float32")), atol=1e-5)
    assert keras.backend.standardize_dtype(ours(x).dtype) == "float32"


@pytest.mark.parametrize("go_backwards", [False, True])
def test_fused_lstm_gradients_reach_the_initial_state(go_backwards):
    # The fused LSTM's hand-written backward pass against the loop's automatic one,
    # including the gradient that flows into layers computing the initial state.
    def model(use_fused):
        inputs = keras.Input((TIME, FEATURES))
        h0 = keras.layers.Dense(UNITS, name="to_h")(inputs[:, 0])
        c0 = keras.layers.Dense(UNITS, name="to_c")(inputs[:, 1])
        layer = Recurrent(LSTMCell(UNITS), return_sequences=True, return_state=True,
                          go_backwards=go_backwards, use_fused=use_fused)
        return keras.Model(inputs, layer(inputs, initial_state=[h0, c0]))

    x = random_inputs()
    fused, loop = model("auto"), model(False)
    randomize_weights = [np.random.default_rng(3).normal(0, 0.5, w.shape).astype("float32")
                         for w in fused.get_weights()]
    fused.set_weights(randomize_weights)
    loop.set_weights(randomize_weights)
    fused_out, fused_grads = outputs_and_gradients(fused, x)
    loop_out, loop_grads = outputs_and_gradients(loop, x)
    for ours, theirs in zip(fused_out + fused_grads, loop_out + loop_grads):
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-5)


def test_keras_cells_run_through_the_plain_loop():
    x = random_inputs()
    ours = Recurrent(keras.layers.GRUCell(UNITS))
    theirs = keras.layers.GRU(UNITS)
    ours(x), theirs(x)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(x), theirs(x), atol=1e-5)


@pytest.mark.parametrize(
    "options,shape",
    [
        (dict(depth=1), (BATCH, UNITS)),
        (dict(depth=3, return_sequences=True), (BATCH, TIME, UNITS)),
        (dict(depth=2, bidirectional=True), (BATCH, 2 * UNITS)),
        (dict(depth=2, bidirectional=True, merge_mode="sum"), (BATCH, UNITS)),
        (dict(depth=3, residual=True, dropout=0.3, return_sequences=True), (BATCH, TIME, UNITS)),
    ],
)
def test_stack_shapes(options, shape):
    assert tuple(recurrent_stack("gru", UNITS, **options)(random_inputs()).shape) == shape


def test_residual_adds_each_layers_input():
    x = random_inputs()
    stack = recurrent_stack("lstm", FEATURES, depth=2, residual=True, return_sequences=True)
    out = np.asarray(stack(x))
    first, second = stack.recurrent_layers
    hidden = np.asarray(first(x)) + x
    np.testing.assert_allclose(out, np.asarray(second(hidden)) + hidden, atol=1e-5)


def test_stack_passes_the_mask_through_every_layer():
    x = random_inputs()
    mask = np.ones((BATCH, TIME), bool)
    mask[:, 4:] = False
    stack = recurrent_stack("gru", UNITS, depth=2, bidirectional=True)
    np.testing.assert_allclose(stack(x, mask=mask), stack(x[:, :4]), atol=1e-5)


def test_stack_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="depth"):
        recurrent_stack(depth=0)
    with pytest.raises(ConfigError, match="merge_mode"):
        recurrent_stack(bidirectional=True, merge_mode="max")
    with pytest.raises(ConfigError, match="unknown cell"):
        recurrent_stack("transformer")


def build_model(cell_name):
    inputs = keras.Input((None, FEATURES))
    masked = keras.layers.Masking()(inputs)
    hidden = recurrent_stack(cell_name, UNITS, depth=2, bidirectional=True, residual=True,
                             return_sequences=True)(masked)
    outputs = keras.layers.Dense(3)(Recurrent(make_cell(cell_name, UNITS))(hidden))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("cell_name", CELLS)
def test_models_with_every_cell_save_and_load(cell_name, tmp_path):
    model = build_model(cell_name)
    x = random_inputs()
    x[0, 4:] = 0.0
    expected = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)


def test_bidirectional_stacks_build_inside_the_loaders_sharing_scope():
    # `load_model` builds layers inside an object-sharing table keyed by id(). When a
    # freed Bidirectional template's id was reused, loading failed at random.
    from keras.src.saving.serialization_lib import ObjectSharingScope

    with ObjectSharingScope():
        stacks = [recurrent_stack(name, 4, depth=2, bidirectional=True)
                  for _ in range(20) for name in ("lstm", "gru", "elman")]
    for stack in stacks:
        for layer in stack.recurrent_layers:
            assert (layer.forward_layer.go_backwards, layer.backward_layer.go_backwards) == (
                False, True)


def test_a_model_trains():
    x = random_inputs(batch=32)
    y = (x.sum(axis=(1, 2)) > 0).astype("float32")
    inputs = keras.Input((TIME, FEATURES))
    outputs = keras.layers.Dense(1, activation="sigmoid")(recurrent_stack("lstm", UNITS)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


@pytest.mark.parametrize("cell_name", ["lstm", "gru", "elman"])
def test_padding_changes_nothing_in_a_compiled_bidirectional_stack(cell_name):
    # In graph mode (predict) the time dimension is unknown; padding must still be skipped.
    inputs = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(20, 4, mask_zero=True)(inputs)
    hidden = recurrent_stack(cell_name, 5, depth=2, bidirectional=True)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    short = model.predict(np.array([[3, 4, 5]]), verbose=0)
    padded = model.predict(np.array([[3, 4, 5, 0, 0, 0]]), verbose=0)
    np.testing.assert_allclose(short, padded, atol=1e-6)


def test_masked_max_pooling_leaves_out_the_masked_steps():
    from seqtasks.layers.pooling import MaskedGlobalMaxPooling1D

    x = random_inputs()
    mask = np.arange(TIME)[None, :] < np.array([[2], [6], [1], [0]])
    pooled = np.asarray(MaskedGlobalMaxPooling1D()(x, mask=mask))
    for row, length in enumerate([2, 6, 1]):
        np.testing.assert_allclose(pooled[row], x[row, :length].max(axis=0))
    assert np.all(pooled[3] == 0.0)  # nothing unmasked: zeros, not -inf
    np.testing.assert_allclose(np.asarray(MaskedGlobalMaxPooling1D()(x)), x.max(axis=1))


@pytest.mark.parametrize(
    "make",
    [
        lambda: Recurrent(LSTMCell(UNITS)),
        lambda: Recurrent(GRUCell(UNITS), use_fused=False),
        lambda: recurrent_stack("lstm", UNITS, depth=2),
        lambda: recurrent_stack("gru", UNITS, bidirectional=True),
        lambda: recurrent_stack("tdnn", UNITS),
    ],
)
def test_inputs_that_are_not_3d_raise_naming_the_expected_ndim(make):
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        make()(np.ones((2, 5), "float32"))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        make()(keras.Input((2, 5, FEATURES)))


def test_layer_sizes_are_checked_as_keras_does():
    for make in (lambda v: recurrent_stack("gru", v), lambda v: TDNN(v),
                 lambda v: recurrent_stack("lstm", 4, depth=v)):
        with pytest.raises(ConfigError, match="must be a positive integer, got True"):
            make(True)
    with pytest.raises(ConfigError, match="dropout"):
        recurrent_stack(depth=2, dropout=1.0)
    with pytest.raises(ConfigError, match="use_fused"):
        Recurrent(LSTMCell(4), use_fused="always")
    stack = recurrent_stack("gru", np.int64(4), depth=np.int64(2))
    assert tuple(stack(random_inputs()).shape) == (BATCH, 4)
    assert json.dumps(stack.get_config())  # NumPy integers stored as ints


def test_a_model_saved_before_the_argument_checks_loads(tmp_path):
    # Such files hold unit_forget_bias=True for LSTMs without a forget gate (the old default).
    inputs = keras.Input((None, FEATURES))
    model = keras.Model(inputs, Recurrent(LSTMCell(UNITS, forget_gate=False))(inputs))
    path, legacy = tmp_path / "model.keras", tmp_path / "legacy.keras"
    model.save(path)
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(legacy, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "config.json":
                data = data.replace(b'"unit_forget_bias": false', b'"unit_forget_bias": true')
                assert b'"unit_forget_bias": true' in data
            new.writestr(item, data)
    loaded = keras.saving.load_model(legacy, safe_mode=True)
    x = random_inputs()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
