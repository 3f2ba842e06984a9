"""n-gram tables, Zipf fits and the Zipf plot."""

import numpy as np
import pytest

from seqtasks.analysis.corpus import ZipfFit, ngram_table, plot_zipf, zipf_fit, zipf_summary
from seqtasks.errors import ConfigError, DataError

TOKENS = "the cat sat on the mat and the dog sat on the cat".split()


def zipfian_tokens(alpha, types=100, top_count=10_000):
    """Tokens whose counts follow `top_count * rank ** -alpha` (rounded)."""
    return [f"w{rank}" for rank in range(1, types + 1)
            for _ in range(round(top_count * rank ** -alpha))]


def test_ngram_table_counts_and_sorts():
    table = ngram_table(TOKENS, 1)
    assert list(table.columns) == ["ngram", "count", "rank"]
    assert table.head(4).values.tolist() == [
        ["the", 4, 1], ["cat", 2, 2], ["on", 2, 3], ["sat", 2, 4]]  # ties by ngram
    assert table["count"].sum() == len(TOKENS)
    assert table["rank"].tolist() == list(range(1, len(table) + 1))


def test_ngram_table_joins_higher_orders_with_spaces():
    table = ngram_table(iter(TOKENS), 2)
    assert table.iloc[0].tolist() == ["on the", 2, 1]
    assert table["count"].sum() == len(TOKENS) - 1
    assert "the cat" in set(table["ngram"])
    assert ngram_table(TOKENS[:2], 3).empty


def test_ngram_table_rejects_order_zero():
    with pytest.raises(ConfigError, match="n must be"):
        ngram_table(TOKENS, 0)


@pytest.mark.parametrize("alpha", [0.8, 1.0, 1.5])
def test_zipf_fit_recovers_the_exponent(alpha):
    fit = zipf_fit(ngram_table(zipfian_tokens(alpha), 1))
    assert isinstance(fit, ZipfFit)
    assert fit.alpha == pytest.approx(alpha, abs=0.03)
    assert fit.intercept == pytest.approx(np.log(10_000), abs=0.1)


def test_zipf_fit_on_a_random_sample():
    rng = np.random.default_rng(0)
    ranks = np.arange(1, 1001)
    sample = rng.choice(ranks, size=200_000, p=ranks ** -1.0 / np.sum(ranks ** -1.0))
    table = ngram_table([f"w{r}" for r in sample], 1)
    assert zipf_fit(table.head(200)).alpha == pytest.approx(1.0, abs=0.1)


def test_zipf_fit_needs_two_ngrams():
    with pytest.raises(DataError, match="at least 2"):
        zipf_fit(ngram_table(["a", "a"], 1))


def test_zipf_summary_has_a_row_per_order():
    summary = zipf_summary(TOKENS, orders=(1, 2, 3))
    assert list(summary.columns) == ["order", "types", "tokens", "alpha"]
    assert summary["order"].tolist() == [1, 2, 3]
    assert summary["types"].tolist() == [7, 9, 10]
    assert summary["tokens"].tolist() == [13, 12, 11]
    assert summary["alpha"].iloc[0] == pytest.approx(zipf_fit(ngram_table(TOKENS, 1)).alpha)


def test_plot_zipf_writes_a_png(tmp_path):
    path = plot_zipf(zipfian_tokens(1.0, types=50, top_count=500), tmp_path / "zipf.png")
    assert path == tmp_path / "zipf.png"
    data = path.read_bytes()
    assert len(data) > 1000
    assert data.startswith(b"\x89PNG")
