"""Gradient flow through time: vanishing and exploding gradients, spectral radii, clipping.

`gradient_flow` measures ``|dL_T/dh_k|`` for every step k of a sequence, where L_T is the
loss of a readout of the last state on the adding problem (`seqtasks.data.memory`). The cell
is unrolled step by step in Python, and a zero "probe" tensor is added to every state
``h_k`` where it feeds both the next step and (at k = T) the readout; the gradient with
respect to probe k is then exactly dL_T/dh_k, through the whole recurrence, for all k in
one backward pass. Works on the TensorFlow and JAX backends.

`spectral_radius` gives max |eigenvalue| of each square block of the recurrent kernel,
`clipping_demo` trains an Elman RNN whose recurrent kernel has spectral radius > 1 with
and without global-norm clipping, and `run_gradient_diagnosis` writes all of it (CSV,
JSON, log-scale plots) into a run folder: what ``seqtasks diagnose gradients`` calls.

Example:

>>> flow = gradient_flow("elman", length=20, units=8, batch=4)
>>> list(flow.columns)
['cell', 'phase', 'step', 'distance', 'grad_norm', 'loss']
>>> sorted(flow.attrs["spectral_radius"]["init"])
['h']
"""

import keras
import numpy as np
import pandas as pd
from keras import ops

from seqtasks.cells import GRUCell, LSTMCell, make_cell
from seqtasks.compat import build_for_training
from seqtasks.data.memory import adding_problem
from seqtasks.errors import ConfigError
from seqtasks.layers import Recurrent
from seqtasks.plots import _save, plt
from seqtasks.progress import phase
from seqtasks.runs import RunFolder, write_json
from seqtasks.training import make_optimizer


# ------------------------------------------------------------------ spectral radius
def gate_names(cell):
    """Names of the (units, units) blocks of a cell's recurrent kernel, in weight order."""
    if isinstance(cell, LSTMCell):
        return ("i", "f", "c", "o") if cell.forget_gate else ("i", "c", "o")
    if isinstance(cell, GRUCell):
        return ("z", "r", "h") if cell.variant == "full" else ("z", "h")
    return ("h",) if cell.gates == 1 else tuple(f"block{k}" for k in range(cell.gates))


def _blocks(cell):
    kernel = np.asarray(cell.recurrent_kernel)
    return np.split(kernel, kernel.shape[1] // cell.units, axis=1)


def spectral_radius(cell):
    """Max |eigenvalue| of each gate block of a built cell's recurrent kernel, by gate name
    (none for the minimal cells, which have no recurrent kernel).

    >>> cell = make_cell("gru", 4); cell.build((None, 3))
    >>> sorted(spectral_radius(cell))
    ['h', 'r', 'z']
    """
    if cell.recurrent_kernel is None:
        return {}
    return {
        name: float(np.max(np.abs(np.linalg.eigvals(block))))
        for name, block in zip(gate_names(cell), _blocks(cell))
    }


def scale_spectral_radius(cell, radius):
    """Rescales every block of a built cell's recurrent kernel to spectral radius `radius`."""
    if cell.recurrent_kernel is None:
        raise ConfigError(f"{type(cell).__name__} has no recurrent kernel to rescale")
    blocks = [block * (radius / max(np.max(np.abs(np.linalg.eigvals(block))), 1e-12))
              for block in _blocks(cell)]
    cell.recurrent_kernel.assign(np.concatenate(blocks, axis=1).astype("float32"))


# ---------------------------------------------------------------------- gradients
def _value_and_grad(fn, args):
    """``fn(*args)`` (a scalar) and its gradients with respect to every arg (TF or JAX)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        args = [tf.convert_to_tensor(a) for a in args]
        with tf.GradientTape() as tape:
            tape.watch(args)
            value = fn(*args)
        return value, tape.gradient(value, args)
    if backend == "jax":
        import jax

        return jax.value_and_grad(lambda a: fn(*a))(list(args))
    raise ConfigError(f"gradient diagnostics need the tensorflow or jax backend, not {backend}")


def _global_norm(tensors):
    return float(np.sqrt(sum(np.sum(np.square(np.asarray(t, "float64"))) for t in tensors)))


def state_gradient_norms(cell, readout, x, y):
    """``|dL_T/dh_k|`` for k = 1..T (a NumPy array of T norms) and the loss L_T.

    L_T is the mean squared error of ``readout(h_T)`` against `y`; each norm is taken
    over the whole batch.
    """
    x = ops.convert_to_tensor(x)
    batch, length = x.shape[0], x.shape[1]

    def loss_fn(probes):
        states = list(cell.get_initial_state(batch_size=batch))
        for t in range(length):
            _, states = cell(x[:, t], states)
            states = [states[0] + probes[t], *states[1:]]
        return ops.mean(ops.square(readout(states[0]) - y))

    loss, (grads,) = _value_and_grad(loss_fn, [np.zeros((length, batch, cell.units), "float32")])
    return np.sqrt(np.sum(np.square(np.asarray(grads)), axis=(1, 2))), float(loss)


def _adding_model(cell, length):
    """Input (length, 2) -> Recurrent(cell) -> Dense(1); returns (model, readout)."""
    readout = keras.layers.Dense(1, name="readout")
    inputs = keras.Input((length, 2))
    return keras.Model(inputs, readout(Recurrent(cell)(inputs))), readout


def gradient_flow(
    cell="elman",
    length=100,
    units=32,
    batch=32,
    train_steps=0,
    seed=0,
    learning_rate=1e-2,
    clipnorm=1.0,
    radius=None,
    label=None,
    **cell_kwargs,
):
    """``|dL_T/dh_k|`` for every step k, at initialisation and (train_steps > 0) after training.

    A `cell` (a name from `seqtasks.cells.CELLS`) with `units` reads adding-problem
    sequences of `length` steps; a Dense readout of h_T predicts the sum. The norms are
    measured on one batch of `batch` sequences; with ``train_steps > 0`` the model is
    then trained for that many batches (Adam, `learning_rate`, global `clipnorm`) and
    measured again. `radius` rescales the recurrent kernel to that spectral radius
    before anything else. Seeds Keras's global random state with `seed`.

    Returns a DataFrame with columns cell (`label`, default the cell name), phase
    ("init"/"trained"), step (k = 1..T), distance (T - k), grad_norm and loss (L_T on
    the measured batch, the same in every row of a phase); its
    ``attrs["spectral_radius"]`` maps each phase to `spectral_radius` of the cell.
    """
    keras.utils.set_random_seed(seed)
    recurrent_cell = make_cell(cell, units, **cell_kwargs)
    model, readout = _adding_model(recurrent_cell, length)
    if radius is not None:
        scale_spectral_radius(recurrent_cell, radius)
    x, y = adding_problem(batch, length, seed=seed)
    phases = [("init", None)]
    if train_steps > 0:
        phases.append(("trained", adding_problem(train_steps * batch, length, seed=seed + 1)))
    frames, radii = [], {}
    for phase, train in phases:
        if train is not None:
            model.compile(optimizer=make_optimizer(learning_rate, clipnorm), loss="mse")
            build_for_training(model, train)  # the train step is traced once, not twice
            model.fit(*train, batch_size=batch, epochs=1, verbose=0)
        norms, loss = state_gradient_norms(recurrent_cell, readout, x, y)
        radii[phase] = spectral_radius(recurrent_cell)
        steps = np.arange(1, length + 1)
        frames.append(pd.DataFrame({
            "cell": label or cell, "phase": phase, "step": steps,
            "distance": length - steps, "grad_norm": norms, "loss": loss,
        }))
    flow = pd.concat(frames, ignore_index=True)
    flow.attrs["spectral_radius"] = radii
    return flow


def decay_ratios(flow):
    """Per (cell, phase): ``|dL_T/dh_1| / |dL_T/dh_T|``, how much the gradient shrinks (< 1)
    or grows (> 1) over the whole sequence."""
    def ratio(group):
        by_step = group.set_index("step")["grad_norm"]
        return by_step.iloc[0] / by_step.iloc[-1]

    return flow.groupby(["cell", "phase"], sort=False)[["step", "grad_norm"]].apply(ratio)


# ----------------------------------------------------------------------- clipping
def clipping_demo(
    length=50,
    units=32,
    radius=2.0,
    steps=30,
    batch=32,
    learning_rate=0.05,
    clipnorm=1.0,
    seed=0,
):
    """Trains the same exploding Elman RNN with and without global-norm clipping.

    The Elman cell's recurrent kernel is rescaled to spectral radius `radius` (> 1), so
    gradients through time grow with distance. Both runs use plain SGD with the same
    start and data; one sets ``global_clipnorm=clipnorm``. SGD, not Adam: Adam divides
    each update by a running gradient scale, which already bounds its step size and
    hides what clipping does.

    Returns a DataFrame with columns setting ("no clipping" / "clipnorm=…"), step,
    loss, grad_norm (global norm before clipping) and update_norm (norm of the change
    of all weights in that step).
    """
    x, y = adding_problem(steps * batch, length, seed=seed)
    frames = []
    for clip in (None, clipnorm):
        keras.utils.set_random_seed(seed)
        model, _ = _adding_model(make_cell("elman", units), length)
        scale_spectral_radius(model.layers[1].cell, radius)
        optimizer = keras.optimizers.SGD(learning_rate, global_clipnorm=clip)
        optimizer.build(model.trainable_variables)
        fixed = [v.value for v in model.non_trainable_variables]
        rows = []
        for step in range(steps):
            xb, yb = x[step * batch:(step + 1) * batch], y[step * batch:(step + 1) * batch]

            def loss_fn(*weights, xb=xb, yb=yb):
                prediction, _ = model.stateless_call(list(weights), fixed, xb)
                return ops.mean(ops.square(prediction - yb))

            before = [np.asarray(v) for v in model.trainable_variables]
            loss, grads = _value_and_grad(loss_fn, before)
            optimizer.apply(list(grads), model.trainable_variables)
            after = [np.asarray(v) for v in model.trainable_variables]
            rows.append({
                "step": step, "loss": float(loss), "grad_norm": _global_norm(grads),
                "update_norm": _global_norm([a - b for a, b in zip(after, before)]),
            })
        frame = pd.DataFrame(rows)
        frame.insert(0, "setting", "no clipping" if clip is None else f"clipnorm={clip:g}")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------- output
def plot_gradient_flow(flow, path):
    """grad_norm (log scale) against distance from the end, one line per cell and phase."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (cell, phase), group in flow.groupby(["cell", "phase"], sort=False):
        ax.plot(group["distance"], group["grad_norm"], label=f"{cell} ({phase})",
                linestyle="-" if phase == "init" else "--")
    ax.set(yscale="log", xlabel="distance from the last step, T - k",
           ylabel="|dL_T / dh_k|", title="gradient flow through time")
    ax.legend(fontsize="small")
    _save(fig, path)


def plot_clipping(demo, path):
    """Loss and gradient norm (log scale) per training step, one line per setting."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for setting, group in demo.groupby("setting", sort=False):
        for ax, column in zip(axes, ("loss", "grad_norm", "update_norm")):
            ax.plot(group["step"], group[column], marker=".", label=setting)
    for ax, column in zip(axes, ("loss", "grad_norm", "update_norm")):
        ax.set(yscale="log", xlabel="training step", title=column)
        ax.legend(fontsize="small")
    _save(fig, path)


def run_gradient_diagnosis(
    cells=("elman", "lstm", "gru"),
    length=100,
    out_dir="runs/gradients",
    train_steps=0,
    seed=0,
    units=32,
    batch=32,
    explode_radius=2.0,
    clip_steps=30,
    verbose=False,
):
    """Writes the gradient diagnosis of `cells` into `out_dir` (atomically) and returns the flow.

    Files: ``gradient_flow.csv`` / ``.png`` (every cell at init and, with train_steps,
    after training, plus an Elman cell rescaled to spectral radius `explode_radius`,
    labelled ``elman-rho<radius>``), ``spectral_radius.json`` (cell -> phase -> gate ->
    radius), ``decay_ratios.json`` (cell -> phase -> |dL_T/dh_1| / |dL_T/dh_T|) and
    ``clipping.csv`` / ``.png`` (`clipping_demo` with `clip_steps` steps). `verbose`
    prints a line as each cell's measurement starts and ends.
    """
    if not cells:
        raise ConfigError("cells: give at least one cell name")
    runs = [dict(cell=name) for name in cells]
    if explode_radius:
        runs.append(dict(cell="elman", radius=explode_radius, label=f"elman-rho{explode_radius:g}"))
    with RunFolder(out_dir) as work:
        flows = []
        for run in runs:
            with phase(f"measuring {run.get('label', run['cell'])}", verbose):
                flows.append(gradient_flow(length=length, units=units, batch=batch,
                                           train_steps=train_steps, seed=seed, **run))
        flow = pd.concat(flows, ignore_index=True)
        flow.to_csv(work / "gradient_flow.csv", index=False)
        plot_gradient_flow(flow, work / "gradient_flow.png")
        write_json(work / "spectral_radius.json",
                   {f["cell"].iloc[0]: f.attrs["spectral_radius"] for f in flows})
        ratios = decay_ratios(flow)
        write_json(work / "decay_ratios.json",
                   {cell: ratios[cell].to_dict() for cell in ratios.index.unique(0)})
        if clip_steps:
            with phase("training with and without clipping", verbose):
                demo = clipping_demo(length=length, units=units, radius=explode_radius or 2.0,
                                     steps=clip_steps, batch=batch, seed=seed)
            demo.to_csv(work / "clipping.csv", index=False)
            plot_clipping(demo, work / "clipping.png")
    return flow
