"""Data-parallel training with `tf.distribute.MirroredStrategy` (``--distribute mirrored``).

A mirrored strategy keeps one copy of every variable per device and splits each batch
across the copies; the gradients are summed over the devices before every update. Build
and compile the model under the strategy's scope, then call ``fit`` as usual:

>>> with distribution_scope("none"):  # "mirrored" on a machine with several devices
...     pass

The devices are the GPUs when there are any, otherwise the CPU. To try data parallelism
on a machine without GPUs, set ``SEQTASKS_CPU_DEVICES=2`` before the run: the CPU is then
split into two logical devices (this has to happen before TensorFlow starts, so it is done
at the start of a run, see `split_cpu_from_environment`).
"""

import contextlib
import functools
import os
import sys

from seqtasks.errors import ConfigError

STRATEGIES = ("none", "mirrored")
CPU_DEVICES = "SEQTASKS_CPU_DEVICES"


def split_cpu_from_environment():
    """Splits the CPU into ``$SEQTASKS_CPU_DEVICES`` logical devices (nothing when unset).

    Raises:
        ConfigError: for a bad value, or when TensorFlow has already started.
    """
    text = os.environ.get(CPU_DEVICES)
    if not text:
        return
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{CPU_DEVICES} must be a positive integer, got {text!r}")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration()] * int(text)
    if tf.config.get_logical_device_configuration(cpu) == wanted:
        return  # already split (a second run in the same process)
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError as error:
        raise ConfigError(f"{CPU_DEVICES}: TensorFlow has already started ({error})") from None


@functools.cache
def make_strategy(name):
    """The `tf.distribute.Strategy` called `name` ("mirrored"), or None for "none"/None."""
    if name in (None, "none"):
        return None
    if name not in STRATEGIES:
        raise ConfigError(f"--distribute must be one of {STRATEGIES}, got {name!r}")
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ConfigError("--distribute mirrored needs the TensorFlow backend; on JAX use "
                          "keras.distribution.DataParallel (see the README)")
    import tensorflow as tf

    split_cpu_from_environment()
    devices = ([d.name for d in tf.config.list_logical_devices("GPU")]
               or [d.name for d in tf.config.list_logical_devices("CPU")])
    strategy = tf.distribute.MirroredStrategy(devices)
    print(f"seqtasks: data-parallel training on {strategy.num_replicas_in_sync} replicas "
          f"({', '.join(devices)})", file=sys.stderr)
    return strategy


def distribution_scope(name):
    """The scope to build and compile a model in: the strategy's, or a no-op for "none"."""
    strategy = make_strategy(name)
    return strategy.scope() if strategy is not None else contextlib.nullcontext()
