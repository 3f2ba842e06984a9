"""A classifier of each word's dependency relation given the gold tree, with three ways
of computing the words' states: a sequence, a tree and a graph model.

Every model reads the same word input: the word's embedding and the embedding of the
offset to its head (head - i, clipped to [-max_offset, max_offset], and an id of its own
for the root), so each knows on which side of its head a word is. It classifies the
concatenation ``[state of word i ; state of its head]`` (zeros for the root) with one
softmax, so the three differ only in how the states are computed:

- ``"sequence"``: a bidirectional LSTM over the sentence (the tree enters only through
  the offsets and the head's state);
- ``"tree"``: a Child-Sum `TreeLSTM` bottom-up (a word from its dependents) and another
  top-down (a word from its head, its input the word input and the bottom-up state);
  the state is ``[h_up ; h_down]``;
- ``"graph"``: the word input projected to `units` and `steps` steps of a `GatedGraph`
  over the head -> dependent edges, both ways.

The inputs are arrays of `seqtasks.data.dependencies.encode_dependencies` (only those the
model needs: `INPUTS`); the output is (batch, words, relations).

Example:

>>> from seqtasks.data.dependencies import encode_dependencies
>>> batch = encode_dependencies([(["dogs", "bark"], [2, 0])], {"dogs": 2, "bark": 3}.get)
>>> model = build_relation_classifier(4, 3, "graph", embedding_dim=4, units=4)
>>> model.predict({name: getattr(batch, name) for name in INPUTS["graph"]}, verbose=0).shape
(1, 2, 3)
"""

import keras
from keras import ops

from seqtasks.errors import ConfigError
from seqtasks.layers import GatedGraph, TreeLSTM, recurrent_stack
from seqtasks.validation import positive_int

MODELS = ("sequence", "tree", "graph")
INPUTS = {
    "sequence": ("words", "heads"),
    "tree": ("words", "heads", "up_children", "up_levels", "down_children", "down_levels"),
    "graph": ("words", "heads", "edges", "mask"),
}
OFFSET_DIM = 16  # the width of the head-offset embedding


@keras.saving.register_keras_serializable(package="seqtasks")
class HeadOffsets(keras.layers.Layer):
    """Each word's offset to its head as an id: ``clip(head - i, -m, m) + m`` in
    [0, 2m], and 2m + 1 for the root and padding (head -1).

    >>> HeadOffsets(2)(ops.convert_to_tensor([[1, -1, 0, 0]])).numpy().tolist()
    [[3, 5, 0, 0]]
    """

    def __init__(self, max_offset, **kwargs):
        super().__init__(**kwargs)
        self.max_offset = positive_int("max_offset", max_offset)

    def call(self, heads):
        heads = ops.cast(heads, "int32")
        position = ops.arange(ops.shape(heads)[1], dtype="int32")[None, :]
        offsets = ops.clip(heads - position, -self.max_offset, self.max_offset) + self.max_offset
        return ops.where(heads >= 0, offsets, 2 * self.max_offset + 1)

    def get_config(self):
        return {**super().get_config(), "max_offset": self.max_offset}


@keras.saving.register_keras_serializable(package="seqtasks")
class WithHead(keras.layers.Layer):
    """``[states ; states of the head]`` (batch, words, 2 features): the head's row
    gathered by `heads` (local indices), zeros where the head is -1 (root, padding).

    >>> states = ops.convert_to_tensor([[[1.0], [2.0]]])
    >>> WithHead()(states, ops.convert_to_tensor([[1, -1]])).numpy().tolist()
    [[[1.0, 2.0], [2.0, 0.0]]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # the sequence model's padding mask passes on

    def call(self, states, heads):
        heads = ops.cast(heads, "int32")
        batch, size = ops.shape(states)[0], ops.shape(states)[1]
        rows = ops.arange(batch, dtype="int32")[:, None] * size + ops.maximum(heads, 0)
        flat = ops.reshape(states, (-1, states.shape[-1]))
        gathered = ops.reshape(ops.take(flat, ops.reshape(rows, (-1,)), axis=0),
                               ops.shape(states))
        present = ops.cast(ops.expand_dims(heads >= 0, -1), states.dtype)
        return ops.concatenate([states, gathered * present], axis=-1)

    def compute_output_shape(self, states_shape, heads_shape):
        return (*states_shape[:-1], 2 * states_shape[-1])


def build_relation_classifier(
    vocab_size,
    num_relations,
    model="sequence",
    embedding_dim=100,
    units=128,
    steps=3,
    dropout=0.33,
    max_offset=10,
    name="relation_classifier",
):
    """Builds (uncompiled) the relation classifier `model` (see the module docstring).

    Args:
        vocab_size: the number of word ids (0: padding, 1: unknown).
        num_relations: the number of relations.
        model: "sequence", "tree" or "graph".
        embedding_dim: the width of the word embeddings.
        units: the LSTM's units per direction, each Tree-LSTM's or the graph's state size.
        steps: the graph's propagation steps.
        dropout: the dropout rate on the word input and on the states.
        max_offset: head offsets beyond ± this share one id.
        name: the model's name.
    """
    if model not in MODELS:
        raise ConfigError(f"model must be one of {MODELS}, got {model!r}")
    if vocab_size < 2 or num_relations < 2:
        raise ConfigError(f"need vocab_size >= 2 and num_relations >= 2, got {vocab_size} "
                          f"and {num_relations}")
    inputs = {
        "words": keras.Input(shape=(None,), dtype="int32", name="words"),
        "heads": keras.Input(shape=(None,), dtype="int32", name="heads"),
        "up_children": keras.Input(shape=(None, None), dtype="int32", name="up_children"),
        "up_levels": keras.Input(shape=(None, None), dtype="int32", name="up_levels"),
        "down_children": keras.Input(shape=(None, 1), dtype="int32", name="down_children"),
        "down_levels": keras.Input(shape=(None, None), dtype="int32", name="down_levels"),
        "edges": keras.Input(shape=(None, 3), dtype="int32", name="edges"),
        "mask": keras.Input(shape=(None,), dtype="bool", name="mask"),
    }
    inputs = {key: inputs[key] for key in INPUTS[model]}
    words, heads = inputs["words"], inputs["heads"]
    # Only the LSTM takes its mask from the embedding; the tree and graph layers leave
    # padding out by their levels and edges (and the graph by its explicit mask).
    embedded = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=model == "sequence",
                                      name="word_embedding")(words)
    offsets = keras.layers.Embedding(2 * max_offset + 2, OFFSET_DIM,
                                     name="offset_embedding")(HeadOffsets(max_offset)(heads))
    x = keras.layers.Concatenate(name="word_input")([embedded, offsets])
    x = keras.layers.Dropout(dropout, name="input_dropout")(x)
    if model == "sequence":
        states = recurrent_stack("lstm", units=units, bidirectional=True,
                                 return_sequences=True, name="bilstm")(x)
    elif model == "tree":
        up = TreeLSTM(units, name="tree_up")(x, inputs["up_children"], inputs["up_levels"])
        down_input = keras.layers.Concatenate(name="down_input")([x, up])
        down = TreeLSTM(units, name="tree_down")(down_input, inputs["down_children"],
                                                 inputs["down_levels"])
        states = keras.layers.Concatenate(name="tree_states")([up, down])
    else:
        nodes = keras.layers.Dense(units, name="projection")(x)
        states = GatedGraph(units, edge_types=1, steps=steps, name="gated_graph")(
            nodes, inputs["edges"], mask=inputs["mask"])
    states = keras.layers.Dropout(dropout, name="state_dropout")(states)
    # The architecture idea: a relation is a property of a (dependent, head) pair.
    pairs = WithHead(name="with_head")(states, heads)
    probabilities = keras.layers.Dense(num_relations, activation="softmax",
                                       name="relations")(pairs)
    return keras.Model(inputs, probabilities, name=name)
