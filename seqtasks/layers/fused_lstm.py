"""The standard LSTM's equations for the fused recurrences (`seqtasks.layers.fused`).

Gate order i, f, c, o as in Keras; sigmoid gates, tanh activation; the states are (h, c).
The backward step computes the pre-activation gradients ``dz`` (batch, 4*units), which
are also the rows of the kernel's and the recurrent kernel's gradients.
"""

import dataclasses

from keras import ops

from seqtasks.layers.fused import run_fused


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


@dataclasses.dataclass(frozen=True)
class LSTM:
    """The standard LSTM as a cell of `seqtasks.layers.fused` (see there for the methods).

    A step saves its activated gates; the backward loop reads them with c_t and c_{t-1}.
    (Frozen: instances are equal and hashable, as JAX wants of a static argument.)
    """

    saved_blocks = 4

    def project(self, inputs, kernel, bias):
        return ops.matmul(inputs, kernel) + bias

    def forward_weights(self, recurrent_kernel, bias):
        return recurrent_kernel

    def step(self, projected, states, recurrent_kernel):
        h, c = states
        h, c, activated = cell_step(projected + ops.matmul(h, recurrent_kernel), c)
        return (h, c), activated

    def backward_weights(self, recurrent_kernel):
        return ops.transpose(recurrent_kernel)

    def backward_sequences(self, states, previous_states, saved):
        return {"gates": saved, "c": states[1], "c_prev": previous_states[1]}

    def step_gradients(self, d_states, slices, recurrent_kernel_t):
        dh, dc = d_states
        dz, dc_prev = gate_gradients(dh, dc, slices["gates"], slices["c"], slices["c_prev"])
        return (ops.matmul(dz, recurrent_kernel_t), dc_prev), dz

    def weight_gradients(self, input_rows, dz_rows, saved_rows, previous_h_rows, kernel):
        return (
            ops.matmul(dz_rows, ops.transpose(kernel)),
            ops.matmul(ops.transpose(input_rows), dz_rows),
            ops.matmul(ops.transpose(previous_h_rows), dz_rows),
            ops.sum(dz_rows, axis=0),
        )


def run_lstm(sequence_fn, inputs, initial_state_h, initial_state_c, mask, kernel,
             recurrent_kernel, bias, activation, recurrent_activation, **options):
    """The standard LSTM with `keras.src.backend.lstm`'s contract (`fused.run_fused`, whose
    `sequence_fn` and options it takes)."""
    return run_fused(sequence_fn, LSTM(), inputs, (initial_state_h, initial_state_c), mask,
                     kernel, recurrent_kernel, bias, activation, recurrent_activation,
                     **options)
