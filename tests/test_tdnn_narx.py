"""The memory layers: TDNN and NARX against NumPy references, causality, masks, saving."""

import keras
import numpy as np
import pytest

from seqtasks.errors import ConfigError
from seqtasks.layers import Recurrent
from seqtasks.layers import recurrent_stack
from seqtasks.cells import make_cell
from seqtasks.cells.narx import NARXCell
from seqtasks.layers.tdnn import TDNN

BATCH, TIME, FEATURES, UNITS = 3, 7, 4, 5
LENGTHS = [TIME, 4, 1]

MEMORY_LAYERS = ("tdnn", "narx")


def random_inputs(seed=0):
    return np.random.default_rng(seed).standard_normal((BATCH, TIME, FEATURES)).astype("float32")


def randomize(layer, seed=1):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])


def tdnn_reference(x, kernel, bias):
    """y_t = tanh(sum_d x_{t-d} W_d + b), zeros before the start."""
    delay = kernel.shape[0] - 1
    padded = np.concatenate([np.zeros_like(x[:, :delay]), x], axis=1)
    z = sum(padded[:, delay - d : delay - d + x.shape[1]] @ kernel[d] for d in range(delay + 1))
    return np.tanh(z + bias)


def narx_reference(x, kernel, recurrent_kernel, bias, input_delay, output_delay):
    """The NARX equation step by step, with explicit delay lines of raw inputs and outputs."""
    units = bias.shape[0]
    w = [kernel[:, d * units : (d + 1) * units] for d in range(input_delay + 1)]
    v = [recurrent_kernel[j * units : (j + 1) * units] for j in range(output_delay)]
    ys = []
    for t in range(x.shape[1]):
        z = bias + sum(x[:, t - d] @ w[d] for d in range(input_delay + 1) if t - d >= 0)
        z = z + sum(ys[t - j] @ v[j - 1] for j in range(1, output_delay + 1) if t - j >= 0)
        ys.append(np.tanh(z))
    return np.stack(ys, axis=1)


def layers(return_sequences):
    return {
        "tdnn": TDNN(UNITS, delay=2, return_sequences=return_sequences),
        "narx": Recurrent(NARXCell(UNITS, input_delay=2, output_delay=3),
                          return_sequences=return_sequences),
    }


def random_tdnn(x, delay):
    """A TDNN returning sequences, built on `x`, with random weights; (layer, kernel, bias)."""
    layer = TDNN(UNITS, delay=delay, return_sequences=True)
    layer(x)
    randomize(layer)
    return (layer, *layer.get_weights())


def test_tdnn_matches_numpy_reference():
    x = random_inputs()
    layer, kernel, bias = random_tdnn(x, delay=3)
    np.testing.assert_allclose(layer(x), tdnn_reference(x, kernel, bias), atol=1e-5)
    last = TDNN.from_config(layer.get_config() | {"return_sequences": False})
    last(x)
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(last(x), tdnn_reference(x, kernel, bias)[:, -1], atol=1e-5)


@pytest.mark.parametrize("input_delay,output_delay", [(0, 1), (2, 3), (1, 2)])
def test_narx_matches_numpy_reference(input_delay, output_delay):
    x = random_inputs()
    layer = Recurrent(NARXCell(UNITS, input_delay=input_delay, output_delay=output_delay),
                      return_sequences=True)
    layer(x)
    randomize(layer)
    expected = narx_reference(x, *layer.get_weights(), input_delay, output_delay)
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)


def test_narx_return_state_is_the_delay_lines():
    layer = Recurrent(NARXCell(UNITS, input_delay=2, output_delay=3), return_sequences=True,
                      return_state=True)
    outputs, last, older, line = layer(random_inputs())
    assert tuple(line.shape) == (BATCH, 2 * UNITS)
    np.testing.assert_allclose(last, outputs[:, -1], atol=1e-6)
    np.testing.assert_allclose(older, np.concatenate([outputs[:, -2], outputs[:, -3]], -1),
                               atol=1e-6)


@pytest.mark.parametrize("name", MEMORY_LAYERS)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_shapes(name, return_sequences):
    out = layers(return_sequences)[name](random_inputs())
    expected = (BATCH, TIME, UNITS) if return_sequences else (BATCH, UNITS)
    assert tuple(out.shape) == expected


@pytest.mark.parametrize("name", MEMORY_LAYERS)
def test_outputs_are_causal(name):
    layer = layers(True)[name]
    x = random_inputs()
    before = np.asarray(layer(x))
    for t in range(TIME - 1):
        changed = x.copy()
        changed[:, t + 1 :] = np.random.default_rng(t).standard_normal(changed[:, t + 1 :].shape)
        after = np.asarray(layer(changed))
        np.testing.assert_allclose(after[:, : t + 1], before[:, : t + 1], atol=1e-6)
        assert not np.allclose(after[:, t + 1 :], before[:, t + 1 :])


@pytest.mark.parametrize("name", MEMORY_LAYERS)
def test_masked_sequences_end_where_their_truncated_twins_end(name):
    x = random_inputs()
    mask = np.arange(TIME)[None, :] < np.array(LENGTHS)[:, None]
    layer = layers(False)[name]
    masked = np.asarray(layer(x, mask=mask))
    for row, length in enumerate(LENGTHS):
        np.testing.assert_allclose(masked[row], layer(x[row : row + 1, :length])[0], atol=1e-5)


@pytest.mark.parametrize("name", MEMORY_LAYERS)
def test_mask_flows_through_a_model(name):
    ids = keras.Input((None,), dtype="int32")
    features = keras.layers.Embedding(10, FEATURES, mask_zero=True)(ids)
    outputs = keras.layers.Dense(2)(recurrent_stack(name, UNITS, return_sequences=True)(features))
    assert outputs._keras_mask is not None
    model = keras.Model(ids, outputs)
    padded = np.array([[3, 4, 5, 0, 0]], "int32")
    np.testing.assert_allclose(model(padded)[:, :3], model(padded[:, :3]), atol=1e-5)


@pytest.mark.parametrize("name", MEMORY_LAYERS)
def test_models_save_and_load_safely(name, tmp_path):
    inputs = keras.Input((None, FEATURES))
    outputs = keras.layers.Dense(1)(recurrent_stack(name, UNITS, return_sequences=False)(inputs))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = random_inputs()
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="cannot be bidirectional"):
        recurrent_stack("tdnn", UNITS, bidirectional=True)
    with pytest.raises(ConfigError, match="delay"):
        TDNN(UNITS, delay=-1)
    with pytest.raises(ConfigError, match="output_delay"):
        NARXCell(UNITS, output_delay=-1)
    with pytest.raises(ConfigError, match="input_delay"):
        recurrent_stack("narx", UNITS, input_delay=1.5)


def test_step_tdnn_cell_equals_the_parallel_tdnn_layer():
    # make_cell("tdnn") is NARXCell(output_delay=0): the TDNN computed step by step.
    x = random_inputs()
    parallel, kernel, bias = random_tdnn(x, delay=2)
    stepped = Recurrent(make_cell("tdnn", UNITS), return_sequences=True)
    stepped(x)
    assert [w.shape for w in stepped.get_weights()] == [(FEATURES, 3 * UNITS), (UNITS,)]
    stepped.set_weights([np.concatenate(list(kernel), axis=1), bias])
    np.testing.assert_allclose(stepped(x), parallel(x), atol=1e-5)
    np.testing.assert_allclose(stepped(x), tdnn_reference(x, kernel, bias), atol=1e-5)


def test_narx_without_any_delay_is_refused():
    with pytest.raises(ConfigError, match="no memory"):
        NARXCell(UNITS, input_delay=0, output_delay=0)
