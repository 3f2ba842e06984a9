"""An add-k smoothed n-gram language model: the count baseline for language modelling.

Example:

>>> import math
>>> model = NGramLanguageModel(order=2, k=1.0).fit("a b a b c".split())
>>> round(math.exp(model.log_prob("b", context=["a"])), 3)  # (2 + 1) / (2 + 1 * 4)
0.5
>>> model.perplexity("a b a b".split()) < model.perplexity("c c a c".split())
True
"""

import math
from collections import Counter

from seqtasks.errors import ConfigError, DataError

UNK = "<unk>"


class NGramLanguageModel:
    """An n-gram model with add-k smoothing over a vocabulary fixed at fit time.

    `P(w | h) = (c(h, w) + k) / (c(h) + k * |V|)`, where `h` is the last `order - 1`
    tokens, `c(h, w)` counts the n-gram in the training stream and `c(h)` is the sum of
    `c(h, w)` over `w`, so the probabilities of a context sum to 1 over the vocabulary.

    Unknown tokens: the vocabulary `V` is every token of the training stream plus `<unk>`;
    a token not seen in training (in the context or as the next token) is read as `<unk>`,
    which has no counts and so gets the smoothing share `k / (c(h) + k * |V|)`.

    Start of a stream: where fewer than `order - 1` tokens precede a token, the model uses
    the shorter context there is (down to none, the unigram distribution); the counts of
    every shorter order are taken over the whole training stream.

    Args:
        order: n, the length of the n-grams (1 for a unigram model).
        k: the pseudo-count added to every n-gram, > 0.

    Example:

    >>> model = NGramLanguageModel(order=3).fit("abracadabra")
    >>> round(model.cross_entropy("abra"), 3)  # nats per character
    1.052
    """

    def __init__(self, order=3, k=1.0):
        if order < 1:
            raise ConfigError(f"order must be at least 1, got {order}")
        if not k > 0:
            raise ConfigError(f"k must be positive, got {k}")
        self.order = order
        self.k = k
        self.vocabulary = None

    def fit(self, token_stream):
        """Counts the n-grams of every order up to `order` in `token_stream`; returns self."""
        tokens = list(token_stream)
        if not tokens:
            raise DataError("cannot fit a language model to an empty token stream")
        self.vocabulary = frozenset(tokens) | {UNK}
        # _counts[n][gram] counts the (n + 1)-grams; _context_counts[n][h] sums them over w.
        self._counts = []
        self._context_counts = []
        for n in range(1, self.order + 1):
            grams = Counter(zip(*(tokens[i:] for i in range(n))))
            contexts = Counter()
            for gram, count in grams.items():
                contexts[gram[:-1]] += count
            self._counts.append(grams)
            self._context_counts.append(contexts)
        return self

    def log_prob(self, next_token, context=()):
        """The natural log of `P(next_token | context)`; only the last `order - 1` tokens
        of `context` are used."""
        return self._log_prob(self._known(next_token), tuple(map(self._known, context)))

    def cross_entropy(self, token_stream):
        """The mean negative log-probability of the tokens, in nats per token."""
        tokens = [self._known(token) for token in token_stream]
        if not tokens:
            raise DataError("cannot score an empty token stream")
        total = 0.0
        for i, token in enumerate(tokens):
            total -= self._log_prob(token, tuple(tokens[max(0, i - self.order + 1):i]))
        return total / len(tokens)

    def perplexity(self, token_stream):
        """`exp(cross_entropy)`: the effective number of equally likely next tokens."""
        return math.exp(self.cross_entropy(token_stream))

    def _known(self, token):
        if self.vocabulary is None:
            raise RuntimeError("the model is not fitted yet: call fit() first")
        return token if token in self.vocabulary else UNK

    def _log_prob(self, token, context):
        context = context[max(0, len(context) - self.order + 1):]
        n = len(context)
        count = self._counts[n][context + (token,)]
        total = self._context_counts[n][context]
        return math.log((count + self.k) / (total + self.k * len(self.vocabulary)))


SMOOTHING_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def best_smoothing(tokens, order, grid=SMOOTHING_GRID):
    """The add-k pseudo-count of `grid` that predicts the last tenth of `tokens` best from
    a model of `order` fitted on the rest.

    Example:

    >>> best_smoothing(list("abracadabra" * 20), order=3)
    0.001
    """
    tokens = list(tokens)
    cut = int(0.9 * len(tokens))
    model = NGramLanguageModel(order).fit(tokens[:cut])
    scores = {}
    for k in grid:
        model.k = k  # the counts do not depend on k
        scores[k] = model.cross_entropy(tokens[cut:])
    return min(scores, key=scores.get)
