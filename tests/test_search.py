"""Greedy and beam search on hand-made step functions (transition tables as log-probs)."""

import itertools

import numpy as np
import pytest

from seqtasks.decoding.search import beam_search, greedy_decode, length_normalizer
from seqtasks.errors import ConfigError

PAD, BOS, EOS, A, B, C, D = range(7)


def table_step(table, calls=None):
    """A step function whose next-token log-probs depend on the previous token only."""

    def step(tokens, states, context):
        if calls is not None:
            calls.append(len(tokens))
        return table[tokens], states

    return step


def second_order_step(table):
    """Log-probs ``table[before, previous]``: the token before the previous one is carried
    as the state, so a search that reorders beams but not their states goes wrong."""

    def step(tokens, states, context):
        (before,) = states
        return table[before, tokens], [np.asarray(tokens).copy()]

    return step


def log_table(rows, vocab=7):
    probs = np.zeros((vocab, vocab))
    for token, row in rows.items():
        for nxt, p in row.items():
            probs[token, nxt] = p
    with np.errstate(divide="ignore"):
        return np.log(probs)


# bos -> a (0.6) or b (0.4); a -> c or d (0.5 each) -> eos; b -> eos (0.9).
# Greedy takes a then c: p = 0.3. The best sequence is [b]: p = 0.36.
TRAP = log_table({
    BOS: {A: 0.6, B: 0.4},
    A: {C: 0.5, D: 0.5},
    B: {EOS: 0.9, A: 0.1},
    C: {EOS: 1.0},
    D: {EOS: 1.0},
    EOS: {EOS: 1.0},
})


def start(n):
    return [np.zeros(n)]  # a dummy state, for the batch size


def test_beam_finds_the_sequence_greedy_misses():
    greedy, greedy_scores = greedy_decode(table_step(TRAP), start(1), BOS, EOS, max_length=5)
    beam, beam_scores = beam_search(table_step(TRAP), start(1), BOS, EOS, beam_size=2,
                                    max_length=5)
    assert greedy == [[A, C]]
    assert greedy_scores[0] == pytest.approx(np.log(0.3))
    assert beam == [[B]]
    assert beam_scores[0] == pytest.approx(np.log(0.36))


def random_table(rng, vocab=7, eos_bias=0.0):
    """Second-order log-probs ``table[before, previous, next]``; never pad or bos."""
    logits = rng.normal(size=(vocab, vocab, vocab)) * 2.0
    logits[..., EOS] += eos_bias
    logits[..., PAD] = -np.inf
    logits[..., BOS] = -np.inf
    return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))


def true_score(table, before, sequence, max_length):
    """The log-probability of `sequence` (plus eos, unless cut at max_length)."""
    ended = len(sequence) < max_length
    history = [before, BOS, *sequence, *([EOS] if ended else [])]
    return sum(table[history[i], history[i + 1], history[i + 2]]
               for i in range(len(history) - 2))


def best_by_enumeration(table, before, max_length, length_penalty=0.0):
    """The best hypothesis by trying every sequence (ending in eos, or cut at max_length)."""
    tokens = [t for t in range(table.shape[-1]) if t not in (PAD, BOS)]
    best, best_score = None, -np.inf
    for length in range(1, max_length + 1):
        for sequence in itertools.product(tokens, repeat=length):
            if EOS in sequence[:-1]:
                continue
            ended = sequence[-1] == EOS
            if length < max_length and not ended:
                continue
            history = [before, BOS, *sequence]
            score = sum(table[history[i], history[i + 1], history[i + 2]]
                        for i in range(length))
            score /= length_normalizer(length, length_penalty)
            if score > best_score:
                best, best_score = list(sequence[:-1] if ended else sequence), score
    return best, best_score


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_a_wide_beam_finds_the_best_sequence(length_penalty):
    rng = np.random.default_rng(0)
    for _ in range(4):
        table = random_table(rng, eos_bias=-2.0)
        before = np.array([A, C])
        # 4**4 beams hold every prefix of up to 4 of the 4 real tokens: the search is exhaustive.
        found, scores = beam_search(second_order_step(table), [before], BOS, EOS,
                                    beam_size=256, max_length=4, length_penalty=length_penalty)
        for i in range(len(before)):
            best, best_score = best_by_enumeration(table, before[i], 4, length_penalty)
            assert found[i] == best
            assert scores[i] == pytest.approx(best_score)


def test_a_small_beam_is_at_least_as_good_as_greedy_on_average():
    rng = np.random.default_rng(3)
    before = rng.choice([A, B, C, D], size=50)
    gains = []
    for _ in range(3):
        table = random_table(rng, eos_bias=-3.0)
        found, greedy = greedy_decode(second_order_step(table), [before], BOS, EOS,
                                      max_length=6)
        for i in range(len(before)):
            assert greedy[i] == pytest.approx(true_score(table, before[i], found[i], 6))
        found, beam = beam_search(second_order_step(table), [before], BOS, EOS, beam_size=3,
                                  max_length=6)
        # The scores are those of the sequences returned (so states followed their beams).
        for i in range(len(before)):
            assert beam[i] == pytest.approx(true_score(table, before[i], found[i], 6))
        assert max(len(f) for f in found) >= 4
        gains.append(np.mean(beam) - np.mean(greedy))
    assert min(gains) >= 0 and sum(gains) > 0.05


def test_beam_size_one_is_greedy():
    rng = np.random.default_rng(1)
    for _ in range(10):
        table = random_table(rng)
        before = rng.choice([A, B, C, D], size=8)
        greedy = greedy_decode(second_order_step(table), [before], BOS, EOS, max_length=7)
        beam = beam_search(second_order_step(table), [before], BOS, EOS, beam_size=1,
                           max_length=7)
        assert beam[0] == greedy[0]
        np.testing.assert_allclose(beam[1], greedy[1])


def test_sentences_of_a_batch_do_not_interact():
    rng = np.random.default_rng(2)
    table = random_table(rng, eos_bias=1.0)
    before = np.array([A, B, C, D, A])
    together = beam_search(second_order_step(table), [before], BOS, EOS, beam_size=3,
                           max_length=6)
    alone = [beam_search(second_order_step(table), [before[i:i + 1]], BOS, EOS, beam_size=3,
                         max_length=6) for i in range(len(before))]
    assert together[0] == [a[0][0] for a in alone]
    np.testing.assert_allclose(together[1], [a[1][0] for a in alone])


def test_eos_ends_a_sentence_and_is_not_output():
    # Sentence 0 reads a then eos; sentence 1 repeats b forever. The context says which.
    ends = log_table({BOS: {A: 1.0}, A: {EOS: 1.0}, EOS: {EOS: 1.0}})
    loops = log_table({BOS: {B: 1.0}, B: {B: 1.0}})

    def step(tokens, states, context):
        (which,) = context
        return np.where(which[:, None] == 0, ends[tokens], loops[tokens]), states

    context = [np.array([0, 1])]
    greedy, scores = greedy_decode(step, [], BOS, EOS, max_length=4, context=context)
    assert greedy == [[A], [B, B, B, B]]
    assert scores == [0.0, 0.0]
    beam, scores = beam_search(step, [], BOS, EOS, beam_size=2, max_length=4, context=context)
    assert beam == [[A], [B, B, B, B]]  # cut at max_length: the live beam is the answer
    assert scores == [0.0, 0.0]


def test_one_step_call_per_position_for_the_whole_batch():
    calls = []
    table = log_table({BOS: {A: 1.0}, A: {B: 1.0}, B: {EOS: 1.0}, EOS: {EOS: 1.0}})
    greedy, _ = greedy_decode(table_step(table, calls), start(3), BOS, EOS, max_length=10)
    assert greedy == [[A, B]] * 3
    assert calls == [3, 3, 3]  # a, b, eos: then every sentence is finished

    calls.clear()
    beam, _ = beam_search(table_step(table, calls), start(3), BOS, EOS, beam_size=4,
                          max_length=10)
    assert beam == [[A, B]] * 3
    assert calls == [12, 12, 12]  # 3 sentences x 4 beams per call; stops once all are done


def test_context_is_repeated_per_beam_and_read_by_row():
    # The context says which token each sentence repeats; eos after two of them.
    def step(tokens, states, context):
        (count,) = states
        (wanted,) = context
        log_probs = np.full((len(tokens), 7), -10.0)
        log_probs[np.arange(len(tokens)), np.where(count >= 2, EOS, wanted)] = 0.0
        return log_probs, [count + 1]

    wanted = np.array([C, D])
    found, _ = beam_search(step, [np.zeros(2)], BOS, EOS, beam_size=3, max_length=5,
                           context=[wanted])
    assert found == [[C, C], [D, D]]
    found, _ = greedy_decode(step, [np.zeros(2)], BOS, EOS, max_length=5, context=[wanted])
    assert found == [[C, C], [D, D]]


def test_length_penalty_prefers_longer_hypotheses():
    # [a] has p = 0.5 (2 tokens with eos), [b, c] has p = 0.45 (3 tokens).
    table = log_table({BOS: {A: 0.5, B: 0.45, C: 0.05}, A: {EOS: 1.0}, B: {C: 1.0},
                       C: {EOS: 1.0}, EOS: {EOS: 1.0}})
    short, scores = beam_search(table_step(table), start(1), BOS, EOS, beam_size=2,
                                max_length=4)
    long, long_scores = beam_search(table_step(table), start(1), BOS, EOS, beam_size=2,
                                    max_length=4, length_penalty=2.0)
    assert short == [[A]] and scores[0] == pytest.approx(np.log(0.5))
    assert long == [[B, C]]
    assert long_scores[0] == pytest.approx(np.log(0.45) / (8 / 6) ** 2)


def test_bad_arguments():
    with pytest.raises(ConfigError):
        beam_search(table_step(TRAP), start(1), BOS, EOS, beam_size=0, max_length=3)
    with pytest.raises(ConfigError):
        greedy_decode(lambda t, s, c: (TRAP[t], s), [], BOS, EOS, max_length=3)
