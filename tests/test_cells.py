"""Cells against Keras's built-in layers (same weights) and against NumPy references."""

import functools

import keras
import numpy as np
import pytest

import reference
from gradients import outputs_and_gradients
from seqtasks.cells import CELLS, ElmanCell, GRUCell, LSTMCell, NARXCell, make_cell
from seqtasks.errors import ConfigError
from seqtasks.layers import Recurrent

BATCH, TIME, FEATURES, UNITS = 3, 7, 5, 6
TOL = 1e-5

# (our cell, the equivalent built-in layer)
STANDARD = {
    "elman": (lambda: ElmanCell(UNITS), keras.layers.SimpleRNN),
    "lstm": (lambda: LSTMCell(UNITS), keras.layers.LSTM),
    "gru": (lambda: GRUCell(UNITS), keras.layers.GRU),
    "gru-resetbefore": (
        lambda: GRUCell(UNITS, reset_after=False),
        functools.partial(keras.layers.GRU, reset_after=False),
    ),
}
LAYERS = {"Recurrent": Recurrent, "RNN": keras.layers.RNN}
MASK_LENGTHS = [TIME, 4, 1]


def random_inputs(seed=0):
    return np.random.default_rng(seed).standard_normal((BATCH, TIME, FEATURES)).astype("float32")


def padding_mask():
    return np.arange(TIME)[None, :] < np.array(MASK_LENGTHS)[:, None]


def assert_all_close(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)


def randomize(layer, seed=1):
    """Replaces the weights with random ones, so zero-initialised parts are exercised too."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])


@pytest.mark.parametrize("layer_name", LAYERS)
@pytest.mark.parametrize("cell_name", STANDARD)
@pytest.mark.parametrize(
    "masked,go_backwards", [(False, False), (True, False), (False, True), (True, True)]
)
def test_standard_cells_equal_builtin_layers(cell_name, layer_name, masked, go_backwards):
    make_ours, builtin = STANDARD[cell_name]
    options = dict(return_sequences=True, return_state=True, go_backwards=go_backwards)
    x = random_inputs()
    kwargs = {"mask": padding_mask()} if masked else {}
    theirs = builtin(UNITS, **options)
    ours = LAYERS[layer_name](make_ours(), **options)
    theirs(x), ours(x)
    randomize(theirs)
    ours.set_weights(theirs.get_weights())
    our_out, our_grads = outputs_and_gradients(ours, x, **kwargs)
    their_out, their_grads = outputs_and_gradients(theirs, x, **kwargs)
    assert_all_close(our_out, their_out)
    assert_all_close(our_grads, their_grads)


@pytest.mark.parametrize("cell_name", ["lstm", "gru"])
def test_weights_copy_back_into_builtin_layers(cell_name):
    make_ours, builtin = STANDARD[cell_name]
    x = random_inputs()
    ours = Recurrent(make_ours())
    ours(x)
    randomize(ours)
    theirs = builtin(UNITS)
    theirs(x)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x), theirs(x), atol=TOL)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


@pytest.mark.parametrize("cell_name", ["lstm", "gru"])
@pytest.mark.parametrize("layer_name", LAYERS)
def test_inside_bidirectional(cell_name, layer_name):
    make_ours, builtin = STANDARD[cell_name]
    x = random_inputs()
    theirs = keras.layers.Bidirectional(builtin(UNITS, return_sequences=True))
    ours = keras.layers.Bidirectional(LAYERS[layer_name](make_ours(), return_sequences=True))
    theirs(x), ours(x)
    randomize(theirs)
    ours.set_weights(theirs.get_weights())
    mask = padding_mask()
    our_out, our_grads = outputs_and_gradients(ours, x, mask=mask)
    their_out, their_grads = outputs_and_gradients(theirs, x, mask=mask)
    assert_all_close(our_out, their_out)
    assert_all_close(our_grads, their_grads)


VARIANTS = {
    "lstm-noforget": (
        lambda: LSTMCell(UNITS, forget_gate=False),
        functools.partial(reference.lstm_step, forget_gate=False),
        2,
    ),
    "lstm-peephole": (
        lambda: LSTMCell(UNITS, peephole=True),
        functools.partial(reference.lstm_step, peephole=True),
        2,
    ),
    "lstm-layernorm": (
        lambda: LSTMCell(UNITS, layer_norm=True),
        functools.partial(reference.lstm_step, norm=True),
        2,
    ),
    "lstm-all": (
        lambda: LSTMCell(UNITS, forget_gate=False, peephole=True, layer_norm=True),
        functools.partial(reference.lstm_step, forget_gate=False, peephole=True, norm=True),
        2,
    ),
    "gru-minimal": (lambda: GRUCell(UNITS, variant="minimal"), reference.minimal_gru_step, 1),
    # The standard cells once more, against their equations rather than Keras.
    "elman": (lambda: ElmanCell(UNITS), reference.elman_step, 1),
    "lstm": (lambda: LSTMCell(UNITS), reference.lstm_step, 2),
    "gru": (lambda: GRUCell(UNITS), reference.gru_step, 1),
    "gru-resetbefore": (
        lambda: GRUCell(UNITS, reset_after=False),
        functools.partial(reference.gru_step, reset_after=False),
        1,
    ),
}


@pytest.mark.parametrize("layer_name", LAYERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_cells_match_numpy_reference(variant, layer_name):
    make_cell_, step, n_states = VARIANTS[variant]
    x = random_inputs()
    layer = LAYERS[layer_name](make_cell_(), return_sequences=True, return_state=True)
    layer(x)
    randomize(layer)
    weights = {v.path.split("/")[-1]: np.asarray(v.value) for v in layer.weights}
    rng = np.random.default_rng(2)
    initial = [rng.standard_normal((BATCH, UNITS)).astype("float32") for _ in range(n_states)]
    outputs, *states = layer(x, initial_state=initial)
    expected_outputs, expected_states = reference.run(step, weights, x, tuple(initial))
    np.testing.assert_allclose(outputs, expected_outputs, atol=TOL)
    for state, expected in zip(states, expected_states):
        np.testing.assert_allclose(state, expected, atol=TOL)


def test_weight_layout_puts_extra_weights_after_the_standard_three():
    layer = Recurrent(LSTMCell(UNITS, peephole=True, layer_norm=True))
    layer(random_inputs())
    names = [v.path.split("/")[-1] for v in layer.weights]
    assert names == ["kernel", "recurrent_kernel", "bias", "peephole_kernel", "gate_norm", "cell_norm"]
    shapes = [tuple(w.shape) for w in layer.get_weights()]
    assert shapes[:3] == [(FEATURES, 4 * UNITS), (UNITS, 4 * UNITS), (4 * UNITS,)]
    assert shapes[3:] == [(3, UNITS), (4, UNITS), (2, UNITS)]


def test_gate_counts_of_variants():
    x = random_inputs()
    for cell, width, bias_shape in [
        (LSTMCell(UNITS, forget_gate=False), 3 * UNITS, (3 * UNITS,)),
        (GRUCell(UNITS, variant="minimal"), 2 * UNITS, (2 * UNITS,)),
        (GRUCell(UNITS), 3 * UNITS, (2, 3 * UNITS)),
        (GRUCell(UNITS, reset_after=False), 3 * UNITS, (3 * UNITS,)),
    ]:
        Recurrent(cell)(x)
        assert tuple(cell.kernel.shape) == (FEATURES, width)
        assert tuple(cell.bias.shape) == bias_shape


def test_unit_forget_bias_initialises_forget_gate_to_one():
    cell = LSTMCell(UNITS)
    Recurrent(cell)(random_inputs())
    bias = np.asarray(cell.bias)
    np.testing.assert_array_equal(bias[UNITS : 2 * UNITS], 1.0)
    np.testing.assert_array_equal(np.delete(bias, np.s_[UNITS : 2 * UNITS]), 0.0)


@pytest.mark.parametrize("layer_name", LAYERS)
def test_input_dropout_mask_is_the_same_at_every_step(layer_name):
    # Linear Elman cell with identity kernel and no recurrence: output_t = x_t * mask.
    cell = ElmanCell(
        FEATURES, activation="linear", kernel_initializer="identity",
        recurrent_initializer="zeros", use_bias=False, dropout=0.5, seed=3,
    )
    layer = LAYERS[layer_name](cell, return_sequences=True)
    x = np.ones((4, TIME, FEATURES), "float32")
    out = np.asarray(layer(x, training=True))
    assert np.all(out == out[:, :1, :]), "mask changed between steps"
    assert set(np.unique(out)) == {0.0, 2.0}
    np.testing.assert_array_equal(layer(x, training=False), x)


@pytest.mark.parametrize("layer_name", LAYERS)
def test_recurrent_dropout_changes_training_outputs_only(layer_name):
    cell = GRUCell(UNITS, recurrent_dropout=0.5, seed=4)
    layer = LAYERS[layer_name](cell)
    x = random_inputs()
    inference = np.asarray(layer(x, training=False))
    plain = keras.layers.RNN(GRUCell(UNITS))
    plain(x)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(inference, plain(x), atol=TOL)
    assert not np.allclose(layer(x, training=True), inference)


@pytest.mark.parametrize("name", CELLS)
def test_every_named_cell_serializes(name):
    cell = make_cell(name, UNITS, dropout=0.1, kernel_regularizer="l2")
    config = keras.saving.serialize_keras_object(cell)
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(cell)
    assert clone.get_config() == cell.get_config()


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match="units"):
        LSTMCell(0)
    with pytest.raises(ConfigError, match="dropout"):
        GRUCell(4, dropout=1.5)
    with pytest.raises(ConfigError, match="variant"):
        GRUCell(4, variant="tiny")
    with pytest.raises(ConfigError, match="unknown cell 'lstmm'"):
        make_cell("lstmm", 4)


CELL_CLASSES = [ElmanCell, GRUCell, LSTMCell, NARXCell]


@pytest.mark.parametrize("units", [True, 0, -2, 2.0, "8", None])
def test_units_must_be_a_positive_integer_as_in_keras(units):
    for cls in CELL_CLASSES:
        with pytest.raises(ConfigError, match="units must be a positive integer"):
            cls(units)


def test_numpy_integers_are_accepted_and_stored_as_ints():
    for cls in CELL_CLASSES:
        cell = cls(np.int64(4))
        assert type(cell.units) is int and cell.get_config()["units"] == 4
    narx = NARXCell(np.int32(4), input_delay=np.int64(2), output_delay=np.int64(1))
    assert narx.state_size == [4, 8] and type(narx.input_delay) is int
    with pytest.raises(ConfigError, match="input_delay"):
        NARXCell(4, input_delay=True)
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        LSTMCell(4, recurrent_dropout=True)


@pytest.mark.parametrize(
    "make,names",
    [
        (lambda: LSTMCell(4, forget_gate=False, unit_forget_bias=True),
         ["unit_forget_bias", "forget_gate"]),
        (lambda: LSTMCell(4, use_bias=False, unit_forget_bias=True),
         ["unit_forget_bias", "use_bias"]),
        (lambda: GRUCell(4, variant="minimal", reset_after=True), ["reset_after", "minimal"]),
        (lambda: GRUCell(4, variant="minimal", reset_after=False), ["reset_after", "minimal"]),
        (lambda: NARXCell(4, input_delay=2, output_delay=0, recurrent_dropout=0.1),
         ["recurrent_dropout", "output_delay"]),
    ],
)
def test_contradictory_arguments_raise_naming_both(make, names):
    with pytest.raises(ConfigError) as error:
        make()
    assert all(name in str(error.value) for name in names), error.value


def test_defaults_follow_the_other_arguments():
    assert LSTMCell(4).unit_forget_bias is True
    assert LSTMCell(4, forget_gate=False).unit_forget_bias is False
    assert LSTMCell(4, use_bias=False).unit_forget_bias is False
    assert LSTMCell(4, forget_gate=False, unit_forget_bias=False).unit_forget_bias is False
    assert GRUCell(4).reset_after is True and GRUCell(4, reset_after=False).reset_after is False
    assert GRUCell(4, variant="minimal").reset_after is None
    # Peepholes and layer norm work without a forget gate (see VARIANTS): not refused.
    LSTMCell(4, forget_gate=False, peephole=True, layer_norm=True)


@pytest.mark.parametrize(
    "cls,options,saved",
    [
        (LSTMCell, {}, {"unit_forget_bias": True, "forget_gate": True}),
        (LSTMCell, {"forget_gate": False}, {"unit_forget_bias": True}),
        (LSTMCell, {"use_bias": False}, {"unit_forget_bias": True}),
        (GRUCell, {"variant": "minimal"}, {"reset_after": True}),
    ],
)
def test_configs_saved_before_the_checks_still_load(cls, options, saved):
    # Until the checks, unit_forget_bias and reset_after were saved as True for every cell.
    cell = cls(4, **options)
    config = keras.saving.serialize_keras_object(cell)
    config["config"].update(saved)
    clone = keras.saving.deserialize_keras_object(config)
    assert clone.get_config() == cell.get_config()
