"""`TreeLSTM`: the Child-Sum and binary (N-ary, N=2) Tree-LSTMs of Tai, Socher and
Manning (2015), computed one tree height at a time over a whole batch.

The layer takes the arrays of `seqtasks.data.trees.encode_trees`: node input features
``inputs`` (batch, nodes, features), each node's children (batch, nodes, C) and the
nodes of each height (batch, H, W), indices local to their tree and -1 padded; it
returns every node's hidden state (batch, nodes, units).

Level batching. All nodes of one height depend only on lower nodes, so the layer loops
over the H heights (`keras.ops.fori_loop`), not over the nodes. The states live in
(batch * nodes + 1, units) arrays (h, c and, for Child-Sum, ``h U_f``: the term a
node's parent adds to its forget gate for it, so the parent needs no product per child),
row ``b * nodes + i`` for node i of tree b; the last row stays zero and stands for
missing children and padding. At height h one gather takes the rows of that height's
real nodes across the whole batch, one gather their children's states, one matrix
product the input terms and one the recurrent terms of them all, and one scatter adds
the new states to their rows: a batch costs O(height) steps, each as wide as its
height's real nodes (TensorFlow, torch). Under JAX, whose traced shapes are fixed, each
height's real nodes are cut into chunks of a few rows, one step each, and the loop has a
hand-written gradient (`seqtasks.layers.jax_tree_levels`). The equations of both kinds
are `seqtasks.layers.tree_cells`'.
The input projection is made inside the step, on that height's nodes only: gradients
of tensors read inside the loop are summed over its steps at their full size, and the
inputs are narrower than their projection. Nodes never named in `levels` (padding) and
masked nodes keep zero states and outputs; a parent sees a masked child as a missing
one.

The node mask. Pass ``mask=node_mask`` explicitly. Internal nodes have no word (token
0), so an ``Embedding(mask_zero=True)`` before this layer would attach a mask that drops
every internal node, root included: use an Embedding without `mask_zero` (padding
nodes are zero anyway). An explicit `mask` replaces an attached one.

Runs on TensorFlow (eagerly and in a `tf.function` with unknown batch, node, height and
width sizes) and JAX; it uses `keras.ops` only but is not tested on PyTorch.

Example:

>>> import numpy as np
>>> from seqtasks.data.trees import encode_trees, parse_tree
>>> batch = encode_trees([parse_tree("(1 (0 a) (1 b))")], {"a": 1, "b": 2}.get)
>>> x = keras.ops.one_hot(batch.tokens, 3)
>>> h = TreeLSTM(4)(x, batch.children, batch.levels, mask=batch.node_mask)
>>> tuple(h.shape)
(1, 3, 4)
"""

import keras
from keras import ops

from seqtasks.errors import ConfigError
from seqtasks.layers.tree_cells import CELLS
from seqtasks.validation import one_of, positive_int

KINDS = tuple(CELLS)  # ("childsum", "binary")


@keras.saving.register_keras_serializable(package="seqtasks")
class TreeLSTM(keras.layers.Layer):
    """A Tree-LSTM layer (see the module docstring for the inputs and level batching).

    ``kind="childsum"`` (Child-Sum Tree-LSTM, any number of children k)::

        h~ = sum_k h_k
        i = σ(x W_i + h~ U_i + b_i)        f_k = σ(x W_f + h_k U_f + b_f)
        u = tanh(x W_c + h~ U_c + b_c)     o = σ(x W_o + h~ U_o + b_o)
        c = i * u + sum_k f_k * c_k        h = o * tanh(c)

    Weights in the LSTM layout, gate order i, f, c, o: `kernel` (features, 4 units),
    `recurrent_kernel` (units, 4 units), `bias` (4 units).

    ``kind="binary"`` (the N-ary Tree-LSTM with N = 2, for binarised constituency trees;
    child 0 is the left one, a missing child has zero h and c)::

        i   = σ(x W_i + h_0 U_i^0   + h_1 U_i^1   + b_i)
        f_k = σ(x W_f + h_0 U_fk^0  + h_1 U_fk^1  + b_f)    for k = 0, 1
        u   = tanh(x W_c + h_0 U_c^0 + h_1 U_c^1  + b_c)
        o   = σ(x W_o + h_0 U_o^0   + h_1 U_o^1   + b_o)
        c   = i * u + f_0 * c_0 + f_1 * c_1        h = o * tanh(c)

    As in the paper, the two forget gates share W_f and b_f: `kernel` (features, 4 units)
    and `bias` (4 units) keep the LSTM layout i, f, c, o, and `recurrent_kernel` is
    (2 units, 5 units), applied to ``[h_0, h_1]``: rows ``[:units]`` are the U^0 (left
    child), rows ``[units:]`` the U^1 (right child), and its column blocks are i, f_0,
    f_1, c, o. The children array may have 1 or 2 columns (1: every right child is
    missing); more raise `ConfigError`.

    Args:
        units: size of h and c.
        kind: "childsum" or "binary".
        return_cells: also return the cell states: ``(h, c)``, both (batch, nodes, units).
        unit_forget_bias: initialise the forget-gate bias to 1, as the LSTM cell does.
        kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer: as for
            `keras.layers.LSTM`.

    Call arguments:
        inputs: (batch, nodes, features) float, zeros for nodes without input.
        children: (batch, nodes, C) int, each node's children, -1 for none.
        levels: (batch, H, W) int, ``levels[b, h]`` the nodes of height h of tree b,
            -1 padded; every node of a tree must be in exactly one level, below its parent.
        mask: optional (batch, nodes) bool; masked nodes are treated as absent.
    """

    def __init__(
        self,
        units,
        kind="childsum",
        return_cells=False,
        unit_forget_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.kind = one_of("kind", kind, KINDS)
        self.return_cells = bool(return_cells)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def build(self, inputs_shape, children_shape, levels_shape):
        if inputs_shape[-1] is None:
            raise ValueError(f"inputs must have a known last dimension, got {inputs_shape}")
        self._check_children(children_shape)
        units = self.units
        if self.kind == "binary":
            recurrent_shape = (2 * units, 5 * units)
        else:
            recurrent_shape = (units, 4 * units)
        self.kernel = self.add_weight(
            name="kernel", shape=(inputs_shape[-1], 4 * units),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=recurrent_shape,
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer)
        self.bias = self.add_weight(
            name="bias", shape=(4 * units,), initializer=self._bias_initializer(),
            regularizer=self.bias_regularizer)
        self.built = True

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer

        def initializer(shape, dtype=None):
            return ops.concatenate([base((units,), dtype=dtype), ops.ones((units,), dtype=dtype),
                                    base((2 * units,), dtype=dtype)])

        return initializer

    def _check_children(self, shape):
        if self.kind == "binary" and (len(shape) != 3 or shape[-1] not in (1, 2, None)):
            raise ConfigError(f"kind='binary' takes children of shape (batch, nodes, 2) "
                              f"(at most 2 children a node), got children of shape "
                              f"{tuple(shape)}")

    def call(self, inputs, children, levels, mask=None):
        self._check_children(children.shape)
        children = ops.cast(children, "int32")
        levels = ops.cast(levels, "int32")
        if self.kind == "binary" and children.shape[-1] == 1:
            children = ops.pad(children, ((0, 0), (0, 0), (0, 1)), constant_values=-1)
        batch, size = ops.shape(inputs)[0], ops.shape(inputs)[1]
        rows = batch * size
        units, dtype = self.units, self.compute_dtype
        flat_inputs = ops.reshape(ops.cast(inputs, dtype), (rows, -1))
        flat_inputs = ops.pad(flat_inputs, ((0, 1), (0, 0)))  # row `rows`: see below
        first_row = (ops.arange(batch, dtype="int32") * size)[:, None, None]
        # Row b * nodes + i of the state arrays is node i of tree b; their last row,
        # `rows`, stays zero and stands for every missing child and padding entry.
        child_rows = ops.reshape(ops.where(children >= 0, children + first_row, rows),
                                 (rows, -1))
        child_rows = ops.pad(child_rows, ((0, 1), (0, 0)), constant_values=rows)
        level_rows = ops.where(levels >= 0, levels + first_row, rows)
        real = levels >= 0
        if mask is not None:
            present = ops.concatenate([ops.reshape(ops.cast(mask, "bool"), (rows,)),
                                       ops.zeros((1,), dtype="bool")])
            real = ops.logical_and(real, ops.take(present, level_rows, axis=0))
        # (H, batch * W): the rows of each height across the batch, real nodes first, and
        # how many are real.
        heights = ops.shape(levels)[1]
        level_rows = ops.reshape(ops.transpose(level_rows, (1, 0, 2)), (heights, -1))
        real = ops.reshape(ops.transpose(real, (1, 0, 2)), (heights, -1))
        real_first = ops.argsort(ops.cast(ops.logical_not(real), "int32"), axis=-1)
        level_rows = ops.take_along_axis(level_rows, real_first, axis=-1)
        counts = ops.sum(ops.cast(real, "int32"), axis=-1)

        if keras.backend.backend() == "jax":  # fixed widths, a hand-written gradient
            from seqtasks.layers.jax_tree_levels import tree_levels

            states = tree_levels(CELLS[self.kind], flat_inputs, child_rows, level_rows, counts,
                                 *(ops.convert_to_tensor(w, dtype) for w in
                                   (self.kernel, self.recurrent_kernel, self.bias)))
        else:
            states = self._height_loop(flat_inputs, child_rows, level_rows, counts)
        h, c = (ops.reshape(state[:rows], (batch, size, units)) for state in states[:2])
        return (h, c) if self.return_cells else h

    def _height_loop(self, flat_inputs, child_rows, level_rows, counts):
        """The states of every row: one step per height over that height's real nodes (the
        first `counts[h]` of ``level_rows[h]``)."""
        units, dtype, cell = self.units, self.compute_dtype, CELLS[self.kind]
        size = ops.shape(flat_inputs)[0]

        def height_step(height, states):
            count = ops.take(counts, height)
            nodes = ops.slice(ops.take(level_rows, height, axis=0), (0,),
                              ops.expand_dims(count, 0))
            kids = ops.take(child_rows, nodes, axis=0)
            x = ops.matmul(ops.take(flat_inputs, nodes, axis=0), self.kernel) + self.bias
            new, _ = cell.forward(x, tuple(ops.take(s, kids, axis=0) for s in states),
                                  self.recurrent_kernel)
            at = ops.expand_dims(nodes, -1)
            return tuple(all_ + ops.scatter(at, value, (size, units))
                         for all_, value in zip(states, new))

        zeros = ops.zeros((size, units), dtype=dtype)
        return ops.fori_loop(0, ops.shape(level_rows)[0], height_step, (zeros,) * cell.states)

    def compute_output_shape(self, inputs_shape, children_shape, levels_shape):
        shape = (*inputs_shape[:2], self.units)
        return (shape, shape) if self.return_cells else shape

    def compute_mask(self, inputs, previous_mask):
        return (previous_mask, previous_mask) if self.return_cells else previous_mask

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "units": self.units,
            "kind": self.kind,
            "return_cells": self.return_cells,
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_initializer": ser(self.kernel_initializer),
            "recurrent_initializer": ser(self.recurrent_initializer),
            "bias_initializer": ser(self.bias_initializer),
            "kernel_regularizer": ser(self.kernel_regularizer),
            "recurrent_regularizer": ser(self.recurrent_regularizer),
            "bias_regularizer": ser(self.bias_regularizer),
        }
