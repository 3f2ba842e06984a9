"""What the fused LSTMs of `tf_lstm` (TensorFlow) and `jax_lstm` (JAX) share.

Both run a standard LSTM (gate order i, f, c, o; sigmoid gates, tanh activation) over a
time-major sequence with a hand-written backward pass: the backward loop computes only
the gradient that carries the recurrence and the gate gradients ``dz``; the gradients
of the kernel, recurrent kernel, bias and inputs are then one large matrix product
each, over all ``time * batch`` rows at once, instead of a small one per step. Each
backend module supplies the scan and the custom gradient; this module has the gate
equations (in `keras.ops`, so they run on either backend) and the `keras.src.backend.lstm`
contract around the time-major core.

Masks: the core takes the mask of every step (``valid``, time-major, True where the step
counts) and, like Keras's loop, keeps h and c through a masked step; the backward step
then passes the gradients of h and c through unchanged and its gate gradients ``dz``
are zero, so the weight gradients keep their one-product form. This is exact for any
mask (right- or left-padded, with holes, rows with no valid step) in both directions,
because Keras's loop, too, only keeps the state at each masked step of the sequence in
processing order. The outputs at masked steps then follow Keras's rules
(`seqtasks.layers.masking.shown_outputs`).
"""

from keras import activations, ops

from seqtasks.layers.masking import shown_outputs


def gates(z):
    """Activated gates (i, f, g, o) from the pre-activations ``z`` (batch, 4*units)."""
    z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
    return ops.sigmoid(z_i), ops.sigmoid(z_f), ops.tanh(z_g), ops.sigmoid(z_o)


def cell_step(z, c):
    """One step from the pre-activations: returns (h, c, the concatenated activated gates)."""
    i, f, g, o = gates(z)
    c = f * c + i * g
    return o * ops.tanh(c), c, ops.concatenate([i, f, g, o], axis=-1)


def _where_valid(valid, new, old):
    """`new` at the rows where `valid` (batch, 1) is True, `old` elsewhere; `new` if None."""
    return new if valid is None else ops.where(valid, new, old)


def masked_cell_step(z, h, c, valid):
    """`cell_step` that keeps h and c at the rows `valid` marks False (None: no mask).

    Returns (h, c, the activated gates); a masked row's gates are never used.
    """
    h_new, c_new, activated = cell_step(z, c)
    return _where_valid(valid, h_new, h), _where_valid(valid, c_new, c), activated


def steps(valid, **sequences):
    """The per-step inputs of a scan: the time-major `sequences`, and ``valid`` if any."""
    return sequences if valid is None else {**sequences, "valid": valid}


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


def backward_step(dh, dc, step, recurrent_kernel_t):
    """One step of the backward loop, from the gradients reaching h_t and c_t from t+1.

    `step` holds the step's slices (`steps`): ``d_h`` (the gradient of the output h_t),
    ``gates`` (the activated gates), ``c`` and ``c_prev`` (c_t, c_{t-1}) and, with a
    mask, ``valid``. Returns the gradients reaching h_{t-1} and c_{t-1} and the gate
    gradients ``dz`` (zero at a masked row, whose h and c pass their gradients through).
    """
    dh = dh + step["d_h"]
    dz, dc_prev = gate_gradients(dh, dc, step["gates"], step["c"], step["c_prev"])
    valid = step.get("valid")
    if valid is not None:
        dz = ops.where(valid, dz, ops.zeros_like(dz))
    dh_prev = ops.matmul(dz, recurrent_kernel_t)
    return _where_valid(valid, dh_prev, dh), _where_valid(valid, dc_prev, dc), dz


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
    zero_output_for_mask=False,
):
    """Standard LSTM over a batch-major sequence, with `keras.src.backend.lstm`'s contract.

    `sequence_fn(time_major_inputs, kernel, recurrent_kernel, bias, h0, c0, valid)`
    returns (the h carried through every step, last c); `valid` is None or a boolean
    (time, batch, 1) tensor, True at the steps `mask` keeps. Returns ``(last_output,
    outputs, [h, c])`` as Keras's loop does (`zero_output_for_mask` as in
    `keras.layers.RNN`, which the backends' fused functions do not take): `outputs` is
    (batch, time, units) with `return_sequences` (in processing order, reversed with
    `go_backwards`) and the last output with a time axis of 1 otherwise. Raises
    NotImplementedError for what it does not support: `unroll`, no bias, activations
    other than tanh and sigmoid.
    """
    if (
        unroll
        or bias is None
        or activation is not activations.tanh
        or recurrent_activation is not activations.sigmoid
    ):
        raise NotImplementedError
    dtype = inputs.dtype
    sequence = ops.transpose(inputs, (1, 0, 2))
    valid = None if mask is None else ops.expand_dims(ops.transpose(ops.cast(mask, "bool")), -1)
    if go_backwards:
        sequence = ops.flip(sequence, axis=0)
        valid = None if valid is None else ops.flip(valid, axis=0)
    hs, c_last = sequence_fn(
        sequence,
        *(ops.convert_to_tensor(w, dtype) for w in
          (kernel, recurrent_kernel, bias, initial_state_h, initial_state_c)),
        valid,
    )
    shown = shown_outputs(hs, valid, zero_output_for_mask, time_axis=0)
    last_output = shown[-1]
    outputs = ops.transpose(shown, (1, 0, 2)) if return_sequences else last_output[:, None]
    return last_output, outputs, [hs[-1], c_last]
