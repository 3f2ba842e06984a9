"""`CRF`: a linear-chain conditional random field over per-step tag potentials, and
`CRFModel`, the functional model that trains on its negative log-likelihood.

A tag sequence ``y`` of length ``L`` scores

    score(y) = start[y_0] + sum_t potentials[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t]
               + end[y_{L-1}]

and ``p(y | x) = exp(score(y)) / Z``, where ``log Z`` (the log-partition, `log_partition`)
is the log-sum-exp of the scores of every tag path, computed by the forward algorithm.
`log_likelihood` gives ``score(y) - log Z`` per sequence and `decode` the Viterbi path
(the highest-scoring one). Everything is written with `keras.ops` (tests run it on
TensorFlow and JAX).

Masks are boolean (batch, time) and mark right-padded sequences (the valid steps of each
sequence come first). Padded steps change nothing: their potentials and gold tags are
ignored (they may hold any value), a sequence with no valid step has log Z = score = 0,
and `decode` gives tag 0 at padded steps.

Design. `CRF` is the last layer of a tagger: its `call(potentials, mask=None)` returns the
potentials unchanged (and passes the mask on, e.g. from ``Embedding(mask_zero=True)``); it
holds the transition weights. The loss needs those weights, which a loss given to
``compile`` cannot carry through ``model.save`` (a compile config cannot point at one of
the model's layers). So the model is a `CRFModel`, a functional `keras.Model` whose
`compute_loss` is its CRF layer's negative log-likelihood: compile it with an optimizer
and no loss, ``fit(x, y)`` with integer tags ``y`` (batch, time), and it saves and loads
(``safe_mode=True`` included) like any functional model, still trainable. The reported
loss is the negative log-likelihood per valid step (summed over each batch's sequences,
divided by its number of unmasked steps): per-step terms (`CRF.step_losses`) that Keras's
own loss masking sums over the unmasked steps, so no mask is handled by hand. Compiled
metrics (e.g. ``"accuracy"``) see the potentials, i.e. per-step argmax, not the Viterbi
path. Tags come from ``crf.decode(model.predict(x), mask)``.

Example:

>>> import numpy as np
>>> tokens = keras.Input((None,), dtype="int32")
>>> embedded = keras.layers.Embedding(10, 8, mask_zero=True)(tokens)
>>> crf = CRF(3)
>>> model = CRFModel(tokens, crf(keras.layers.Dense(3)(embedded)))
>>> model.compile(optimizer="adam")
>>> x = np.array([[4, 2, 7], [5, 1, 0]])
>>> history = model.fit(x, np.array([[1, 2, 0], [2, 2, 0]]), epochs=1, verbose=0)
>>> keras.ops.convert_to_numpy(crf.decode(model.predict(x, verbose=0), x != 0)).shape
(2, 3)
"""

import keras
from keras import ops

from seqtasks.errors import ConfigError
from seqtasks.validation import positive_int


def _time_major(x):
    """(batch, time, ...) -> (time, batch, ...)."""
    return ops.moveaxis(x, 1, 0)


@keras.saving.register_keras_serializable(package="seqtasks")
class CRF(keras.layers.Layer):
    """A linear-chain CRF over potentials (batch, time, num_tags); see the module docstring.

    Weights: `transitions` (num_tags, num_tags), ``transitions[i, j]`` the score of tag
    ``j`` following tag ``i``; `start_transitions` and `end_transitions` (num_tags,), the
    scores of a sequence's first and last tag. Called on potentials it returns them
    unchanged (so it goes last in a `CRFModel`); the methods below take the potentials,
    integer tags (batch, time) and an optional boolean mask (batch, time) of right-padded
    sequences, and compute in float32.

    Args:
        num_tags: how many tags (the potentials' last dimension).
        transitions_initializer: initializer of the three transition weights (default
            zeros: a CRF that starts as independent per-step softmaxes).
        transitions_regularizer: optional regularizer of the three transition weights.

    Example:

    >>> crf = CRF(4)
    >>> potentials = keras.ops.ones((2, 5, 4))
    >>> crf(potentials) is potentials, tuple(crf.decode(potentials).shape)
    (True, (2, 5))
    """

    def __init__(self, num_tags, transitions_initializer="zeros",
                 transitions_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.num_tags = positive_int("num_tags", num_tags)
        self.transitions_initializer = keras.initializers.get(transitions_initializer)
        self.transitions_regularizer = keras.regularizers.get(transitions_regularizer)
        self.supports_masking = True

    def build(self, input_shape=None):
        if input_shape is not None:
            self._check_potentials_shape(input_shape)
        weight = dict(initializer=self.transitions_initializer,
                      regularizer=self.transitions_regularizer)
        self.transitions = self.add_weight(
            name="transitions", shape=(self.num_tags, self.num_tags), **weight)
        self.start_transitions = self.add_weight(
            name="start_transitions", shape=(self.num_tags,), **weight)
        self.end_transitions = self.add_weight(
            name="end_transitions", shape=(self.num_tags,), **weight)
        self.built = True

    def _check_potentials_shape(self, shape):
        shape = tuple(shape)
        if len(shape) != 3 or shape[-1] not in (None, self.num_tags):
            raise ValueError(
                f"potentials must have shape (batch, time, num_tags={self.num_tags}), "
                f"got {shape}")

    def call(self, potentials, mask=None):
        return potentials

    def compute_output_shape(self, input_shape):
        return input_shape

    # -- the computations -------------------------------------------------------------

    def _inputs(self, potentials, mask, tags=None):
        """Float32 potentials with padded steps zeroed, the bool mask, clipped int tags."""
        if not self.built:
            self.build(potentials.shape)
        self._check_potentials_shape(potentials.shape)
        potentials = ops.cast(potentials, "float32")
        if mask is None:
            mask = ops.ones(ops.shape(potentials)[:2], dtype="bool")
        mask = ops.cast(mask, "bool")
        potentials = ops.where(mask[..., None], potentials, 0.0)
        if tags is not None:
            tags = ops.where(mask, ops.clip(ops.cast(tags, "int32"), 0, self.num_tags - 1), 0)
        return potentials, mask, tags

    def _weights(self):
        return (ops.cast(self.transitions, "float32"), ops.cast(self.start_transitions, "float32"),
                ops.cast(self.end_transitions, "float32"))

    def _forward(self, potentials, mask, viterbi=False):
        """The forward recursion over time (log-sum-exp, or max for Viterbi).

        Returns the per-step scores (time, batch, num_tags): ``alpha[t, b, j]`` is the
        log-sum-exp (max) of the scores of the paths ending in tag j at step t. At masked
        steps alpha keeps its previous value (and the back-pointers are the identity).
        With `viterbi`, also the back-pointers (time, batch, num_tags): the best previous
        tag for each tag.
        """
        transitions, start, _ = self._weights()
        tags = ops.arange(self.num_tags, dtype="int32")

        # The carry is also the per-step output (TensorFlow's `ops.scan` needs them alike).
        def step(carry, inputs):
            alpha = carry[0] if viterbi else carry
            unary, valid, first = inputs[:, :-2], inputs[:, -2] > 0.5, inputs[0, -1] > 0.5
            candidates = alpha[:, :, None] + transitions[None]  # previous tag, next tag
            if viterbi:
                new = ops.max(candidates, axis=1)
                pointers = ops.cast(ops.argmax(candidates, axis=1), "int32")
            else:
                new = ops.logsumexp(candidates, axis=1)
            new = ops.where(first, start[None], new) + unary
            alpha = ops.where(valid[:, None], new, alpha)
            if viterbi:
                carry = (alpha, ops.where(valid[:, None], pointers, tags[None]))
                return carry, carry
            return alpha, alpha

        init = ops.zeros_like(potentials[:, 0])
        if viterbi:
            init = (init, ops.zeros(ops.shape(init), dtype="int32"))
        # One sequence to scan: potentials, mask and "is the first step" side by side
        # (Keras 3.15's TensorFlow `scan` fails on several inputs of unknown length).
        valid = ops.cast(mask, "float32")
        first = ops.zeros_like(valid) + ops.cast(ops.arange(ops.shape(valid)[1]) == 0,
                                                 "float32")[None]
        inputs = ops.concatenate([potentials, valid[..., None], first[..., None]], axis=-1)
        _, outputs = ops.scan(step, init, _time_major(inputs))
        return outputs

    def log_partition(self, potentials, mask=None):
        """log Z of each sequence (batch,): the log-sum-exp of every tag path's score."""
        potentials, mask, _ = self._inputs(potentials, mask)
        alphas = self._forward(potentials, mask)
        _, _, end = self._weights()
        log_z = ops.logsumexp(alphas[-1] + end[None], axis=-1)
        return ops.where(ops.any(mask, axis=1), log_z, 0.0)

    def score(self, potentials, tags, mask=None):
        """The score of each gold tag path (batch,) (the formula in the module docstring)."""
        potentials, mask, tags = self._inputs(potentials, mask, tags)
        transitions, start, end = self._weights()
        valid = ops.cast(mask, "float32")
        one_hot = ops.one_hot(tags, self.num_tags, dtype="float32") * valid[..., None]
        unary = ops.sum(potentials * one_hot, axis=(1, 2))
        pairs = ops.sum(ops.matmul(one_hot[:, :-1], transitions) * one_hot[:, 1:], axis=(1, 2))
        first = ops.sum(one_hot[:, 0] * start[None], axis=-1)
        # The last valid step is the one whose successor is not valid.
        after = ops.concatenate([valid[:, 1:], ops.zeros_like(valid[:, :1])], axis=1)
        last = ops.sum(one_hot * (valid - after)[..., None] * end[None, None], axis=(1, 2))
        return unary + pairs + first + last

    def log_likelihood(self, potentials, tags, mask=None):
        """log p(tags | potentials) of each sequence (batch,): score - log Z."""
        return self.score(potentials, tags, mask) - self.log_partition(potentials, mask)

    def step_losses(self, potentials, tags):
        """Per-step terms (batch, time) whose sum over a sequence's first L steps is the
        negative log-likelihood of its first L tags, for every L.

        They need no mask: a loss that sums them over the unmasked steps of right-padded
        sequences (as Keras does with the mask of `CRFModel`'s output) gets the negative
        log-likelihood of each sequence. Step t's term is ``n_t - n_{t-1}``, where ``n_t``
        is the negative log-likelihood of the sequence cut after step t.
        """
        potentials, _, tags = self._inputs(potentials, None, tags)
        transitions, start, end = self._weights()
        alphas = _time_major(self._forward(potentials, ops.ones(ops.shape(tags), "bool")))
        prefix_log_z = ops.logsumexp(alphas + end[None, None], axis=-1)
        one_hot = ops.one_hot(tags, self.num_tags, dtype="float32")
        previous = ops.concatenate([ops.zeros_like(one_hot[:, :1]), one_hot[:, :-1]], axis=1)
        first = ops.cast(ops.arange(ops.shape(tags)[1]) == 0, "float32")[None]
        step_score = (ops.sum(potentials * one_hot, axis=-1)
                      + ops.sum(ops.matmul(previous, transitions) * one_hot, axis=-1)
                      + first * ops.sum(one_hot * start, axis=-1)
                      + ops.sum((one_hot - previous) * end, axis=-1))
        previous_log_z = ops.concatenate(
            [ops.zeros_like(prefix_log_z[:, :1]), prefix_log_z[:, :-1]], axis=1)
        return prefix_log_z - previous_log_z - step_score

    def decode(self, potentials, mask=None):
        """The Viterbi tag path of each sequence: int32 (batch, time), 0 at masked steps."""
        potentials, mask, _ = self._inputs(potentials, mask)
        alphas, pointers = self._forward(potentials, mask, viterbi=True)
        _, _, end = self._weights()
        last = ops.cast(ops.argmax(alphas[-1] + end[None], axis=-1), "int32")

        def back(tag, step_pointers):  # the tag at step t -> the tag at step t - 1
            previous = ops.take_along_axis(step_pointers, tag[:, None], axis=1)[:, 0]
            return previous, tag

        _, path = ops.scan(back, last, pointers, reverse=True)
        return ops.where(mask, ops.moveaxis(path, 0, 1), 0)

    def get_config(self):
        return {
            **super().get_config(),
            "num_tags": self.num_tags,
            "transitions_initializer": keras.initializers.serialize(
                self.transitions_initializer),
            "transitions_regularizer": keras.regularizers.serialize(
                self.transitions_regularizer),
        }


class _StepNegativeLogLikelihood(keras.losses.Loss):
    """`CRF.step_losses` as a Keras loss, which masks them with the predictions' mask."""

    def __init__(self, crf):
        # Averaged over the weighted steps: rows and steps of weight 0 (the padding of
        # seqtasks.data.batching.pad_batch) change nothing.
        super().__init__(name="crf_negative_log_likelihood",
                         reduction="mean_with_sample_weight")
        self.crf = crf

    def call(self, y_true, y_pred):
        return self.crf.step_losses(y_pred, y_true)


@keras.saving.register_keras_serializable(package="seqtasks")
class CRFModel(keras.Model):
    """A functional model whose output comes from a `CRF` layer, trained on its negative
    log-likelihood (see the module docstring).

    Built like ``keras.Model(inputs, outputs)``; the model must contain exactly one `CRF`
    layer (at its top level), whose output is the model's output. Compile it without a
    loss: a compiled loss raises ConfigError when training starts. Losses added by layers
    (regularizers) are added to the CRF's. Sample weights may be per sequence (batch,) or
    per step (batch, time); the loss is then the weighted mean over the unmasked steps.
    """

    @property
    def crf(self):
        """The model's `CRF` layer."""
        found = [layer for layer in self.layers if isinstance(layer, CRF)]
        if len(found) != 1:
            raise ConfigError(
                f"a CRFModel needs exactly one CRF layer among its layers, got {len(found)}")
        return found[0]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if getattr(self, "loss", None) is not None:
            raise ConfigError(
                "a CRFModel trains on its CRF's negative log-likelihood: compile it with "
                f"loss=None, got loss={self.loss!r}")
        if y is None or y_pred is None:
            return None
        if sample_weight is not None:  # (batch, 1) for one weight per sequence
            sample_weight = ops.reshape(sample_weight, (ops.shape(y_pred)[0], -1))
        loss = _StepNegativeLogLikelihood(self.crf)(y, y_pred, sample_weight)
        for extra in self.losses:
            loss = loss + ops.sum(ops.cast(extra, loss.dtype))
        return loss
