"""Training with the Keras callbacks a long run needs: checkpoints, resume, early stop, budget.

Example:

>>> model.compile(optimizer=make_optimizer(1e-3, clipnorm=1.0), loss="mse")  # doctest: +SKIP
>>> history = fit(model, train_ds, val_ds, work_dir, epochs=10, max_seconds=60)  # doctest: +SKIP
"""

import json
import math
import time

import keras
import pandas as pd

from seqtasks.compat import WarmupAverageAdam, build_for_training, count_weighted_rows
from seqtasks.data.batching import (BucketedBatches, LengthBatches, Padding, compiles_per_shape,
                                    pad_batch, tf_dataset)
from seqtasks.distribute import any_worker
from seqtasks.errors import SeqtasksError


class TrainingError(SeqtasksError):
    """Training could not go on (for example the loss became NaN)."""


def make_optimizer(learning_rate=1e-3, clipnorm=None, ema=0.0):
    """Adam, with gradients clipped to a global norm of `clipnorm` when given.

    With `ema` (a momentum such as 0.999) Adam also keeps an exponential moving average
    of the weights (Polyak averaging, Keras's ``use_ema``), whose momentum warms up to
    `ema` (`seqtasks.compat.WarmupAverageAdam`); `fit` then validates, keeps and returns
    the averaged weights.
    """
    if ema:
        return WarmupAverageAdam(learning_rate=learning_rate, global_clipnorm=clipnorm,
                                 use_ema=True, ema_momentum=ema)
    return keras.optimizers.Adam(learning_rate=learning_rate, global_clipnorm=clipnorm)


def cross_entropy():
    """The sparse categorical cross-entropy averaged over the weighted (and unmasked) steps
    of a batch (``reduction="mean_with_sample_weight"``): without sample weights, Keras's
    default mean; with them, the padding a batch gets on JAX (`pad_batch`, weight 0)
    changes nothing."""
    return keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")


def free_axes(model):
    """The axes of each input of `model` whose size is unknown (after the batch): a tuple,
    or ``{input name: tuple}`` for a model of several inputs."""
    axes = {tensor.name: tuple(axis for axis, size in enumerate(tensor.shape)
                               if axis and size is None) for tensor in model.inputs}
    return next(iter(axes.values())) if len(axes) == 1 else axes


def feed(model, data):
    """`data` as `model` should read it: a Keras `PyDataset` of batches that vary in shape
    through `tf_dataset` on TensorFlow; `LengthBatches` in a bounded set of padded shapes
    (`BucketedBatches`) on JAX, which compiles a step per shape; anything else as it is."""
    if keras.backend.backend() == "tensorflow" and isinstance(data, keras.utils.PyDataset):
        return tf_dataset(data)
    if compiles_per_shape() and isinstance(data, LengthBatches):
        return BucketedBatches(data, _named_axes(model, data[0][0]))
    return data


def _named_axes(model, x):
    """`free_axes` of `model` in the structure of inputs `x` (an array or a dict)."""
    axes = free_axes(model)
    if isinstance(x, dict) and not isinstance(axes, dict):
        return {name: axes for name in x}
    return axes


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `seconds` of wall time have passed (checked after every batch)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.exhausted = False

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        # The workers of a multi-worker run all stop, or none does.
        exhausted = time.monotonic() - self.start > self.seconds
        if any_worker(getattr(self.model, "distribute_strategy", None), exhausted):
            self.exhausted = True
            self.model.stop_training = True


def _trim_history(work_dir):
    """Drops history rows of epochs after the last checkpoint (a kill can land in between)."""
    metadata, history = work_dir / "backup" / "training_metadata.json", work_dir / "history.csv"
    if not (metadata.exists() and history.exists()):
        return
    finished = json.loads(metadata.read_text())["epoch"]
    rows = pd.read_csv(history)
    rows[rows["epoch"] < finished].to_csv(history, index=False)


def fit(
    model,
    train,
    validation,
    work_dir,
    epochs=10,
    max_seconds=None,
    patience=3,
    monitor="val_loss",
    verbose=1,
    extra_callbacks=(),
    initial_epoch=0,
):
    """Trains a compiled, built model; returns the history (all epochs, also resumed ones).

    `train` is a `tf.data.Dataset` (or other Keras data source) or an ``(x, y)`` tuple; a
    Keras `PyDataset` is read through `feed`, so its batches may vary in shape (on JAX in
    padded shapes, whose added rows weigh nothing in the reported loss and metrics).

    - A checkpoint every epoch in ``work_dir/backup`` (`keras.callbacks.BackupAndRestore`,
      double-buffered so a kill mid-write loses nothing): calling `fit` again with the same
      `work_dir` after an interruption resumes from the last finished epoch.
    - ``work_dir/history.csv`` (`CSVLogger`, appended across resumes).
    - Early stopping on `monitor` with the best weights restored; `TerminateOnNaN`, turned
      into a `TrainingError` with advice; a wall-time budget of `max_seconds`.
    - With an optimizer that keeps a moving average of the weights (``use_ema``), the
      validation loss, early stopping and the returned model use the averaged weights
      (`keras.callbacks.SwapEMAWeights`); the checkpoint holds the raw weights and the
      average, so a resumed run goes on exactly where it stopped.
    - `initial_epoch`: the epoch to start at, for a model that continues earlier training
      (Hyperband's longer rounds); a checkpoint in ``work_dir`` takes precedence.
    """
    _trim_history(work_dir)
    # Order matters at the end of an epoch: the checkpoint is written first (raw weights,
    # with the average in the optimizer), then the averaged weights are swapped in for
    # early stopping, which keeps and finally restores the best of them.
    swap_average = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)
                    ] if getattr(model.optimizer, "use_ema", False) else []
    callbacks = [
        keras.callbacks.BackupAndRestore(str(work_dir / "backup"), double_checkpoint=True),
        *swap_average,
        keras.callbacks.CSVLogger(str(work_dir / "history.csv"), append=True),
        keras.callbacks.EarlyStopping(monitor, patience=patience, restore_best_weights=True),
        keras.callbacks.TerminateOnNaN(),
        *extra_callbacks,
    ]
    if max_seconds:
        callbacks.append(TimeBudget(max_seconds))
    first = _first_batch(train)
    if first is not None:  # the train step is then traced once, not twice (TensorFlow)
        build_for_training(model, first)
    train, validation = (feed(model, data) for data in (train, validation))
    x, y = train if isinstance(train, tuple) else (train, None)
    with count_weighted_rows():
        history = model.fit(
            x, y, validation_data=validation, epochs=epochs, callbacks=callbacks,
            verbose=verbose, shuffle=y is not None, initial_epoch=initial_epoch,
        )
    losses = history.history.get("loss", [])
    if any(not math.isfinite(loss) for loss in losses):
        raise TrainingError(
            "training loss became NaN/inf; lower --learning-rate or set --clipnorm"
        )
    return pd.read_csv(work_dir / "history.csv")


def _first_batch(data):
    """The first batch of training data `data`: item 0 of a Keras `PyDataset`, all of an
    ``(x, y)`` tuple of arrays; None for anything else (a `tf.data.Dataset`) or no batch."""
    if isinstance(data, keras.utils.PyDataset):
        return data[0] if data.num_batches != 0 else None
    if isinstance(data, tuple):
        return data
    return None


def compiled(function):
    """`function` compiled once per input shape: `jax.jit` on JAX (where JAX would
    otherwise compile each operation, and each scan, for each shape), a `tf.function` on
    TensorFlow (where a scan would otherwise run a Python step per time step: a CRF's
    Viterbi decoding of a split 10 times slower); as it is on torch. On JAX, variables
    it reads are taken at their values when it first runs on a shape: compile it for one
    use, such as decoding a split after training.

    >>> float(compiled(keras.ops.abs)(-2.0))
    2.0
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(function)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True, autograph=False)
    return function


def predict_batch(model, inputs, rows=None, padding=Padding()):
    """The model's outputs for one batch of `inputs`, as NumPy arrays.

    `model.predict_on_batch`, except for a model compiled under a distribution strategy
    with several replicas (``--distribute mirrored``): there Keras runs the whole batch on
    every replica and returns all their rows, so `model.predict` splits it instead. On
    JAX the batch is padded (`pad_batch`: its free lengths to their buckets, its rows to
    `rows`, as `padding` says) so that predictions compile for a few shapes; the outputs
    keep their padded lengths (each row's own length is the caller's to cut) but
    not the added rows.
    """
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        return model.predict(inputs, verbose=0)
    count = len(next(iter(inputs.values())) if isinstance(inputs, dict) else inputs)
    if compiles_per_shape():
        inputs = pad_batch(inputs, max(rows or count, count), _named_axes(model, inputs),
                           padding)
    outputs = model.predict_on_batch(inputs)
    return keras.tree.map_structure(lambda array: keras.ops.convert_to_numpy(array)[:count],
                                    outputs)
