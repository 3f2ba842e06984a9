"""Sampling from a language model: temperature, top-k, and incremental generation.

`generate` never re-reads the text it has produced: it runs the prompt through the step
model once, then makes exactly one step-model call per new token, feeding only that
token and the recurrent states the previous call returned. Its cost is linear in the
length (a model that re-read the prefix at every step would be quadratic).

Example:

>>> import numpy as np
>>> sample_next(np.array([0.1, 0.7, 0.2]), temperature=0.0)  # temperature 0: greedy
1
>>> sample_next(np.array([0.1, 0.7, 0.2]), top_k=1, rng=np.random.default_rng(0))
1
"""

import numpy as np

from seqtasks.errors import ConfigError
from seqtasks.validation import non_negative_int, non_negative_number


def sample_next(probs_or_logits, temperature=1.0, top_k=None, rng=None, from_logits=False):
    """Draws the next token id(s) from a distribution.

    Args:
        probs_or_logits: probabilities (``from_logits=False``) or logits, shape (vocab,)
            or (batch, vocab).
        temperature: divides the logits (log-probabilities); < 1 sharpens, > 1 flattens,
            0 means greedy (the arg-max).
        top_k: keep only the `top_k` most likely tokens (None or 0: all).
        rng: a `numpy.random.Generator` (a fresh unseeded one by default).
        from_logits: whether the input is logits rather than probabilities.

    Returns:
        An int for a (vocab,) input, or an int array (batch,) for a (batch, vocab) input.
    """
    temperature = non_negative_number("temperature", temperature)
    if top_k is not None:
        top_k = non_negative_int("top_k", top_k)
    values = np.asarray(probs_or_logits, dtype="float64")
    single = values.ndim == 1
    values = np.atleast_2d(values)
    with np.errstate(divide="ignore"):
        logits = values if from_logits else np.log(values)
    if temperature == 0:
        choice = logits.argmax(axis=-1)
        return int(choice[0]) if single else choice
    logits = logits / temperature
    if top_k and top_k < logits.shape[-1]:
        kth = np.sort(logits, axis=-1)[:, -top_k][:, None]
        logits = np.where(logits >= kth, logits, -np.inf)
    logits = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=-1, keepdims=True)
    rng = rng if rng is not None else np.random.default_rng()
    # Inverse-CDF sampling, one uniform number per row.
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random((len(probs), 1)) * cdf[:, -1:]
    choice = np.minimum((cdf <= u).sum(axis=-1), probs.shape[-1] - 1)
    return int(choice[0]) if single else choice


def generate(step_model, prompt_ids, length, temperature=1.0, top_k=None, seed=None,
             exclude_ids=()):
    """Generates `length` token ids after `prompt_ids`, one step-model call per new token.

    Args:
        step_model: a Keras model ``[tokens (1, time), *states] -> [probs (1, vocab),
            *new_states]``, such as `seqtasks.models.language_model.step_model_from(model)`
            (run with `predict_on_batch`); the states start at zero.
        prompt_ids: the prompt's token ids (at least one).
        length: the number of new tokens.
        temperature, top_k: see `sample_next`.
        seed: the sampling seed (the same seed gives the same text).
        exclude_ids: ids never to generate (e.g. padding and ``<unk>``).

    Returns:
        The list of `length` new ids (the prompt is not included).

    The prompt is read in one call (time = len(prompt)); every later call reads one token
    and the states, so the call for the n-th token costs the same as for the first.
    """
    prompt = np.asarray(prompt_ids, dtype="int32").reshape(1, -1)
    if prompt.shape[1] == 0:
        raise ConfigError("the prompt must have at least one token")
    length = non_negative_int("length", length)
    rng = np.random.default_rng(seed)
    states = [np.zeros((1, int(t.shape[-1])), "float32") for t in step_model.inputs[1:]]
    exclude = [int(i) for i in exclude_ids if i is not None]
    generated = []
    tokens = prompt
    while len(generated) < length:
        probs, *states = step_model.predict_on_batch([tokens, *states])
        probs = np.array(probs[0], dtype="float64")
        probs[exclude] = 0.0
        next_id = sample_next(probs, temperature, top_k, rng)
        generated.append(next_id)
        tokens = np.array([[next_id]], dtype="int32")
    return generated
