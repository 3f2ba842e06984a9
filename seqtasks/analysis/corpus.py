"""Corpus statistics: n-gram frequency tables and Zipf's law.

Zipf's law says that the count of the r-th most frequent n-gram falls off like
`r ** -alpha`, with alpha near 1 for the words of natural language. The functions take
any sequence of tokens (words, characters, ...), so they do not depend on a tokenizer.

Example:

>>> tokens = "the cat sat on the mat and the dog sat too".split()
>>> ngram_table(tokens, 1).head(2).to_dict("records")
[{'ngram': 'the', 'count': 3, 'rank': 1}, {'ngram': 'sat', 'count': 2, 'rank': 2}]
>>> round(zipf_fit(ngram_table(tokens, 1)).alpha, 2)
0.55
"""

import dataclasses
from collections import Counter

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seqtasks.errors import ConfigError, DataError


def ngram_table(tokens, n):
    """Counts the n-grams of `tokens`, most frequent first.

    Args:
        tokens: a sequence (or iterable) of string tokens.
        n: the n-gram order, 1 for single tokens.

    Returns:
        A DataFrame with columns `ngram` (the tokens joined by spaces), `count` and
        `rank` (1 for the most frequent), sorted by count descending, then by ngram.
    """
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}")
    tokens = list(tokens)
    counts = Counter(zip(*(tokens[i:] for i in range(n))))
    table = pd.DataFrame({
        "ngram": [" ".join(gram) for gram in counts],
        "count": np.fromiter(counts.values(), dtype=np.int64, count=len(counts)),
    })
    table = table.sort_values(["count", "ngram"], ascending=[False, True], ignore_index=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return table


@dataclasses.dataclass(frozen=True)
class ZipfFit:
    """A least-squares line `log(count) = intercept - alpha * log(rank)`."""

    alpha: float
    intercept: float


def zipf_fit(table):
    """Fits Zipf's law to an `ngram_table` by least squares in log-log space.

    Returns:
        A `ZipfFit`; `alpha` is the negated slope, so a Zipfian table gives alpha > 0.
    """
    if len(table) < 2:
        raise DataError(f"a Zipf fit needs at least 2 distinct n-grams, got {len(table)}")
    slope, intercept = np.polyfit(np.log(table["rank"]), np.log(table["count"]), deg=1)
    return ZipfFit(alpha=float(-slope), intercept=float(intercept))


def zipf_summary(tokens, orders=(1, 2, 3)):
    """One row per n-gram order: `order`, `types` (distinct n-grams), `tokens`, `alpha`.

    Example:

    >>> zipf_summary("a b a c a b".split(), orders=(1, 2)).to_dict("list")["types"]
    [3, 4]
    """
    tokens = list(tokens)
    rows = []
    for order in orders:
        table = ngram_table(tokens, order)
        rows.append({
            "order": order,
            "types": len(table),
            "tokens": int(table["count"].sum()),
            "alpha": zipf_fit(table).alpha,
        })
    return pd.DataFrame(rows, columns=["order", "types", "tokens", "alpha"])


def plot_zipf(tokens, path, orders=(1, 2, 3)):
    """Saves a log-log plot of count against rank, one line per n-gram order.

    The figure is drawn on an Agg canvas without pyplot (no GUI, no global state), so it
    works headless.

    Returns:
        `path`.
    """
    tokens = list(tokens)
    figure = Figure(figsize=(6, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    for order in orders:
        table = ngram_table(tokens, order)
        fit = zipf_fit(table)
        axes.loglog(table["rank"], table["count"], label=f"{order}-grams (alpha={fit.alpha:.2f})")
    axes.set_xlabel("rank")
    axes.set_ylabel("count")
    axes.set_title("Zipf plot")
    axes.legend()
    figure.savefig(path, dpi=100)
    return path


def corpus_report(tokens, held_out_fraction=0.1, orders=(1, 2, 3), lm_order=3):
    """What `seqtasks corpus FILE` prints: size, vocabulary coverage, Zipf fits, n-gram LMs.

    The last `held_out_fraction` of `tokens` is held out: the vocabulary and add-k n-gram
    models of every order up to `lm_order` (k chosen on the last tenth of the rest) are
    fitted on the rest, and the held-out part measures the vocabulary's coverage (the
    share of its tokens seen in the rest) and each model's perplexity.

    Example:

    >>> report = corpus_report(("the cat sat on the mat . " * 50).split())
    >>> report["tokens"], report["types"], report["coverage"]
    (350, 6, 1.0)
    >>> [row["order"] for row in report["ngram"]]
    [1, 2, 3]
    """
    from seqtasks.analysis.ngram import NGramLanguageModel, best_smoothing

    tokens = list(tokens)
    cut = int(len(tokens) * (1 - held_out_fraction))
    fitted, held_out = tokens[:cut], tokens[cut:]
    if len(fitted) < 2 or not held_out:
        raise DataError(f"{len(tokens)} tokens are too few to hold out a part of them")
    seen = set(fitted)
    models = []
    for order in range(1, lm_order + 1):
        k = best_smoothing(fitted, order)
        model = NGramLanguageModel(order, k=k).fit(fitted)
        models.append({"order": order, "k": k,
                       "held_out_perplexity": model.perplexity(held_out)})
    return {
        "tokens": len(tokens), "types": len(set(tokens)),
        "coverage": sum(token in seen for token in held_out) / len(held_out),
        "zipf": zipf_summary(tokens, orders).to_dict("records"), "ngram": models,
    }
