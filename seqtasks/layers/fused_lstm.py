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


@dataclasses.dataclass(frozen=True)
class LSTM:
    """The standard LSTM as a cell of `seqtasks.layers.fused` (see there for the methods).

    A step saves its activated gates; with c_t and c_{t-1} they give the derivative factors.
    (Frozen: instances are equal and hashable, as JAX wants of a static argument.)
    """

    saved_blocks = 4
    gradient_blocks = 4
    keeping_gate = None  # no gate keeps h: masked steps select the old states

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
        # With dc the gradient reaching c_t (from c_{t+1} and through h_t):
        # dz = [dc, dc, dc, dh] * gates_factor, and dc = dc_next + dh * cell_factor.
        i, f, g, o = ops.split(saved, 4, axis=-1)
        tanh_c = ops.tanh(states[1])
        gates_factor = ops.concatenate(
            [g * i * (1.0 - i), previous_states[1] * f * (1.0 - f), i * (1.0 - g * g),
             tanh_c * o * (1.0 - o)], axis=-1)
        return {"gates": gates_factor, "cell": o * (1.0 - tanh_c * tanh_c), "f": f}

    def step_gradients(self, d_states, slices, recurrent_kernel_t):
        dh, dc = d_states
        dc = dc + dh * slices["cell"]
        dz = ops.concatenate([dc, dc, dc, dh], axis=-1) * slices["gates"]
        return (ops.matmul(dz, recurrent_kernel_t), dc * slices["f"]), dz

    def weight_gradients(self, input_rows, dz_rows, sequence_rows, previous_h_rows, kernel):
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
