"""The equations of `TreeLSTM`'s two kinds for a group of nodes, forward and backward.

`TreeLSTM` computes the nodes of a height (or a chunk of them) at once: from their
projected inputs x (K, 4 units) and their children's states (each (K, C, units), zero
for a missing child), `forward` gives their new states. The backward equations serve
the JAX height loop's hand-written gradient (`seqtasks.layers.jax_tree_levels`).

A cell has:

- ``states``: how many (rows, units) state arrays the height loop carries (h and c
  first);
- ``forward(x, kid_states, recurrent_kernel)``: (the new states, what the backward
  pass reads: a dict of (K, ...) arrays);
- ``backward(d_states, saved, recurrent_kernel)``: from the gradients reaching the new
  states, (those of x (K, 4 units), those of the children's states (each (K, C,
  units)), the rows the recurrent kernel's gradient is made of);
- ``recurrent_gradient(rows)``: the recurrent kernel's gradient from the rows of all
  groups.

Example:

>>> x, kids = ops.zeros((3, 8)), (ops.zeros((3, 2, 2)),) * 2
>>> (h, c), saved = Binary().forward(x, kids, ops.zeros((4, 10)))
>>> tuple(h.shape)
(3, 2)
"""

import dataclasses

from keras import ops


def _sigmoid_derivative(s):
    return s * (1.0 - s)


@dataclasses.dataclass(frozen=True)
class ChildSum:
    """The Child-Sum Tree-LSTM: states h, c and h U_f (the term a node's parent adds to its
    forget gate for it, so that the parent needs no product per child). (Frozen:
    instances are equal and hashable, as JAX wants of a static argument.)"""

    states = 3

    def forward(self, x, kid_states, recurrent_kernel):
        h_kids, c_kids, forget_terms = kid_states
        units = h_kids.shape[-1]
        u_i, u_f, u_c, u_o = ops.split(recurrent_kernel, 4, axis=-1)
        h_sum = ops.sum(h_kids, axis=1)  # h~ = sum_k h_k
        z_i, z_c, z_o = ops.split(
            ops.matmul(h_sum, ops.concatenate([u_i, u_c, u_o], axis=-1))
            + ops.concatenate([x[:, :units], x[:, 2 * units:]], axis=-1), 3, axis=-1)
        i, g, o = ops.sigmoid(z_i), ops.tanh(z_c), ops.sigmoid(z_o)
        forget = ops.sigmoid(ops.expand_dims(x[:, units:2 * units], 1) + forget_terms)
        c = i * g + ops.sum(forget * c_kids, axis=1)
        tanh_c = ops.tanh(c)
        h = o * tanh_c
        saved = {"i": i, "g": g, "o": o, "tanh_c": tanh_c, "forget": forget,
                 "c_kids": c_kids, "h_sum": h_sum, "h": h}
        return (h, c, ops.matmul(h, u_f)), saved

    def backward(self, d_states, saved, recurrent_kernel):
        dh, dc, d_forget_term = d_states
        u_i, u_f, u_c, u_o = ops.split(recurrent_kernel, 4, axis=-1)
        i, g, o, tanh_c, forget = (saved[k] for k in ("i", "g", "o", "tanh_c", "forget"))
        dh = dh + ops.matmul(d_forget_term, ops.transpose(u_f))
        dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
        dz_i = dc * g * _sigmoid_derivative(i)
        dz_c = dc * i * (1.0 - g * g)
        dz_o = dh * tanh_c * _sigmoid_derivative(o)
        dc = ops.expand_dims(dc, 1)
        dz_forget = dc * saved["c_kids"] * _sigmoid_derivative(forget)  # (K, C, units)
        dz_ico = ops.concatenate([dz_i, dz_c, dz_o], axis=-1)
        dh_sum = ops.matmul(dz_ico, ops.transpose(ops.concatenate([u_i, u_c, u_o], axis=-1)))
        d_kids = (ops.broadcast_to(ops.expand_dims(dh_sum, 1), ops.shape(dz_forget)),
                  dc * forget, dz_forget)
        dx = ops.concatenate([dz_i, ops.sum(dz_forget, axis=1), dz_c, dz_o], axis=-1)
        return dx, d_kids, {"h_sum": saved["h_sum"], "dz_ico": dz_ico, "h": saved["h"],
                            "d_forget_term": d_forget_term}

    def recurrent_gradient(self, rows):
        d_i, d_c, d_o = ops.split(
            ops.matmul(ops.transpose(rows["h_sum"]), rows["dz_ico"]), 3, axis=-1)
        d_f = ops.matmul(ops.transpose(rows["h"]), rows["d_forget_term"])
        return ops.concatenate([d_i, d_f, d_c, d_o], axis=-1)


@dataclasses.dataclass(frozen=True)
class Binary:
    """The binary (N-ary, N=2) Tree-LSTM: states h and c, two children a node (child 0
    the left one). (Frozen, as `ChildSum`.)"""

    states = 2

    def forward(self, x, kid_states, recurrent_kernel):
        h_kids, c_kids = kid_states
        h_pair = ops.reshape(h_kids, (-1, 2 * h_kids.shape[-1]))
        r_i, r_f0, r_f1, r_c, r_o = ops.split(ops.matmul(h_pair, recurrent_kernel), 5, axis=-1)
        x_i, x_f, x_c, x_o = ops.split(x, 4, axis=-1)
        i, g, o = ops.sigmoid(x_i + r_i), ops.tanh(x_c + r_c), ops.sigmoid(x_o + r_o)
        f0, f1 = ops.sigmoid(x_f + r_f0), ops.sigmoid(x_f + r_f1)
        c = i * g + f0 * c_kids[:, 0] + f1 * c_kids[:, 1]
        tanh_c = ops.tanh(c)
        saved = {"i": i, "g": g, "o": o, "tanh_c": tanh_c, "f0": f0, "f1": f1,
                 "c_kids": c_kids, "h_pair": h_pair}
        return (o * tanh_c, c), saved

    def backward(self, d_states, saved, recurrent_kernel):
        dh, dc = d_states
        i, g, o, tanh_c, f0, f1 = (saved[k] for k in ("i", "g", "o", "tanh_c", "f0", "f1"))
        c_kids = saved["c_kids"]
        dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
        dz_i = dc * g * _sigmoid_derivative(i)
        dz_c = dc * i * (1.0 - g * g)
        dz_o = dh * tanh_c * _sigmoid_derivative(o)
        dz_f0 = dc * c_kids[:, 0] * _sigmoid_derivative(f0)
        dz_f1 = dc * c_kids[:, 1] * _sigmoid_derivative(f1)
        dz_recurrent = ops.concatenate([dz_i, dz_f0, dz_f1, dz_c, dz_o], axis=-1)
        dh_kids = ops.reshape(ops.matmul(dz_recurrent, ops.transpose(recurrent_kernel)),
                              ops.shape(c_kids))
        dc_kids = ops.stack([dc * f0, dc * f1], axis=1)
        dx = ops.concatenate([dz_i, dz_f0 + dz_f1, dz_c, dz_o], axis=-1)
        return dx, (dh_kids, dc_kids), {"h_pair": saved["h_pair"],
                                        "dz_recurrent": dz_recurrent}

    def recurrent_gradient(self, rows):
        return ops.matmul(ops.transpose(rows["h_pair"]), rows["dz_recurrent"])


CELLS = {"childsum": ChildSum(), "binary": Binary()}
