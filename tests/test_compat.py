"""The assumptions `seqtasks.compat` makes about Keras's and keras-tuner's private modules.

A failure here after an upgrade names the private API that moved; setup.cfg's pins
must then be kept below that version until `seqtasks.compat` follows.
"""

import ast
import configparser
import inspect
from importlib import metadata
from pathlib import Path

import keras
import numpy as np
import pytest
from packaging.requirements import Requirement

from seqtasks import compat
from seqtasks.cells import ElmanCell, GRUCell, LSTMCell

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = ("keras.src", "keras_tuner.src")


def _private_uses(tree):
    """The private module names a parsed module imports or reaches as attributes."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            yield f"{node.value.id}.{node.attr}"


def test_only_the_shim_uses_private_modules():
    offenders = {}
    for path in (ROOT / "seqtasks").rglob("*.py"):
        if path.name == "compat.py":
            continue
        names = set(_private_uses(ast.parse(path.read_text("utf-8"))))
        private = sorted(n for n in names if n.startswith(PRIVATE))
        if private:
            offenders[str(path.relative_to(ROOT))] = private
    assert offenders == {}


@pytest.mark.parametrize("package", ["keras", "keras-tuner"])
def test_installed_versions_are_within_the_pins(package):
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    pins = {Requirement(line).name: Requirement(line).specifier
            for line in config["options"]["install_requires"].split()}
    assert pins[package].contains(metadata.version(package)), (package, pins[package])


def test_cells_are_keras_dropout_cells_and_the_rnn_layer_knows_it():
    # keras.layers.RNN resets the masks between calls only for DropoutRNNCell instances.
    cell = ElmanCell(4, activation="linear", kernel_initializer="identity",
                     recurrent_initializer="zeros", use_bias=False, dropout=0.5, seed=1)
    assert isinstance(cell, compat.DropoutRNNCell)
    x = np.ones((3, 4), "float32")
    mask = np.asarray(cell.get_dropout_mask(x))
    assert mask.shape == x.shape and set(np.unique(mask)) <= {0.0, 2.0}
    np.testing.assert_array_equal(cell.get_dropout_mask(x), mask)  # one mask per sequence
    layer = keras.layers.RNN(cell, return_sequences=True)
    sequence = np.ones((3, 2, 4), "float32")
    first, second = (np.asarray(layer(sequence, training=True)) for _ in range(2))
    assert not np.array_equal(first, second), "the mask was not reset between calls"


def test_recurrent_dropout_mask_is_kept_for_the_whole_sequence():
    cell = GRUCell(4, recurrent_dropout=0.5, seed=2)
    h = np.ones((3, 4), "float32")
    mask = np.asarray(cell.get_recurrent_dropout_mask(h))
    assert set(np.unique(mask)) <= {0.0, 2.0}
    np.testing.assert_array_equal(cell.get_recurrent_dropout_mask(h), mask)
    cell.reset_recurrent_dropout_mask()  # what keras.layers.RNN calls before a sequence
    assert not np.array_equal(cell.get_recurrent_dropout_mask(h), mask)


def _fused_arguments(cell, x, mask=None):
    """The arguments `seqtasks.layers.recurrent` passes to the backend's fused functions."""
    cell.build(x.shape)
    return dict(
        mask=mask, kernel=cell.kernel, recurrent_kernel=cell.recurrent_kernel,
        bias=cell.bias, activation=cell.activation,
        recurrent_activation=cell.recurrent_activation, return_sequences=True,
        go_backwards=False, unroll=False,
    )


def _check_fused_result(result, batch, time, units, n_states):
    last_output, outputs, states = result
    assert tuple(last_output.shape) == (batch, units)
    assert tuple(outputs.shape) == (batch, time, units)
    assert len(states) == n_states


def test_backend_lstm_raises_not_implemented_or_runs_as_recurrent_expects():
    x = np.ones((2, 3, 5), "float32")
    h0 = np.zeros((2, 4), "float32")
    arguments = _fused_arguments(LSTMCell(4), x)
    inspect.signature(compat.lstm).bind(x, h0, h0, **arguments)
    try:
        result = compat.lstm(x, h0, h0, **arguments)
    except NotImplementedError:
        return  # no fused kernel here (CPU): Recurrent falls back to its own
    _check_fused_result(result, 2, 3, 4, n_states=2)


def test_backend_gru_raises_not_implemented_or_runs_as_recurrent_expects():
    x = np.ones((2, 3, 5), "float32")
    h0 = np.zeros((2, 4), "float32")
    arguments = {**_fused_arguments(GRUCell(4), x), "reset_after": True}
    inspect.signature(compat.gru).bind(x, h0, **arguments)
    try:
        result = compat.gru(x, h0, **arguments)
    except NotImplementedError:
        return
    _check_fused_result(result, 2, 3, 4, n_states=1)


def test_backend_lstm_refuses_what_no_fused_kernel_computes():
    x = np.ones((2, 3, 5), "float32")
    h0 = np.zeros((2, 4), "float32")
    arguments = {**_fused_arguments(LSTMCell(4), x), "activation": keras.activations.relu}
    with pytest.raises(NotImplementedError):
        compat.lstm(x, h0, h0, **arguments)


def test_keras_tuner_saves_its_state_through_the_installed_function(tmp_path, monkeypatch):
    from keras_tuner.src import utils
    from keras_tuner.src.engine import stateful

    from seqtasks.tuning import tuners

    assert list(inspect.signature(utils.save_json).parameters) == ["path", "obj"]
    assert utils.save_json is tuners.save_json_atomically  # installed on import
    monkeypatch.setattr(utils, "save_json", utils.save_json)  # restored afterwards
    calls = []
    compat.install_save_json(lambda path, obj: calls.append((path, obj)) or "{}")

    class State(stateful.Stateful):
        def get_state(self):
            return {"trials": 1}

    State().save(tmp_path / "oracle.json")
    assert calls == [(tmp_path / "oracle.json", {"trials": 1})]


def test_keras_tuner_calls_save_json_through_the_utils_module():
    # Replacing the module attribute reaches only callers that look it up there.
    import keras_tuner

    source = Path(keras_tuner.__file__).parent / "src"
    callers = [p for p in source.rglob("*.py")
               if "save_json(" in p.read_text("utf-8") and "test" not in p.name]
    assert callers, "keras-tuner no longer calls save_json"
    for path in callers:
        if path.name == "utils.py":
            continue
        text = path.read_text("utf-8")
        assert "from keras_tuner.src import utils" in text, path
        assert text.count("save_json(") == text.count("utils.save_json("), path


def test_the_weight_average_warms_up_as_tensorflow_num_updates_does():
    """`WarmupAverageAdam` relies on Keras reading ``ema_momentum`` at every step of
    ``_update_model_variables_moving_average``: the average follows the warm-up formula."""
    from seqtasks.compat import WarmupAverageAdam

    variable = keras.Variable(0.0)
    optimizer = WarmupAverageAdam(learning_rate=0.1, use_ema=True, ema_momentum=0.99)
    optimizer.build([variable])
    values, expected = [], None
    for step in range(30):
        optimizer.apply([keras.ops.convert_to_tensor(-1.0)], [variable])
        value = float(keras.ops.convert_to_numpy(variable))
        momentum = 0.0 if step == 0 else min(0.99, (1 + step) / (10 + step))
        expected = value if expected is None else momentum * expected + (1 - momentum) * value
        values.append(value)
    average = float(keras.ops.convert_to_numpy(optimizer._model_variables_moving_average[0]))
    assert average == pytest.approx(expected, rel=1e-5)
    plain = values[0]
    for value in values[1:]:
        plain = 0.99 * plain + 0.01 * value
    assert abs(average - expected) < abs(plain - expected)  # not Keras's fixed momentum
    config = optimizer.get_config()
    assert WarmupAverageAdam.from_config(config).ema_momentum == 0.99


def test_jax_batches_are_laid_out_one_by_one_only_within_lay_out_each_batch(monkeypatch):
    """`lay_out_each_batch` replaces the private ``JAXEpochIterator._get_distributed_iterator``
    (which lays out a pass like its first batch) by one that calls ``_distribute_data`` on
    each batch from ``data_adapter.get_jax_iterator()``; the whole run is checked by
    tests/test_distribute.py on JAX."""
    from keras.src.backend.jax import trainer

    original = trainer.JAXEpochIterator._get_distributed_iterator
    assert list(inspect.signature(original).parameters) == ["self", "distribution"]
    assert "self.data_adapter.get_jax_iterator()" in inspect.getsource(original)
    assert list(inspect.signature(trainer._distribute_data).parameters) == ["data", "layouts"]
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with compat.lay_out_each_batch():
        assert trainer.JAXEpochIterator._get_distributed_iterator is not original
    assert trainer.JAXEpochIterator._get_distributed_iterator is original


def test_jax_loss_tracker_counts_weighted_rows_only_within_count_weighted_rows(monkeypatch):
    """`count_weighted_rows` replaces the private ``JAXTrainer._update_metrics_variables``
    (which weighs the loss by the rows of the batch's first input) by one that weighs it
    by the rows of nonzero sample weight; tests/test_fixed_shapes.py checks the reported
    figures on JAX."""
    from keras.src.backend.jax import trainer

    original = trainer.JAXTrainer._update_metrics_variables
    assert list(inspect.signature(original).parameters) == [
        "self", "metrics_variables", "unscaled_loss", "x", "y", "y_pred", "sample_weight"]
    source = inspect.getsource(original)
    assert "self._loss_tracker.update_state(" in source and "compute_metrics(" in source
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with compat.count_weighted_rows():
        assert trainer.JAXTrainer._update_metrics_variables is not original
    assert trainer.JAXTrainer._update_metrics_variables is original


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="Keras builds first on JAX")
def test_a_model_built_for_training_traces_its_train_step_once(tmp_path, monkeypatch):
    """`build_for_training` relies on the private ``_distribute_strategy`` (None without a
    strategy) and ``_symbolic_build(data_batch=...)``, which builds the compiled metrics and
    loss and the optimizer: `seqtasks.training.fit` then traces the train step once."""
    from seqtasks.training import fit

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"])
    assert model._distribute_strategy is None
    assert not model.optimizer.built and not model._compile_metrics.built
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    y = np.arange(16) % 3
    compat.build_for_training(model, (x, y))
    assert model.optimizer.built and model._compile_metrics.built
    assert model.optimizer.iterations.numpy() == 0

    traces = []
    train_step = model.train_step
    monkeypatch.setattr(model, "train_step", lambda data: traces.append(1) or train_step(data))
    fit(model, (x, y), (x, y), tmp_path, epochs=2, verbose=0)
    assert len(traces) == 1
