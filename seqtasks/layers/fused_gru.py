"""The standard GRU's equations for the fused recurrences (`seqtasks.layers.fused`), in both
reset conventions.

Gate order z, r, h as in Keras; sigmoid gates, tanh candidate; ``h' = z * h + (1 - z) * h~``::

    reset_after=True (Keras's default, cuDNN's):  h~ = tanh(x W_h + b_h + r * (h U_h + b'_h))
    reset_after=False:                            h~ = tanh(x W_h + b_h + (r * h) U_h)

With ``reset_after`` the bias is (2, 3*units): the input bias, then the recurrent bias.
A backward step outputs the gradient dh reaching h_t and, without ``reset_after``, the
gradient reaching ``r * h_{t-1}`` (from U_h); the pre-activation gradients, which are
these times the factors of `backward_sequences`, are formed after the loop for all steps
at once.
"""

import dataclasses

from keras import ops

from seqtasks.layers.fused import run_fused


def _sigmoid_derivative(s):
    return s * (1.0 - s)


@dataclasses.dataclass(frozen=True)
class GRU:
    """The standard GRU as a cell of `seqtasks.layers.fused` (see there for the methods).

    A step saves its gates z, r and candidate h~ and, with `reset_after`, the recurrent
    projection of its h~ part; the backward loop reads them with h_{t-1}. (Frozen:
    instances are equal and hashable, as JAX wants of a static argument.)
    """

    reset_after: bool
    keeping_gate = 0  # z = 1 keeps h (`fused.saturated_at_masked_steps`)

    @property
    def saved_blocks(self):
        return 4 if self.reset_after else 3

    def project(self, inputs, kernel, bias):
        return ops.matmul(inputs, kernel) + (bias[0] if self.reset_after else bias)

    def forward_weights(self, recurrent_kernel, bias):
        if self.reset_after:
            return recurrent_kernel, bias[1]
        return ops.split(recurrent_kernel, [2 * recurrent_kernel.shape[0]], axis=1)

    def step(self, projected, states, weights):
        (h,) = states
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        if self.reset_after:
            recurrent_kernel, recurrent_bias = weights
            r_z, r_r, r_h = ops.split(ops.matmul(h, recurrent_kernel) + recurrent_bias, 3,
                                      axis=-1)
            z, r = ops.sigmoid(x_z + r_z), ops.sigmoid(x_r + r_r)
            candidate = ops.tanh(x_h + r * r_h)
            saved = [z, r, candidate, r_h]
        else:
            gates_kernel, candidate_kernel = weights
            r_z, r_r = ops.split(ops.matmul(h, gates_kernel), 2, axis=-1)
            z, r = ops.sigmoid(x_z + r_z), ops.sigmoid(x_r + r_r)
            candidate = ops.tanh(x_h + ops.matmul(r * h, candidate_kernel))
            saved = [z, r, candidate]
        return (z * h + (1.0 - z) * candidate,), ops.concatenate(saved, axis=-1)

    def backward_weights(self, recurrent_kernel):
        if self.reset_after:
            return (ops.transpose(recurrent_kernel),)
        return tuple(ops.transpose(w) for w in self.forward_weights(recurrent_kernel, None))

    def backward_sequences(self, states, previous_states, saved):
        # Per unit of the gradient dh reaching h_t: d_z = dh * z_factor, d_h~ (the
        # candidate's pre-activation) = dh * candidate_factor.
        h_prev = previous_states[0]
        z, r, candidate, *recurrent_h = ops.split(saved, self.saved_blocks, axis=-1)
        z_factor = (h_prev - candidate) * _sigmoid_derivative(z)
        candidate_factor = (1.0 - z) * (1.0 - candidate * candidate)
        if self.reset_after:
            # d_r = d_h~ * (h U_h + b'_h) * r', and the recurrent projection's h~ part
            # gets d_h~ * r: the recurrent gradients are dh * recurrent_factor.
            recurrent_factor = ops.concatenate(
                [z_factor, candidate_factor * recurrent_h[0] * _sigmoid_derivative(r),
                 candidate_factor * r], axis=-1)
            return {"recurrent": recurrent_factor, "candidate": candidate_factor, "z": z}
        # d_r = (d_h~ U_h^T) * h_{t-1} * r': the factor of [dh, d_h~ U_h^T] giving d_z, d_r.
        gates_factor = ops.concatenate([z_factor, h_prev * _sigmoid_derivative(r)], axis=-1)
        return {"gates": gates_factor, "candidate": candidate_factor, "z": z, "r": r}

    @property
    def gradient_blocks(self):
        return 1 if self.reset_after else 2

    def step_gradients(self, d_states, slices, weights_t):
        (dh,) = d_states
        if self.reset_after:
            (recurrent_kernel_t,) = weights_t
            d_recurrent = ops.concatenate([dh, dh, dh], axis=-1) * slices["recurrent"]
            dh_prev = ops.matmul(d_recurrent, recurrent_kernel_t) + dh * slices["z"]
            return (dh_prev,), dh
        gates_kernel_t, candidate_kernel_t = weights_t
        d_reset_h = ops.matmul(dh * slices["candidate"], candidate_kernel_t)
        d_step = ops.concatenate([dh, d_reset_h], axis=-1)
        dh_prev = (ops.matmul(d_step * slices["gates"], gates_kernel_t)
                   + d_reset_h * slices["r"] + dh * slices["z"])
        return (dh_prev,), d_step

    def weight_gradients(self, input_rows, d_rows, sequence_rows, previous_h_rows, kernel):
        units = previous_h_rows.shape[-1]
        dh = d_rows[:, :units]
        d_candidate = dh * sequence_rows["candidate"]
        if self.reset_after:
            d_recurrent = ops.concatenate([dh, dh, dh], axis=-1) * sequence_rows["recurrent"]
            d_projected = ops.concatenate([d_recurrent[:, :2 * units], d_candidate], axis=-1)
        else:
            d_gates = d_rows * sequence_rows["gates"]
            d_projected = ops.concatenate([d_gates, d_candidate], axis=-1)
        d_inputs = ops.matmul(d_projected, ops.transpose(kernel))
        d_kernel = ops.matmul(ops.transpose(input_rows), d_projected)
        d_input_bias = ops.sum(d_projected, axis=0)
        if self.reset_after:
            d_recurrent_kernel = ops.matmul(ops.transpose(previous_h_rows), d_recurrent)
            d_bias = ops.stack([d_input_bias, ops.sum(d_recurrent, axis=0)])
            return d_inputs, d_kernel, d_recurrent_kernel, d_bias
        reset_h_rows = sequence_rows["r"] * previous_h_rows
        d_recurrent_kernel = ops.concatenate(
            [ops.matmul(ops.transpose(previous_h_rows), d_gates),
             ops.matmul(ops.transpose(reset_h_rows), d_candidate)], axis=1)
        return d_inputs, d_kernel, d_recurrent_kernel, d_input_bias


def run_gru(sequence_fn, inputs, initial_state, mask, kernel, recurrent_kernel, bias,
            activation, recurrent_activation, reset_after=True, **options):
    """The standard GRU with `keras.src.backend.gru`'s contract (`fused.run_fused`, whose
    `sequence_fn` and options it takes)."""
    return run_fused(sequence_fn, GRU(bool(reset_after)), inputs, (initial_state,), mask,
                     kernel, recurrent_kernel, bias, activation, recurrent_activation,
                     **options)
