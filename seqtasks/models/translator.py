"""An attentional encoder-decoder for translation and its incremental inference models.

The architecture follows Luong et al. (2015), "Effective Approaches to Attention-based
Neural Machine Translation", with a bidirectional encoder as in Bahdanau et al. (2015):

- Encoder: Embedding (``mask_zero``) -> `depth` bidirectional `Recurrent` layers, each
  returning its sequence and final states. A tanh Dense "bridge" per state (h, and c for
  an LSTM) maps the top layer's [forward; backward] final states to the decoder's
  initial states.
- Decoder: Embedding -> `Recurrent` (sequences and states) -> attention over the encoder
  outputs (padded source positions masked) -> concat [context; decoder output] ->
  Dense (Luong's "attentional hidden state", here linear) -> Dense -> softmax over the
  target vocabulary.
- Attention, with Keras's own layers: ``"luong"`` (the default) is
  `keras.layers.Attention` on keys ``W h_s`` (Luong's "general" score ``h_t^T W h_s``);
  ``"bahdanau"`` is `keras.layers.AdditiveAttention` on ``W1 h_t`` and ``W2 h_s``
  (the score ``v^T tanh(W1 h_t + W2 h_s)``).

Luong's attentional state is ``tanh(W_c [c_t; h_t])``; here it has no tanh. With
the tanh, on Multi30k (a word vocabulary of ~5,000) the layer saturated within the
first epoch (96% of its units at |h| > 0.99) while the model was still learning the
unigram distribution, and training stalled at the unigram loss (5.75 nats on 3,000
pairs after 4 epochs; 3.86 without the tanh, 3.99 with a ReLU).

Luong is the default because, with attention placed after the decoder RNN (as here),
it is the scoring function that architecture was designed with, and it is cheaper: one
batched matrix product per step, where additive attention materialises a
``(batch, target, source, units)`` tensor. On the embedded dates task (2 CPU cores,
default recipe settings) both reached a test exact match of 0.999-1.0, Luong's epochs
running about 1.5x faster.

Training uses teacher forcing: the decoder reads ``<bos> + target`` and predicts
``target + <eos>``. For decoding, `inference_models_from` rebuilds, from the layers of
a (loaded) training model, an encoder model and a one-step decoder model that carries
the recurrent states, so search never re-runs the prefix (see `seqtasks.decoding.search`;
the translation task, `seqtasks.tasks.translation`, decodes with them).

Example:

>>> model = build_translator(40, 30, embedding_dim=16, cell="gru", units=32)
>>> encoder, step = inference_models_from(model)
>>> [t.name for t in step.inputs][:4]
['previous_token', 'encoder_outputs', 'attention_keys', 'source_mask']
"""

import keras
from keras import ops

from seqtasks.cells.registry import make_cell
from seqtasks.errors import ConfigError
from seqtasks.layers.recurrent import Recurrent

ATTENTIONS = ("luong", "bahdanau")


@keras.saving.register_keras_serializable(package="seqtasks")
class PaddingMask(keras.layers.Layer):
    """The boolean mask ``ids != 0`` of a batch of padded id sequences."""

    def call(self, ids):
        return ops.not_equal(ids, 0)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(ids.shape, dtype="bool")


@keras.saving.register_keras_serializable(package="seqtasks")
class SqueezeStep(keras.layers.Layer):
    """``(batch, 1, ...) -> (batch, ...)``: the single step of a one-step decoder."""

    def call(self, inputs):
        return ops.squeeze(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])

    def compute_mask(self, inputs, mask=None):
        return None


def _state_count(cell):
    sizes = cell.state_size
    return len(sizes) if isinstance(sizes, (list, tuple)) else 1


def build_translator(
    source_vocab_size,
    target_vocab_size,
    embedding_dim=64,
    cell="lstm",
    units=128,
    depth=1,
    dropout=0.0,
    attention="luong",
):
    """The training model: ``{"source": ids, "target_in": ids} -> next-token probabilities``.

    Args:
        source_vocab_size, target_vocab_size: vocabulary sizes (id 0 is padding).
        embedding_dim: width of both embeddings.
        cell: a cell name from `seqtasks.cells.CELLS`.
        units: the decoder's width and each encoder direction's width.
        depth: bidirectional encoder layers.
        dropout: dropout on the embeddings, between encoder layers and before the output.
        attention: "luong" (multiplicative, the default) or "bahdanau" (additive).

    Returns:
        An uncompiled `keras.Model`; its layers have fixed names that
        `inference_models_from` looks up.
    """
    if attention not in ATTENTIONS:
        raise ConfigError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
    source = keras.Input((None,), dtype="int32", name="source")
    target_in = keras.Input((None,), dtype="int32", name="target_in")

    # Encoder: bidirectional layers; the top one's final states seed the decoder.
    x = keras.layers.Embedding(source_vocab_size, embedding_dim, mask_zero=True,
                               name="source_embedding")(source)
    x = keras.layers.Dropout(dropout, name="source_dropout")(x)
    for k in range(depth):
        layer = keras.layers.Bidirectional(
            Recurrent(make_cell(cell, units), return_sequences=True, return_state=True),
            name=f"encoder_{k}",
        )
        x, *final_states = layer(x)
        if k < depth - 1:
            x = keras.layers.Dropout(dropout, name=f"encoder_dropout_{k}")(x)
    encoder_outputs = x
    n_states = len(final_states) // 2
    initial_states = [
        keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}")(
            keras.layers.Concatenate()([final_states[i], final_states[n_states + i]])
        )
        for i in range(n_states)
    ]
    source_mask = PaddingMask(name="source_mask")(source)

    # Decoder, teacher-forced over the whole target.
    y = keras.layers.Embedding(target_vocab_size, embedding_dim, mask_zero=True,
                               name="target_embedding")(target_in)
    y = keras.layers.Dropout(dropout, name="target_dropout")(y)
    decoder = Recurrent(make_cell(cell, units), return_sequences=True, return_state=True,
                        name="decoder")
    decoder_outputs = decoder(y, initial_state=initial_states)[0]
    target_mask = PaddingMask(name="target_mask")(target_in)
    probabilities = _attend_and_predict(
        _attention_layers(attention, units, target_vocab_size),
        decoder_outputs, encoder_outputs, None, [target_mask, source_mask], dropout,
    )[0]
    return keras.Model({"source": source, "target_in": target_in}, probabilities,
                       name=f"translator_{attention}")


def _attention_layers(attention, units, target_vocab_size):
    """The layers after the decoder RNN, by name (created new, or found in a model)."""
    if attention == "luong":
        # Luong's "general" score h_t^T W h_s: W applied once to the encoder outputs.
        layers = {"keys": keras.layers.Dense(units, use_bias=False, name="attention_keys"),
                  "attention": keras.layers.Attention(name="attention")}
    else:
        # Bahdanau's v^T tanh(W1 h_t + W2 h_s): AdditiveAttention's `scale` is v.
        layers = {"keys": keras.layers.Dense(units, name="attention_keys"),
                  "query": keras.layers.Dense(units, use_bias=False, name="attention_query"),
                  "attention": keras.layers.AdditiveAttention(name="attention")}
    # Linear: a tanh here saturates early on large vocabularies (see the module docstring).
    layers["attentional"] = keras.layers.Dense(units, name="attentional")
    layers["logits"] = keras.layers.Dense(target_vocab_size, name="logits")
    return layers


def _attend_and_predict(layers, decoder_outputs, encoder_outputs, keys, masks, dropout=0.0,
                        log_probs=False):
    """Attention -> concat -> Dense -> Dense -> softmax (or log-softmax)."""
    if keys is None:
        keys = layers["keys"](encoder_outputs)
    query = layers["query"](decoder_outputs) if "query" in layers else decoder_outputs
    context, weights = layers["attention"](
        [query, encoder_outputs, keys], mask=masks, return_attention_scores=True
    )
    h = keras.layers.Concatenate(name="context_and_output")([context, decoder_outputs])
    h = layers["attentional"](h)
    if dropout:
        h = keras.layers.Dropout(dropout, name="output_dropout")(h)
    logits = layers["logits"](h)
    activation = "log_softmax" if log_probs else "softmax"
    outputs = keras.layers.Activation(activation, name=f"next_token_{activation}")(logits)
    return outputs, weights


def inference_models_from(model):
    """The encoder and one-step decoder models that share `model`'s layers and weights.

    - encoder: ``source ids -> [encoder_outputs, attention_keys, *initial_states]``.
    - step: ``[previous_token (B, 1), encoder_outputs, attention_keys, source_mask,
      *states] -> [log_probs (B, V), attention_weights (B, S), *new_states]``.

    Works on a model from `build_translator` or loaded from ``model.keras``.
    """
    try:
        get = model.get_layer
        encoders = [layer for layer in model.layers if layer.name.startswith("encoder_")
                    and isinstance(layer, keras.layers.Bidirectional)]
        decoder = get("decoder")
        bridges = [get(f"bridge_{i}") for i in range(_state_count(decoder.cell))]
        attention = get("attention")
        kind = "bahdanau" if isinstance(attention, keras.layers.AdditiveAttention) else "luong"
        layers = {"keys": get("attention_keys"), "attention": attention,
                  "attentional": get("attentional"), "logits": get("logits")}
        if kind == "bahdanau":
            layers["query"] = get("attention_query")
        source_embedding, target_embedding = get("source_embedding"), get("target_embedding")
    except ValueError as err:
        raise ConfigError(f"not a translator model from build_translator: {err}") from None

    source = keras.Input((None,), dtype="int32", name="source")
    x = source_embedding(source)
    for layer in encoders:
        x, *final_states = layer(x)
    n = len(bridges)
    initial_states = [
        bridge(keras.layers.Concatenate()([final_states[i], final_states[n + i]]))
        for i, bridge in enumerate(bridges)
    ]
    keys = layers["keys"](x)
    encoder = keras.Model(source, [x, keys, *initial_states], name="translator_encoder")

    previous = keras.Input((1,), dtype="int32", name="previous_token")
    memory = keras.Input((None, x.shape[-1]), name="encoder_outputs")
    memory_keys = keras.Input((None, keys.shape[-1]), name="attention_keys")
    source_mask = keras.Input((None,), dtype="bool", name="source_mask")
    states = [keras.Input((decoder.cell.units,), name=f"state_{i}") for i in range(n)]
    y = target_embedding(previous)
    y, *new_states = decoder(y, initial_state=states)
    log_probs, weights = _attend_and_predict(
        layers, y, memory, memory_keys, [None, source_mask], log_probs=True
    )
    log_probs = SqueezeStep(name="last_log_probs")(log_probs)
    weights = SqueezeStep(name="last_attention")(weights)
    step = keras.Model([previous, memory, memory_keys, source_mask, *states],
                       [log_probs, weights, *new_states], name="translator_step")
    return encoder, step
