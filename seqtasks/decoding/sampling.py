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

import json
from pathlib import Path

import keras
import numpy as np

from seqtasks.errors import ConfigError, DataError
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


def _zero_states(step_model, batch_size):
    if not hasattr(step_model, "inputs"):
        raise ConfigError("pass initial_states: the step model is not a Keras model")
    return [np.zeros((batch_size, int(t.shape[-1])), "float32") for t in step_model.inputs[1:]]


def generate(step_model, prompt_ids, length, temperature=1.0, top_k=None, seed=None,
             initial_states=None, exclude_ids=()):
    """Generates `length` token ids after `prompt_ids`, one step-model call per new token.

    Args:
        step_model: a Keras model ``[tokens (1, time), *states] -> [probs (1, vocab),
            *new_states]``, such as `seqtasks.models.language_model.step_model_from(model)`
            (run with `predict_on_batch`), or any callable with that signature.
        prompt_ids: the prompt's token ids (at least one).
        length: the number of new tokens.
        temperature, top_k: see `sample_next`.
        seed: the sampling seed (the same seed gives the same text).
        initial_states: the states before the prompt (default: zeros; for a conditioned
            model, `initial_states_from(model, condition=...)`).
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
    states = list(initial_states) if initial_states is not None else _zero_states(step_model, 1)
    exclude = [int(i) for i in exclude_ids if i is not None]
    generated = []
    tokens = prompt
    # A Keras model runs compiled (`predict_on_batch`); any other callable is called.
    call = getattr(step_model, "predict_on_batch", step_model)
    while len(generated) < length:
        probs, *states = call([tokens, *(keras.ops.convert_to_numpy(s) for s in states)])
        probs = np.array(probs[0], dtype="float64")
        probs[exclude] = 0.0
        next_id = sample_next(probs, temperature, top_k, rng)
        generated.append(next_id)
        tokens = np.array([[next_id]], dtype="int32")
    return generated


def load_run(run_dir):
    """Loads ``(model, tokenizer, vocabulary)`` from a generation run folder."""
    from seqtasks.data.text import Vocabulary, tokenizer_from_config

    run_dir = Path(run_dir)
    model_path = run_dir / "model.keras"
    if not model_path.is_file():
        raise DataError("no model.keras in the run folder", path=run_dir)
    tokenizer_path = run_dir / "tokenizer.json"
    try:
        tokenizer = tokenizer_from_config(json.loads(tokenizer_path.read_text("utf-8")))
    except FileNotFoundError:
        raise DataError("file not found", path=tokenizer_path) from None
    except (json.JSONDecodeError, AttributeError, TypeError, KeyError) as err:
        raise DataError(f"not a tokenizer config ({err})", path=tokenizer_path) from None
    vocabulary = Vocabulary.load(run_dir / "vocab.json")
    model = keras.saving.load_model(model_path, safe_mode=True)
    return model, tokenizer, vocabulary


def generate_from_run(run_dir, prompt, length=200, temperature=1.0, top_k=None, seed=None):
    """Continues the text `prompt` with a saved generation run; returns the new text only.

    Loads ``model.keras``, ``tokenizer.json`` and ``vocab.json`` from `run_dir` (as the
    `generation` recipe writes them), rebuilds the step model from the loaded layers and
    samples `length` tokens (see `generate`), never padding or ``<unk>``. Characters of
    the prompt that the vocabulary lacks are read as ``<unk>``. An unconditioned model only.

    Example (after ``seqtasks run generation --out runs/generation``):

    >>> print(generate_from_run("runs/generation", "def ", length=40, seed=1))  # doctest: +SKIP
    """
    from seqtasks.models.language_model import step_model_from

    model, tokenizer, vocabulary = load_run(run_dir)
    prompt_ids = vocabulary.encode(tokenizer.tokenize(prompt))
    if not prompt_ids:
        raise ConfigError("the prompt is empty: give at least one character")
    ids = generate(step_model_from(model), prompt_ids, length, temperature, top_k, seed,
                   exclude_ids=(vocabulary.pad_id, vocabulary.unk_id))
    return tokenizer.detokenize(vocabulary.decode(ids))
