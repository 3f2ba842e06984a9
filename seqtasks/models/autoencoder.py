"""A sequence autoencoder: encode a token sequence into one vector, then rebuild the sequence.

Unsupervised: the target is the input itself. The encoder reads the sequence (padding
masked) into its final state, the *code*; the decoder gets the code at every step
(`RepeatVector`, the "unconditioned" decoder of Srivastava et al., 2015) and predicts
the token at each position, padding included, so it also has to rebuild the length.

    ids (batch, T) ─Embedding(mask_zero)─ encoder stack ─ code (batch, units)
        ─RepeatVector(T)─ decoder stack ─ Dense softmax per step ─ (batch, T, vocab)

Example:

>>> model = build_sequence_autoencoder(vocab_size=11, max_length=6, units=8)
>>> tuple(model.output_shape), tuple(encoder_of(model).output_shape)
((None, 6, 11), (None, 8))
"""

import keras
import numpy as np

from seqtasks.errors import ConfigError
from seqtasks.layers.stack import RecurrentStack


def build_sequence_autoencoder(
    vocab_size, max_length, embedding_dim=32, cell="gru", units=64, depth=1, **cell_kwargs
):
    """An autoencoder for int sequences (batch, max_length), id 0 = padding (not compiled).

    Args:
        vocab_size: number of token ids, padding included.
        max_length: the (fixed) sequence width; shorter sequences are right-padded.
        embedding_dim: token embedding width.
        cell, units, depth, **cell_kwargs: the encoder's and the decoder's recurrent
            stacks (`seqtasks.layers.recurrent_stack`);
            `units` is also the size of the code.

    Returns a `keras.Model` from ids to per-step token probabilities (batch, max_length,
    vocab_size); train it with ``loss="sparse_categorical_crossentropy"`` and the ids as
    targets. `encoder_of` gives its encoder.
    """
    if vocab_size < 2 or max_length < 1:
        raise ConfigError(
            f"need vocab_size >= 2 and max_length >= 1, got {vocab_size}, {max_length}"
        )
    ids = keras.Input((max_length,), dtype="int32", name="ids")
    embedded = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True)(ids)
    stack = dict(cell=cell, units=units, depth=depth, cell_kwargs=cell_kwargs)
    code = RecurrentStack(**stack, name="encoder")(embedded)
    repeated = keras.layers.RepeatVector(max_length)(code)
    decoded = RecurrentStack(**stack, return_sequences=True, name="decoder")(repeated)
    probs = keras.layers.Dense(vocab_size, activation="softmax", name="tokens")(decoded)
    return keras.Model(ids, probs, name="sequence_autoencoder")


def encoder_of(autoencoder):
    """The model from ids to codes inside an autoencoder from `build_sequence_autoencoder`."""
    return keras.Model(autoencoder.input, autoencoder.get_layer("encoder").output)


def reconstruction_accuracy(autoencoder, ids, batch_size=256):
    """How well `autoencoder` rebuilds `ids` (int, (n, max_length), 0 = padding).

    Returns a dict: ``token_accuracy`` (share of the real, non-padding tokens rebuilt
    correctly) and ``sequence_accuracy`` (share of sequences rebuilt exactly, padding
    and so the length included).
    """
    ids = np.asarray(ids)
    predicted = autoencoder.predict(ids, batch_size=batch_size, verbose=0).argmax(-1)
    correct = predicted == ids
    real = ids != 0
    return {
        "token_accuracy": float(correct[real].mean()),
        "sequence_accuracy": float(correct.all(axis=1).mean()),
    }
