"""`EpochTimes`: a Keras callback that records the wall time of every epoch of a `fit`
(shared by the benchmarks that time training epochs).

>>> times = EpochTimes()
>>> times.on_epoch_begin(0); times.on_epoch_end(0)
>>> len(times.seconds)
1
"""

import time

import keras


class EpochTimes(keras.callbacks.Callback):
    """Records the wall time of every epoch of a `fit` in ``seconds``."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)
