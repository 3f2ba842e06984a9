"""An attentional encoder-decoder for translation, its incremental inference models, and
`translate_texts` for a saved run.

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
the recurrent states, so search never re-runs the prefix (see `seqtasks.decoding.search`).

Example:

>>> model = build_translator(40, 30, embedding_dim=16, cell="gru", units=32)
>>> encoder, step = inference_models_from(model)
>>> [t.name for t in step.inputs][:4]
['previous_token', 'encoder_outputs', 'attention_keys', 'source_mask']
"""

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from seqtasks.data.batching import pad
from seqtasks.cells.registry import make_cell
from seqtasks.data.readers import read_parallel
from seqtasks.decoding.search import beam_search, greedy_decode
from seqtasks.errors import ConfigError, DataError
from seqtasks.layers.recurrent import Recurrent
from seqtasks.runs import write_json
from seqtasks.data.splits import find_splits
from seqtasks.data.text import Vocabulary, tokenizer_from_config

ATTENTIONS = ("luong", "bahdanau")
TRANSLATOR_FILE = "translator.json"


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


# ----------------------------------------------------------------------------- data


def parallel_splits(folder, source_lang=None, target_lang=None):
    """Reads the train/valid/test sentence pairs of a `--data` folder.

    Either TSV files of ``source<TAB>target`` lines (``train.tsv``, ``valid.tsv``, ...),
    or, with both languages given, line-aligned ``NAME.SRC``/``NAME.TGT`` files like
    Multi30k's ``train.en``/``train.de``, ``val.*``, ``test_2016_flickr.*`` (the first
    test file in name order is used). A missing valid or test split maps to None.
    """
    if (source_lang is None) != (target_lang is None):
        raise ConfigError("give both --source-lang and --target-lang, or neither (TSV data)")
    if source_lang is None:
        paths = find_splits(folder, (".tsv",))
        return {split: path and read_parallel(path) for split, path in paths.items()}
    paths = find_splits(folder, (f".{source_lang}",))
    pairs = {}
    for split, path in paths.items():
        if path is None:
            pairs[split] = None
            continue
        target = path.with_suffix(f".{target_lang}")
        if not target.is_file():
            raise DataError(f"no line-aligned target file {target.name} for it", path=path)
        pairs[split] = read_parallel(path, target)
    return pairs


def encode_pairs(pairs, source_tokenizer, target_tokenizer, source_vocab, target_vocab):
    """Token ids of each pair: (source ids, target ids), without bos/eos."""
    return (
        [source_vocab.encode(source_tokenizer.tokenize(s)) for s, _ in pairs],
        [target_vocab.encode(target_tokenizer.tokenize(t)) for _, t in pairs],
    )


def teacher_forcing_dataset(source_ids, target_ids, bos_id, eos_id, batch_size,
                            shuffle=True, seed=0):
    """``({"source", "target_in"}, target_out)`` batches: in = bos + target, out = target + eos.

    Sentences are grouped by length (the shuffled pairs are cut into pools of 50 batches,
    each sorted by source length and then cut into batches), so little time goes into
    padding; with `shuffle` the batches come in a new random order every epoch.
    """
    order = np.arange(len(source_ids))
    if shuffle:
        order = np.random.default_rng(seed).permutation(order)
    pool = batch_size * 50
    order = np.concatenate([
        sorted(order[start:start + pool], key=lambda i: len(source_ids[i]))
        for start in range(0, len(order), pool)
    ]).astype(int)
    dataset = tf.data.Dataset.from_tensor_slices((
        _ragged([source_ids[i] for i in order]),
        _ragged([[bos_id, *target_ids[i]] for i in order]),
        _ragged([[*target_ids[i], eos_id] for i in order]),
    ))
    dataset = dataset.map(lambda s, t_in, t_out: ({"source": s, "target_in": t_in}, t_out))
    dataset = dataset.padded_batch(batch_size)
    if shuffle:
        batches = -(-len(order) // batch_size)
        dataset = dataset.shuffle(batches, seed=seed, reshuffle_each_iteration=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _ragged(sequences):
    lengths = [len(sequence) for sequence in sequences]
    values = np.fromiter((i for sequence in sequences for i in sequence), dtype="int32",
                         count=sum(lengths))
    return tf.RaggedTensor.from_row_lengths(values, lengths)


# ------------------------------------------------------------------------- decoding


class Translator:
    """Translates texts with a trained model: tokenize, encode, search, detokenize.

    Args:
        model: the training model (built or loaded).
        source_tokenizer, target_tokenizer: `seqtasks.data.text` tokenizers.
        source_vocab, target_vocab: their `Vocabulary`.
        max_output_length: the most target tokens to generate.
    """

    def __init__(self, model, source_tokenizer, target_tokenizer, source_vocab, target_vocab,
                 max_output_length=100):
        self.encoder, self.step = inference_models_from(model)
        self.source_tokenizer, self.target_tokenizer = source_tokenizer, target_tokenizer
        self.source_vocab, self.target_vocab = source_vocab, target_vocab
        self.max_output_length = max_output_length
        self.step_calls = 0

    @classmethod
    def load(cls, run_dir):
        """The translator of a run folder written by the translation recipe."""
        run_dir = Path(run_dir)
        if not (run_dir / "model.keras").is_file():
            raise DataError("no model.keras here: not a finished translation run", path=run_dir)
        try:
            settings = json.loads((run_dir / TRANSLATOR_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise DataError(f"cannot read {TRANSLATOR_FILE}: {err}", path=run_dir) from None
        model = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
        return cls(
            model,
            tokenizer_from_config(settings["source_tokenizer"]),
            tokenizer_from_config(settings["target_tokenizer"]),
            Vocabulary.load(run_dir / "source_vocab.json"),
            Vocabulary.load(run_dir / "target_vocab.json"),
            settings.get("max_output_length", 100),
        )

    def save_settings(self, run_dir):
        """Writes what `load` needs beside model.keras and the vocabularies."""
        write_json(Path(run_dir) / TRANSLATOR_FILE, {
            "source_tokenizer": self.source_tokenizer.get_config(),
            "target_tokenizer": self.target_tokenizer.get_config(),
            "max_output_length": self.max_output_length,
        })

    def _step_fn(self, record=None):
        def step(tokens, states, context):
            self.step_calls += 1
            log_probs, weights, *states = self.step.predict_on_batch(
                [tokens[:, None], *context, *states]
            )
            if record is not None:
                record.append(weights)
            return log_probs, states
        return step

    def _encode(self, texts):
        ids = [self.source_vocab.encode(self.source_tokenizer.tokenize(t)) or
               [self.source_vocab.unk_id] for t in texts]
        source = pad(ids)
        memory, keys, *states = self.encoder.predict_on_batch(source)
        return [memory, keys, source != 0], states

    def translate_ids(self, texts, beam_size=1, length_penalty=0.0, record=None):
        """Token ids of the translations of one batch of texts."""
        context, states = self._encode(texts)
        vocab = self.target_vocab
        search = dict(bos_id=vocab.bos_id, eos_id=vocab.eos_id, context=context,
                      max_length=self.max_output_length)
        if beam_size == 1:
            return greedy_decode(self._step_fn(record), states, **search)[0]
        return beam_search(self._step_fn(record), states, beam_size=beam_size,
                           length_penalty=length_penalty, **search)[0]

    def translate(self, texts, beam_size=1, length_penalty=0.0, batch_size=64):
        """Translations of `texts` (batched by similar length); greedy when beam_size is 1."""
        texts = list(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            outputs = self.translate_ids([texts[i] for i in batch], beam_size, length_penalty)
            for i, ids in zip(batch, outputs):
                results[i] = self.target_tokenizer.detokenize(self.target_vocab.decode(ids))
        return results

    def attention_map(self, text):
        """Greedy translation of one text with its attention weights.

        Returns ``(source_tokens, output_tokens, weights)``; weights has one row per
        output token (eos included) and one column per source token.
        """
        record = []
        ids = self.translate_ids([text], beam_size=1, record=record)[0]
        source_tokens = self.source_tokenizer.tokenize(text)
        output_tokens = self.target_vocab.decode(ids, strip_special=False) + ["<eos>"]
        weights = np.concatenate(record)[: len(output_tokens), : len(source_tokens)]
        return source_tokens, output_tokens[: len(weights)], weights


def translate_texts(run_dir, texts, beam_size=4, length_penalty=0.0, batch_size=64):
    """Translates `texts` with the model of a translation run folder.

    Args:
        run_dir: a folder written by ``seqtasks run translation`` (model.keras,
            source_vocab.json, target_vocab.json, translator.json).
        texts: source sentences (strings).
        beam_size: beams per sentence; 1 is greedy decoding.
        length_penalty: GNMT length-penalty exponent for beam search (0: none).
        batch_size: sentences decoded together.

    Returns:
        A list of translated strings, one per text.

    Example:

    >>> translate_texts("runs/translation", ["March 3rd, 2001"])  # doctest: +SKIP
    ['2001-03-03']
    """
    if isinstance(texts, str):
        texts = [texts]
    if beam_size < 1:
        raise ConfigError(f"beam_size must be a positive integer, got {beam_size}")
    translator = Translator.load(run_dir)
    return translator.translate(texts, beam_size=beam_size, length_penalty=length_penalty,
                                batch_size=batch_size)
