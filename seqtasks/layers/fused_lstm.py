"""What the fused LSTMs of `tf_lstm` (TensorFlow) and `jax_lstm` (JAX) share.

Both run a standard LSTM (gate order i, f, c, o; sigmoid gates, tanh activation) over a
time-major sequence with a hand-written backward pass: the backward loop computes only
the gradient that carries the recurrence and the gate gradients ``dz``; the gradients
of the kernel, recurrent kernel, bias and inputs are then one large matrix product
each, over all ``time * batch`` rows at once, instead of a small one per step. Each
backend module supplies the scan and the custom gradient; this module has the gate
equations (in `keras.ops`, so they run on either backend) and the `keras.src.backend.lstm`
contract around the time-major core.
"""

from keras import activations, ops


def gates(z):
    """Activated gates (i, f, g, o) from the pre-activations ``z`` (batch, 4*units)."""
    z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
    return ops.sigmoid(z_i), ops.sigmoid(z_f), ops.tanh(z_g), ops.sigmoid(z_o)


def cell_step(z, c):
    """One step from the pre-activations: returns (h, c, the concatenated activated gates)."""
    i, f, g, o = gates(z)
    c = f * c + i * g
    return o * ops.tanh(c), c, ops.concatenate([i, f, g, o], axis=-1)


def gate_gradients(dh, dc, activated, c, c_prev):
    """One backward step: the pre-activation gradients ``dz`` and the cell gradient for t-1.

    `dh` and `dc` are the gradients reaching h_t and c_t, `activated` the step's gates
    (i, f, g, o concatenated), `c` and `c_prev` the cell states c_t and c_{t-1}.
    """
    i, f, g, o = ops.split(activated, 4, axis=-1)
    tanh_c = ops.tanh(c)
    dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
    dz = ops.concatenate(
        [
            dc * g * i * (1.0 - i),
            dc * c_prev * f * (1.0 - f),
            dc * i * (1.0 - g * g),
            dh * tanh_c * o * (1.0 - o),
        ],
        axis=-1,
    )
    return dz, dc * f


def run_lstm(
    sequence_fn,
    inputs,
    initial_state_h,
    initial_state_c,
    mask,
    kernel,
    recurrent_kernel,
    bias,
    activation,
    recurrent_activation,
    return_sequences=False,
    go_backwards=False,
    unroll=False,
):
    """Standard LSTM over a batch-major sequence, with `keras.src.backend.lstm`'s contract.

    `sequence_fn(time_major_inputs, kernel, recurrent_kernel, bias, h0, c0)` returns
    (all h, last c). Returns ``(last_output, outputs, [h, c])``; `outputs` is (batch,
    time, units) with `return_sequences` (in processing order, reversed with
    `go_backwards`, as Keras does) and the last output with a time axis of 1 otherwise.
    Raises NotImplementedError for what it does not support: masks, `unroll`, no bias,
    activations other than tanh and sigmoid.
    """
    if (
        mask is not None
        or unroll
        or bias is None
        or activation is not activations.tanh
        or recurrent_activation is not activations.sigmoid
    ):
        raise NotImplementedError
    dtype = inputs.dtype
    sequence = ops.transpose(inputs, (1, 0, 2))
    if go_backwards:
        sequence = ops.flip(sequence, axis=0)
    hs, c_last = sequence_fn(
        sequence,
        *(ops.convert_to_tensor(w, dtype) for w in
          (kernel, recurrent_kernel, bias, initial_state_h, initial_state_c)),
    )
    last_output = hs[-1]
    outputs = ops.transpose(hs, (1, 0, 2)) if return_sequences else last_output[:, None]
    return last_output, outputs, [last_output, c_last]
