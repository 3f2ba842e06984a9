"""`shown_outputs`: what Keras's recurrent loop shows as the output at masked steps.

At a masked step Keras's loop keeps the state; the output there depends on the backend
and on ``zero_output_for_mask``, and the paths of `Recurrent` that compute the carried
states of a whole sequence at once (the fused LSTM, the linear recurrence) turn those
states into Keras's outputs with this one function.
"""

import keras
from keras import ops


def shown_outputs(states, valid, zero_output_for_mask, time_axis):
    """Keras's outputs from the states carried through every step.

    Args:
        states: the state after each step (the output of the step where it is valid, the
            state carried unchanged where it is masked), steps in processing order.
        valid: a boolean tensor broadcastable to `states`, True at the valid steps; None
            when there is no mask (the outputs are then the states).
        zero_output_for_mask: as in `keras.layers.RNN`: zeros at the masked steps.
        time_axis: the axis of `states` and `valid` that counts the steps.

    Without ``zero_output_for_mask``, Keras's loop on JAX shows the carried state at a
    masked step (the initial state before the first valid step); on TensorFlow and torch
    it repeats the last valid output, zeros before the first valid step.
    """
    if valid is None:
        return states
    if zero_output_for_mask:
        shown = valid
    elif keras.backend.backend() == "jax":
        return states
    else:
        shown = ops.cumsum(ops.cast(valid, "int32"), axis=time_axis) > 0
    return ops.where(shown, states, ops.zeros_like(states))
