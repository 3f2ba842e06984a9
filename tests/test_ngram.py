"""The add-k n-gram language model."""

import math
import random
import time

import pytest

from seqtasks.errors import ConfigError, DataError
from seqtasks.analysis.ngram import UNK, NGramLanguageModel
from seqtasks.data.synthetic import pydoc_text

TINY = "a b a b c".split()  # bigrams: a b (2), b a (1), b c (1); |V| = 4 with <unk>


def prob(model, token, context=()):
    return math.exp(model.log_prob(token, context))


def test_add_one_bigram_probabilities_by_hand():
    model = NGramLanguageModel(order=2, k=1.0).fit(TINY)
    assert model.vocabulary == {"a", "b", "c", UNK}
    assert prob(model, "b", ["a"]) == pytest.approx((2 + 1) / (2 + 4))
    assert prob(model, "c", ["a"]) == pytest.approx(1 / 6)
    assert prob(model, "a", ["b"]) == pytest.approx((1 + 1) / (2 + 4))
    assert prob(model, "a", ["c"]) == pytest.approx(1 / 4)  # c is never a context
    assert prob(model, "a") == pytest.approx((2 + 1) / (5 + 4))  # start: unigram
    assert prob(model, "zebra", ["a"]) == pytest.approx(1 / 6)  # read as <unk>


def test_add_k_probabilities_by_hand():
    model = NGramLanguageModel(order=2, k=0.5).fit(TINY)
    assert prob(model, "b", ["a"]) == pytest.approx((2 + 0.5) / (2 + 0.5 * 4))
    assert prob(model, "c", ["x", "b"]) == pytest.approx((1 + 0.5) / (2 + 0.5 * 4))


@pytest.mark.parametrize("order, k", [(1, 1.0), (2, 0.1), (3, 1.0), (4, 0.01)])
@pytest.mark.parametrize("context", [(), ("t",), ("t", "h"), ("q", "z", "x"), ("e", " ", "t")])
def test_probabilities_sum_to_one_over_the_vocabulary(order, k, context):
    model = NGramLanguageModel(order=order, k=k).fit("the theme then thaws there")
    total = sum(prob(model, token, context) for token in model.vocabulary)
    assert total == pytest.approx(1.0)


def test_only_the_last_order_minus_one_tokens_matter():
    model = NGramLanguageModel(order=3).fit("abracadabra")
    assert model.log_prob("d", "xyzca") == model.log_prob("d", "ca")
    assert math.exp(model.log_prob("d", "ca")) == pytest.approx((1 + 1) / (1 + 6))
    assert math.exp(model.log_prob("d", "a")) == pytest.approx((1 + 1) / (4 + 6))


def test_the_start_of_a_stream_backs_off_to_shorter_contexts():
    model = NGramLanguageModel(order=3).fit("abracadabra")
    expected = -(model.log_prob("a") + model.log_prob("b", "a") + model.log_prob("r", "ab"))
    assert model.cross_entropy("abr") == pytest.approx(expected / 3)


def test_training_text_is_more_likely_than_shuffled_text():
    text = pydoc_text()[:20_000]
    shuffled = random.Random(0).sample(text, len(text))
    model = NGramLanguageModel(order=3, k=0.1).fit(text)
    assert model.perplexity(text) < 0.5 * model.perplexity(shuffled)
    assert model.cross_entropy(text) == pytest.approx(math.log(model.perplexity(text)))


def test_held_out_text_is_better_predicted_with_more_context():
    text = pydoc_text()
    train, held_out = text[:200_000], text[-20_000:]
    unigram = NGramLanguageModel(order=1, k=0.1).fit(train).cross_entropy(held_out)
    trigram = NGramLanguageModel(order=3, k=0.1).fit(train).cross_entropy(held_out)
    assert trigram < unigram - 0.5


def test_fits_a_million_characters_at_order_5_quickly():
    stream = (pydoc_text() * 3)[:1_000_000]
    start = time.perf_counter()
    model = NGramLanguageModel(order=5, k=0.01).fit(stream)
    assert time.perf_counter() - start < 30
    assert model.cross_entropy(stream[:10_000]) < 1.5


@pytest.mark.parametrize("options, message", [
    ({"order": 0}, "order must be"), ({"k": 0}, "k must be positive")])
def test_rejects_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        NGramLanguageModel(**options)


def test_rejects_empty_streams_and_use_before_fit():
    with pytest.raises(RuntimeError, match="fit"):
        NGramLanguageModel().log_prob("a")
    with pytest.raises(DataError, match="empty"):
        NGramLanguageModel().fit([])
    with pytest.raises(DataError, match="empty"):
        NGramLanguageModel().fit("abc").cross_entropy("")
