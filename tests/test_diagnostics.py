"""Gradient-flow diagnostics and the synthetic long-range tasks."""

import json

import keras
import numpy as np
import pytest

from seqtasks.cells import make_cell
from seqtasks.analysis.diagnostics import (
    _adding_model,
    clipping_demo,
    decay_ratios,
    gradient_flow,
    run_gradient_diagnosis,
    scale_spectral_radius,
    spectral_radius,
    state_gradient_norms,
)
from seqtasks.errors import ConfigError
from seqtasks.data.memory import ADDING_BASELINE_MSE, adding_problem, copy_task, random_sequences


# ---------------------------------------------------------------------------- tasks
def test_adding_problem_marks_one_number_in_each_half():
    x, y = adding_problem(200, length=12, seed=3)
    markers = x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :6].sum(axis=1) == 1).all() and (markers[:, 6:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    assert abs(np.mean((y - 1.0) ** 2) - ADDING_BASELINE_MSE) < 0.03
    np.testing.assert_array_equal(adding_problem(200, 12, seed=3)[0], x)


def test_copy_task_writes_the_symbols_after_the_marker():
    x, y = copy_task(4, length=3, delay=6, symbols=5, seed=1)
    assert x.shape == y.shape == (4, 12)
    assert ((x[:, :3] >= 1) & (x[:, :3] <= 5)).all()
    assert (x[:, 8] == 6).all() and (np.delete(x[:, 3:], 5, axis=1) == 0).all()
    assert (y[:, :9] == 0).all() and (y[:, 9:] == x[:, :3]).all()


def test_random_sequences_are_right_padded():
    ids = random_sequences(50, 2, 5, vocab_size=4, seed=0)
    lengths = (ids != 0).sum(axis=1)
    assert ids.shape == (50, 5) and lengths.min() >= 2 and lengths.max() <= 5
    assert all((row[:n] > 0).all() and (row[n:] == 0).all() for row, n in zip(ids, lengths))


def test_tasks_reject_bad_sizes():
    with pytest.raises(ConfigError, match="length"):
        adding_problem(3, length=1)
    with pytest.raises(ConfigError, match="delay"):
        copy_task(3, delay=0)
    with pytest.raises(ConfigError):
        random_sequences(3, 4, 2, vocab_size=5)
    with pytest.raises(ConfigError, match="n must be a positive integer, got True"):
        adding_problem(True, length=4)
    with pytest.raises(ConfigError, match="symbols"):
        copy_task(3, symbols=2.0)


def test_tasks_accept_numpy_integers():
    x, y = copy_task(np.int64(2), length=np.int32(3), delay=np.int64(4), symbols=np.int64(5))
    assert x.shape == y.shape == (2, 10)
    assert random_sequences(np.int64(2), 1, np.int64(3), vocab_size=np.int64(4)).shape == (2, 3)


# ------------------------------------------------------------------ spectral radius
def test_spectral_radius_per_gate_block_and_rescaling():
    cell = make_cell("lstm", 3)
    cell.build((None, 2))
    blocks = [np.diag([0.5, -2.0, 1.0]) * (k + 1) for k in range(4)]
    cell.recurrent_kernel.assign(np.concatenate(blocks, axis=1).astype("float32"))
    assert spectral_radius(cell) == pytest.approx({"i": 2.0, "f": 4.0, "c": 6.0, "o": 8.0})
    scale_spectral_radius(cell, 1.5)
    assert spectral_radius(cell) == pytest.approx({g: 1.5 for g in "ifco"}, rel=1e-5)


def test_a_minimal_cell_has_no_recurrent_kernel_to_measure_or_rescale():
    flow = gradient_flow("mingru", length=6, units=3, batch=4)
    assert flow.attrs["spectral_radius"] == {"init": {}}
    assert np.isfinite(flow["grad_norm"]).all() and (flow["grad_norm"] > 0).all()
    with pytest.raises(ConfigError, match="no recurrent kernel"):
        gradient_flow("minlstm", length=6, units=3, batch=4, radius=1.5)


# -------------------------------------------------------------------- gradient flow
def test_probe_gradients_follow_the_chain_rule_of_an_elman_rnn():
    keras.utils.set_random_seed(0)
    cell = make_cell("elman", 4)
    _, readout = _adding_model(cell, 6)
    x, y = adding_problem(3, 6, seed=0)
    norms, loss = state_gradient_norms(cell, readout, x, y)
    kernel, recurrent, bias = (np.asarray(w, "float64") for w in cell.get_weights())
    w_out, b_out = (np.asarray(w, "float64") for w in readout.get_weights())
    hs = [np.zeros((3, 4))]
    for t in range(6):
        hs.append(np.tanh(x[:, t] @ kernel + hs[-1] @ recurrent + bias))
    error = hs[-1] @ w_out + b_out - y
    grad = 2 * error @ w_out.T / len(y)  # dL/dh_T of the mean squared error
    expected = [np.linalg.norm(grad)]
    for t in range(6, 1, -1):
        grad = (grad * (1 - hs[t] ** 2)) @ recurrent.T  # dL/dh_{t-1}
        expected.append(np.linalg.norm(grad))
    np.testing.assert_allclose(norms, expected[::-1], rtol=1e-4)
    assert loss == pytest.approx(np.mean(error**2), rel=1e-5)


def test_elman_gradients_vanish_below_and_explode_above_radius_one():
    ratio = {r: decay_ratios(gradient_flow("elman", length=30, units=16, batch=8, radius=r))
             .iloc[0] for r in (0.5, 2.0)}
    assert ratio[0.5] < 1e-6
    assert ratio[2.0] > 10


def test_open_forget_gates_keep_lstm_gradients_alive():
    x, y = adding_problem(8, 30, seed=0)
    ratios = {}
    for forget_bias in (1.0, 5.0):
        keras.utils.set_random_seed(0)
        cell = make_cell("lstm", 16)
        _, readout = _adding_model(cell, 30)
        bias = np.array(cell.bias)
        bias[16:32] = forget_bias
        cell.bias.assign(bias)
        norms, _ = state_gradient_norms(cell, readout, x, y)
        ratios[forget_bias] = norms[0] / norms[-1]
    assert ratios[5.0] > 0.05 and ratios[5.0] > 100 * ratios[1.0]


@pytest.mark.slow
def test_after_training_gru_keeps_gradients_that_elman_loses():
    flows = {cell: gradient_flow(cell, length=30, units=16, batch=16, train_steps=200)
             for cell in ("elman", "gru")}
    ratio = {cell: decay_ratios(flow) for cell, flow in flows.items()}
    assert ratio["gru"]["gru", "trained"] > 10 * ratio["elman"]["elman", "trained"]
    assert ratio["gru"]["gru", "trained"] > 100 * ratio["gru"]["gru", "init"]
    flow = flows["gru"]
    assert set(flow["phase"]) == {"init", "trained"} and len(flow) == 60
    assert set(flow.attrs["spectral_radius"]["trained"]) == {"z", "r", "h"}
    trained_loss = flow.loc[flow.phase == "trained", "loss"].iloc[0]
    assert trained_loss < flow.loc[flow.phase == "init", "loss"].iloc[0]


# ------------------------------------------------------------------------- clipping
def test_clipping_bounds_the_updates_of_an_exploding_rnn():
    demo = clipping_demo(length=50, units=32, radius=2.0, steps=6, batch=32,
                         learning_rate=0.05, clipnorm=1.0)
    clipped = demo[demo.setting == "clipnorm=1"]
    free = demo[demo.setting == "no clipping"]
    assert (clipped.grad_norm > 1.0).all()  # the gradients do explode...
    assert (clipped.update_norm <= 0.05 * 1.0 + 1e-6).all()  # ...but the steps stay bounded
    assert free.update_norm.max() > 100 * clipped.update_norm.max()
    assert clipped.loss.max() < 3 * clipped.loss.iloc[0]


# --------------------------------------------------------------------------- output
def test_run_gradient_diagnosis_writes_its_files(tmp_path):
    out = tmp_path / "diagnosis"
    flow = run_gradient_diagnosis(cells=("elman", "gru"), length=8, out_dir=out, train_steps=1,
                                  units=4, batch=4, explode_radius=2.0, clip_steps=3)
    names = {"gradient_flow.csv", "gradient_flow.png", "spectral_radius.json",
             "decay_ratios.json", "clipping.csv", "clipping.png"}
    assert {p.name for p in out.iterdir()} == names
    assert all((out / name).stat().st_size > 0 for name in names)
    assert set(flow["cell"]) == {"elman", "gru", "elman-rho2"} and len(flow) == 3 * 2 * 8
    radii = json.loads((out / "spectral_radius.json").read_text())
    assert radii["elman-rho2"]["init"]["h"] == pytest.approx(2.0, rel=1e-4)
    assert set(radii["gru"]) == {"init", "trained"}
    ratios = json.loads((out / "decay_ratios.json").read_text())
    assert set(ratios["elman"]) == {"init", "trained"}
    with pytest.raises(ConfigError):
        run_gradient_diagnosis(cells=(), out_dir=tmp_path / "none")
