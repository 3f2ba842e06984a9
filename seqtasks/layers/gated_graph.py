"""`GatedGraph`: the gated graph neural network layer of Li, Tarlow, Brockschmidt and
Zemel (2016), "Gated Graph Sequence Neural Networks".

Each graph's nodes start from their features, zero-padded to `units` (as in the paper:
no projection weights; more features than `units` is an error), and take `steps`
synchronous propagation steps. In a step every edge ``(source, target, type)`` sends the
message ``h_source @ A_type + b_type``; each node sums the messages it receives
(``m_v``) and all nodes update at once with one GRU, ``h_v <- GRU(m_v, h_v)`` (the
seqtasks `GRUCell`, input ``m_v``, state ``h_v``). Every step shares the same weights.

Graphs come batched: nodes (batch, nodes, features) and edges (batch, edges, 3) of int
rows ``(source, target, type)``, node indices local to their graph. Rows with a -1 (any
index out of range, in fact) are padding and send nothing. The sums are one segment sum
over the flattened batch (segment ``b * nodes + target``; padding edges go to a dummy
segment that is dropped), so no dense nodes x nodes adjacency is built; a step costs
``batch * nodes * types * units**2`` multiply-adds for the per-type maps plus
``edges * units`` for the gather and the sum.

``direction="both"`` (the default) also sends every edge's message backwards, from its
target to its source, with weights of its own: type ``t`` against the edge is type
``edge_types + t``. This is what a dependency tree needs (a head hears its dependents
and a dependent its head); ``direction="forward"`` sends messages along the edges only.

Padded nodes (``mask`` False) keep a zero state, and edges that touch one are ignored.

Example:

>>> import numpy as np
>>> layer = GatedGraph(units=4, edge_types=2, steps=3)
>>> nodes = np.ones((1, 3, 2), "float32")        # one graph of 3 nodes, 2 features each
>>> edges = np.array([[[0, 1, 0], [1, 2, 1], [-1, -1, -1]]], "int32")  # 2 edges, 1 padding
>>> tuple(layer(nodes, edges).shape), tuple(layer.edge_kernel.shape)
((1, 3, 4), (4, 4, 4))
"""

import keras
from keras import ops

from seqtasks.cells.gru import GRUCell
from seqtasks.validation import one_of, positive_int

DIRECTIONS = ("both", "forward")


@keras.saving.register_keras_serializable(package="seqtasks")
class GatedGraph(keras.layers.Layer):
    """Gated graph neural network propagation; see the module docstring.

    Called as ``layer(nodes, edges, mask=None)``: `nodes` (batch, nodes, features) with
    ``features <= units``, `edges` (batch, edges, 3) integer rows ``(source, target,
    type)`` with -1 rows as padding, `mask` an optional boolean (batch, nodes) marking
    the real nodes (pass it explicitly: with two tensor inputs Keras does not take it
    from the mask that `nodes` may carry). Returns the node states (batch, nodes, units) after `steps` steps
    (zero at padded nodes); the output carries `mask` on.

    Weights: `edge_kernel` (T, units, units) and `edge_bias` (T, units), T = `edge_types`
    with ``direction="forward"`` and ``2 * edge_types`` with ``"both"`` (reverse types
    after the forward ones), then the GRU cell's `kernel`, `recurrent_kernel` and `bias`
    (the layout of `seqtasks.cells.gru.GRUCell`, ``reset_after=True``).

    Args:
        units: the size of a node's state.
        edge_types: how many edge types (the third column of `edges` is in
            ``[0, edge_types)``).
        steps: how many propagation steps (K in the paper).
        direction: ``"both"`` (default: messages along and against the edges, each way
            with its own weights) or ``"forward"`` (along the edges only).
        kernel_initializer, bias_initializer: initializers of `edge_kernel` and
            `edge_bias` (the GRU keeps `GRUCell`'s defaults).
    """

    def __init__(self, units, edge_types, steps, direction="both",
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.edge_types = positive_int("edge_types", edge_types)
        self.steps = positive_int("steps", steps)
        self.direction = one_of("direction", direction, DIRECTIONS)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.message_types = self.edge_types * (2 if direction == "both" else 1)
        self.cell = GRUCell(self.units, dtype=self.dtype_policy, name="gru")
        self.supports_masking = True

    def _check_shapes(self, nodes_shape, edges_shape):
        nodes_shape, edges_shape = tuple(nodes_shape), tuple(edges_shape)
        if len(nodes_shape) != 3 or nodes_shape[-1] is None or nodes_shape[-1] > self.units:
            raise ValueError(
                "nodes must have shape (batch, nodes, features) with a known "
                f"features <= units={self.units} (features are zero-padded to units), "
                f"got {nodes_shape}")
        if len(edges_shape) != 3 or edges_shape[-1] not in (None, 3):
            raise ValueError(
                "edges must have shape (batch, edges, 3) of (source, target, type) rows, "
                f"got {edges_shape}")

    def build(self, nodes_shape, edges_shape):
        self._check_shapes(nodes_shape, edges_shape)
        self.edge_kernel = self.add_weight(
            name="edge_kernel", shape=(self.message_types, self.units, self.units),
            initializer=self.kernel_initializer)
        self.edge_bias = self.add_weight(
            name="edge_bias", shape=(self.message_types, self.units),
            initializer=self.bias_initializer)
        self.cell.build((None, self.units))
        self.built = True

    def compute_output_shape(self, nodes_shape, edges_shape):
        return (*tuple(nodes_shape)[:2], self.units)

    def _messages(self, edges, mask, batch, count):
        """Per message: the gather index of its source's transformed state (flat
        ``(batch * nodes * T, units)``), its segment (``b * nodes + target``, padding in
        the dummy segment ``batch * nodes``) and its type, all (messages,) int32."""
        edges = ops.cast(edges, "int32")
        source, target, kind = edges[..., 0], edges[..., 1], edges[..., 2]
        valid = ((source >= 0) & (source < count) & (target >= 0) & (target < count)
                 & (kind >= 0) & (kind < self.edge_types))
        offset = ops.arange(batch, dtype="int32")[:, None] * count
        if mask is not None:
            flat_mask = ops.reshape(ops.cast(mask, "bool"), (-1,))
            for end in (source, target):
                valid = valid & ops.take(flat_mask, ops.where(valid, end + offset, 0), axis=0)
        if self.direction == "both":  # the reverse messages, as types edge_types + t
            source, target = (ops.concatenate([source, target], axis=1),
                              ops.concatenate([target, source], axis=1))
            kind = ops.concatenate([kind, kind + self.edge_types], axis=1)
            valid = ops.concatenate([valid, valid], axis=1)
        gather = ops.where(valid, (source + offset) * self.message_types + kind, 0)
        segment = ops.where(valid, target + offset, batch * count)
        kind = ops.where(valid, kind, 0)
        return (ops.reshape(gather, (-1,)), ops.reshape(segment, (-1,)),
                ops.reshape(kind, (-1,)))

    def call(self, nodes, edges, mask=None):
        self._check_shapes(nodes.shape, edges.shape)
        shape = ops.shape(nodes)
        batch, count, units = shape[0], shape[1], self.units
        flat = batch * count
        state = ops.pad(ops.cast(nodes, self.compute_dtype),
                        [[0, 0], [0, 0], [0, units - nodes.shape[-1]]])
        state = ops.reshape(state, (-1, units))
        keep = None
        if mask is not None:
            keep = ops.cast(ops.reshape(mask, (-1, 1)), self.compute_dtype)
            state = state * keep
        gather, segment, kind = self._messages(edges, mask, batch, count)
        # The biases do not depend on the states: their per-node sum is the same each step.
        bias_sum = ops.segment_sum(ops.take(self.edge_bias, kind, axis=0), segment,
                                   num_segments=flat + 1)[:-1]
        # (units, T * units): every type's map side by side, one matmul per step.
        kernel = ops.reshape(ops.transpose(self.edge_kernel, (1, 0, 2)),
                             (units, self.message_types * units))
        for _ in range(self.steps):
            transformed = ops.reshape(ops.matmul(state, kernel), (-1, units))
            received = ops.segment_sum(ops.take(transformed, gather, axis=0), segment,
                                       num_segments=flat + 1)[:-1]
            state, _ = self.cell(received + bias_sum, [state])
            if keep is not None:
                state = state * keep
        return ops.reshape(state, (batch, count, units))

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "edge_types": self.edge_types,
            "steps": self.steps,
            "direction": self.direction,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
