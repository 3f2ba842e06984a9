"""The one home of the private Keras and keras-tuner names seqtasks relies on.

Nothing else in seqtasks imports ``keras.src`` or ``keras_tuner.src``: when an upgrade
moves one of these names, this module and ``tests/test_compat.py`` are the places to
look. setup.cfg pins Keras and keras-tuner to the versions checked there.

- `DropoutRNNCell`: Keras's mixin that gives a cell ``get_dropout_mask`` and
  ``get_recurrent_dropout_mask`` (one mask per sequence, as Keras's own cells use).
- `lstm` and `gru`: the active backend's fused LSTM/GRU (``keras.src.backend.lstm``
  and ``gru``, e.g. cuDNN); they raise NotImplementedError where there is none.
- `get_keras_mask`: the mask Keras attached to a tensor (None without one).
- `install_save_json`: puts a function in place of keras-tuner's ``utils.save_json``,
  through which its tuners and oracles write their state files.
- `WarmupAverageAdam`: Adam whose moving average of the weights warms up; it overrides
  the optimizer's private ``_update_model_variables_moving_average``, which reads
  ``ema_momentum`` at every step.
- `lay_out_each_batch`: on JAX, has ``fit``, ``evaluate`` and ``predict`` lay out each
  batch by its own shape under a Keras distribution, in place of the private
  ``JAXEpochIterator._get_distributed_iterator``, which lays out every batch of a pass
  like its first.
- `count_weighted_rows`: on JAX, has ``fit`` and ``evaluate`` weigh each batch's loss by
  its rows of nonzero sample weight, in place of the private
  ``JAXTrainer._update_metrics_variables``, which weighs it by all the batch's rows.
- `build_for_training`: on TensorFlow without a distribution strategy, builds a model's
  compiled metrics, loss and optimizer before ``fit`` (the private ``_symbolic_build``,
  which Keras runs itself on JAX and under a strategy), so that the train step is traced
  once rather than twice.

Example:

>>> hasattr(DropoutRNNCell, "get_dropout_mask")
True
"""

import contextlib

import keras
from keras import ops
from keras.src import backend as _backend
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

lstm = _backend.lstm
gru = _backend.gru
get_keras_mask = _backend.get_keras_mask

__all__ = ["DropoutRNNCell", "WarmupAverageAdam", "build_for_training", "count_weighted_rows",
           "get_keras_mask", "gru", "install_save_json", "lay_out_each_batch", "lstm"]


@keras.saving.register_keras_serializable(package="seqtasks")
class WarmupAverageAdam(keras.optimizers.Adam):
    """Adam (``use_ema=True``) whose weight average uses the momentum
    ``min(ema_momentum, (1 + t) / (10 + t))`` at step t, as TensorFlow's
    ``ExponentialMovingAverage(num_updates=t)`` does: a short run's average forgets its
    first, poor weights (a momentum of 0.999 would still give the weights of step 0 a
    third of the average after 1,000 steps), and a long run's average is Keras's.
    """

    def _update_model_variables_moving_average(self, trainable_variables):
        momentum = self.ema_momentum
        step = ops.cast(self.iterations, "float32")
        self.ema_momentum = ops.minimum(momentum, (1.0 + step) / (10.0 + step))
        try:
            super()._update_model_variables_moving_average(trainable_variables)
        finally:
            self.ema_momentum = momentum


def install_save_json(save_json):
    """Makes `save_json(path, obj)` the function keras-tuner saves its state with.

    keras-tuner's modules call ``utils.save_json`` through the module, so replacing the
    module's attribute reaches every caller. (keras-tuner is imported only here, so the
    cells and layers do not need it.)
    """
    from keras_tuner.src import utils

    utils.save_json = save_json


@contextlib.contextmanager
def lay_out_each_batch():
    """Within it, Keras's JAX ``fit``, ``evaluate`` and ``predict`` lay out each batch over
    the devices of the current distribution by the batch's own shape.

    Keras computes the layouts of a pass from its first batch and reuses them, so a later
    batch of another size cannot be laid out otherwise (`seqtasks.distribute`'s
    `EvenDataParallel` keeps a batch that does not split evenly whole). Outside JAX it
    changes nothing.
    """
    if keras.backend.backend() != "jax":
        yield
        return
    from keras.src.backend.jax import trainer

    def each_batch_laid_out(self, distribution):
        for batch in self.data_adapter.get_jax_iterator():
            yield trainer._distribute_data(batch)

    iterator = trainer.JAXEpochIterator
    original = iterator._get_distributed_iterator
    iterator._get_distributed_iterator = each_batch_laid_out
    try:
        yield
    finally:
        iterator._get_distributed_iterator = original


@contextlib.contextmanager
def count_weighted_rows():
    """Within it, Keras's JAX ``fit`` and ``evaluate`` weigh each batch's loss, in the mean
    loss they report, by the batch's rows that have a nonzero sample weight.

    Keras weighs it by all the batch's rows, so the rows a padded batch adds
    (`seqtasks.data.batching.pad_batch`, weight 0) would weigh the batch more than its
    own rows do. Batches without sample weights are weighed by all their rows, as Keras
    does. Outside JAX it changes nothing.
    """
    if keras.backend.backend() != "jax":
        yield
        return
    from keras.src.backend.jax import trainer

    def update_metrics(self, metrics_variables, unscaled_loss, x, y, y_pred, sample_weight):
        if sample_weight is None:
            return original(self, metrics_variables, unscaled_loss, x, y, y_pred, sample_weight)
        weight = ops.reshape(sample_weight, (ops.shape(sample_weight)[0], -1))
        rows = ops.sum(ops.cast(ops.any(ops.not_equal(weight, 0), axis=1), "float32"))
        mapping = list(zip(self.metrics_variables, metrics_variables))
        with _backend.StatelessScope(state_mapping=mapping) as scope:
            self._loss_tracker.update_state(unscaled_loss, sample_weight=rows)
            logs = self.compute_metrics(x, y, y_pred, sample_weight)
        values = [scope.get_current_value(variable) for variable in self.metrics_variables]
        return logs, [variable.value if value is None else value
                      for variable, value in zip(self.metrics_variables, values)]

    original = trainer.JAXTrainer._update_metrics_variables
    trainer.JAXTrainer._update_metrics_variables = update_metrics
    try:
        yield
    finally:
        trainer.JAXTrainer._update_metrics_variables = original


def build_for_training(model, batch):
    """Builds what a compiled `model` creates in its first train step: the compiled
    metrics' and loss's variables and the optimizer's, from the shapes of one `batch`
    (``x``, ``(x, y)`` or ``(x, y, sample_weight)``).

    Keras on TensorFlow without a distribution strategy leaves them to the first trace of
    the train step, and `tf.function` then traces the step a second time (the first trace
    created variables): a second trace of the whole forward and backward pass. Keras's
    own ``_symbolic_build`` (which its JAX trainer runs before every ``fit``, and its
    TensorFlow trainer under a strategy) creates them beforehand, with the same initial
    values. Elsewhere, or with a strategy, it does nothing: Keras builds them itself.
    """
    if keras.backend.backend() != "tensorflow" or model._distribute_strategy is not None:
        return
    model._symbolic_build(data_batch=keras.utils.unpack_x_y_sample_weight(batch))
