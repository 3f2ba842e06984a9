"""A backend-independent loss-and-gradients helper for comparing layers (TF and JAX)."""

import keras
import numpy as np
from keras import ops


def weighted_sum(outputs):
    """A scalar that depends on every output element with a different weight."""
    total = 0.0
    for out in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
        size = int(np.prod(out.shape))
        weights = ops.reshape(ops.sin(ops.arange(size, dtype="float32")), out.shape)
        total = total + ops.sum(out * weights)
    return total


def outputs_and_gradients(layer, inputs, **call_kwargs):
    """Returns (outputs as numpy list, gradients w.r.t. [*trainable weights, inputs])."""
    inputs = np.asarray(inputs, dtype="float32")
    if not layer.built:
        layer(inputs, **call_kwargs)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(inputs)
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = layer(x, **call_kwargs)
            loss = weighted_sum(outputs)
        grads = tape.gradient(loss, [*layer.trainable_weights, x])
    elif backend == "jax":
        import jax

        trainable = [v.value for v in layer.trainable_variables]
        fixed = [v.value for v in layer.non_trainable_variables]

        def loss_fn(trainable, x):
            outputs, _ = layer.stateless_call(trainable, fixed, x, **call_kwargs)
            return weighted_sum(outputs), outputs

        (_, outputs), (weight_grads, input_grad) = jax.value_and_grad(
            loss_fn, argnums=(0, 1), has_aux=True
        )(trainable, inputs)
        grads = [*weight_grads, input_grad]
    else:  # pragma: no cover - the suite runs on TensorFlow and JAX
        raise NotImplementedError(backend)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [np.asarray(o) for o in outputs], [np.asarray(g) for g in grads]
