"""Greedy and beam-search decoding over any incremental step function.

Both searches are incremental: they call the step function once per output position
for the whole batch (greedy) or the whole batch of beams (beam search), feeding only
the newest token and the carried states, never the prefix again. A step function is

    step_fn(tokens, states, context) -> (log_probs, new_states)

- `tokens`: int array ``(N,)``, the previous token of each row (``bos_id`` at first).
- `states`: a list of arrays with ``N`` rows (a recurrent decoder's h and c, ...). Beam
  search reorders their rows when beams are re-ranked.
- `context`: a list of arrays with ``N`` rows that never change while decoding (an
  encoder's outputs and the source mask). Beam search repeats each sentence's rows
  `beam_size` times once, and never reorders them (beams only move within a sentence).
- `log_probs`: float array ``(N, V)`` of next-token log-probabilities.

Example: a Markov chain as a step function (the state is ignored).

>>> import numpy as np
>>> table = np.log(np.array([[.1, .1, .8], [.1, .1, .8], [.1, .6, .3]]))  # token 1 = eos
>>> step = lambda tokens, states, context: (table[tokens], states)
>>> greedy_decode(step, [], bos_id=0, eos_id=1, max_length=5, batch_size=1)[0]
[[2]]
"""

import numpy as np

from seqtasks.errors import ConfigError
from seqtasks.validation import positive_int


def _rows(arrays, index):
    return [np.asarray(a)[index] for a in arrays]


def _batch_size(states, context, batch_size):
    for array in (*states, *context):
        return len(array)
    if batch_size is None:
        raise ConfigError("pass batch_size when there are no states or context arrays")
    return batch_size


def greedy_decode(step_fn, states, bos_id, eos_id, max_length, context=(), batch_size=None):
    """Picks the most probable token at every step, for a batch of sentences at once.

    Args:
        step_fn: see the module docstring.
        states: the initial states, a list of arrays with one row per sentence.
        bos_id: the token fed at the first step.
        eos_id: the token that ends a sentence (not included in the outputs).
        max_length: the most tokens to generate per sentence (eos included).
        context: arrays with one row per sentence that the step function reads.
        batch_size: the number of sentences; needed only when states and context are empty.

    Returns:
        ``(sequences, scores)``: one list of token ids per sentence, without eos, and the
        sum of the chosen tokens' log-probabilities (eos included) per sentence.
    """
    n = _batch_size(states, context, batch_size)
    states, context = list(states), list(context)
    tokens = np.full(n, bos_id, dtype="int32")
    scores = np.zeros(n, dtype="float64")
    finished = np.zeros(n, dtype=bool)
    outputs = [[] for _ in range(n)]
    for _ in range(max_length):
        log_probs, states = step_fn(tokens, states, context)
        log_probs = np.asarray(log_probs)
        tokens = log_probs.argmax(axis=-1).astype("int32")
        chosen = log_probs[np.arange(n), tokens]
        scores = np.where(finished, scores, scores + chosen)
        for i in np.flatnonzero(~finished & (tokens != eos_id)):
            outputs[i].append(int(tokens[i]))
        finished |= tokens == eos_id
        if finished.all():
            break
    return outputs, scores.tolist()


def length_normalizer(length, length_penalty):
    """GNMT's length penalty ``((5 + length) / 6) ** length_penalty`` (1 when it is 0)."""
    return ((5.0 + np.asarray(length, dtype="float64")) / 6.0) ** length_penalty


def beam_search(
    step_fn,
    states,
    bos_id,
    eos_id,
    beam_size,
    max_length,
    length_penalty=0.0,
    context=(),
    batch_size=None,
):
    """Keeps the `beam_size` best prefixes of every sentence at each step.

    Each step scores all ``beam_size * V`` one-token extensions of a sentence's beams
    and takes the best ``2 * beam_size``. An extension by eos that ranks among the first
    `beam_size` completes a hypothesis; the best `beam_size` other extensions form the
    next beams. (So ``beam_size=1`` is exactly greedy decoding.) A sentence is done when
    no live beam can still beat its best complete hypothesis; the search stops when all
    sentences are done or after `max_length` steps, when live beams count as complete.

    Hypotheses are ranked by ``sum of log-probs / length_normalizer(length,
    length_penalty)``, the length counting eos; ``length_penalty > 0`` favours longer
    outputs (0.6-1.0 is usual), 0 ranks by probability alone.

    Args:
        step_fn, states, bos_id, eos_id, max_length, context, batch_size: as in
            `greedy_decode`, with one row per sentence.
        beam_size: beams per sentence.
        length_penalty: the exponent of the length normalizer.

    Returns:
        ``(sequences, scores)``: the best hypothesis of every sentence (token ids without
        eos) and its length-normalized score.
    """
    beam_size = positive_int("beam_size", beam_size)
    b, k = _batch_size(states, context, batch_size), beam_size
    # Every sentence's rows are repeated `k` times: row i * k + j is beam j of sentence i.
    states = [np.repeat(np.asarray(s), k, axis=0) for s in states]
    context = [np.repeat(np.asarray(c), k, axis=0) for c in context]
    tokens = np.full(b * k, bos_id, dtype="int32")
    # Only beam 0 is live at first, so the first step does not pick k copies of one token.
    scores = np.full((b, k), -np.inf)
    scores[:, 0] = 0.0
    prefixes = np.zeros((b, k, 0), dtype="int32")
    best_score = np.full(b, -np.inf)
    best = [[] for _ in range(b)]
    done = np.zeros(b, dtype=bool)
    sentence = np.arange(b)[:, None]
    for t in range(1, max_length + 1):
        log_probs, states = step_fn(tokens, states, context)
        log_probs = np.asarray(log_probs, dtype="float64")
        vocab = log_probs.shape[-1]
        candidates = (scores[:, :, None] + log_probs.reshape(b, k, vocab)).reshape(b, k * vocab)
        m = min(2 * k, k * vocab)
        top = np.argpartition(-candidates, m - 1, axis=1)[:, :m]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(candidates, top, 1), 1), 1)
        top_scores = np.take_along_axis(candidates, top, 1)
        top_beams, top_tokens = top // vocab, top % vocab
        is_eos = top_tokens == eos_id

        # Completed hypotheses: eos among the first k candidates of a sentence not done.
        normalized = top_scores / length_normalizer(t, length_penalty)
        complete = is_eos & (np.arange(m) < k) & np.isfinite(top_scores) & ~done[:, None]
        for i, j in zip(*np.nonzero(complete)):
            if normalized[i, j] > best_score[i]:
                best_score[i] = normalized[i, j]
                best[i] = prefixes[i, top_beams[i, j]].tolist()

        # Live beams: the k best candidates that are not eos (a stable sort keeps the order).
        live = np.argsort(is_eos, axis=1, kind="stable")[:, :k]
        beams = np.take_along_axis(top_beams, live, 1)
        scores = np.take_along_axis(top_scores, live, 1)
        tokens = np.take_along_axis(top_tokens, live, 1)
        prefixes = np.concatenate([prefixes[sentence, beams], tokens[:, :, None]], axis=2)
        tokens = tokens.reshape(-1).astype("int32")
        order = (sentence * k + beams).reshape(-1)
        states = _rows(states, order)

        # Scores only fall as beams grow, so a live beam's score divided by the largest
        # normalizer still to come bounds what it can reach.
        bound = scores.max(axis=1) / length_normalizer(max_length, max(length_penalty, 0.0))
        if length_penalty < 0:
            bound = scores.max(axis=1) / length_normalizer(t + 1, length_penalty)
        done |= np.isfinite(best_score) & (best_score >= bound)
        if done.all():
            break
    else:
        # Out of steps: the live beams count as complete hypotheses (without eos).
        normalized = scores / length_normalizer(max_length, length_penalty)
        for i in np.flatnonzero(~done):
            j = int(np.argmax(normalized[i]))
            if normalized[i, j] > best_score[i]:
                best_score[i] = normalized[i, j]
                best[i] = prefixes[i, j].tolist()
    return best, best_score.tolist()
