"""The feature-CRF peer of the tagging benchmark: a linear-chain CRF over word-shape features.

A classical tagger to measure the recurrent tagger against, trained in the same run by
``benchmarks/real_data.py``: sklearn-crfsuite (L-BFGS, c1 = c2 = 0.05, 150 iterations)
over hand-made features of each word (`seqtasks.data.word_features.word_features`, which
the tagging task's own feature tagger hashes): the word lower-cased, its 1-3 letter
prefixes and suffixes, its case, digits, hyphen and shape, and the lower-cased words at
-2, -1, +1 and +2. On UD English it trains in about a minute on one core
(crfsuite uses one) and scores about 0.944 UPOS accuracy on EWT test and 0.953 on
LinES test.

sklearn-crfsuite is a benchmark extra, not a dependency of the library:
``pip install -e '.[benchmark]'``. `word_features` needs nothing beyond seqtasks.

Usage (from the repository root), on a folder of CoNLL-U (or CoNLL) train/dev/test files,
found as ``seqtasks run tagging --data`` finds them; prints dev and test accuracy:

    python benchmarks/feature_crf.py ../shared/data/ud_english_ewt
    python benchmarks/feature_crf.py ../shared/data/ud_english_lines --iterations 50

From Python (sentences are ``(tokens, tags)`` pairs):

    from seqtasks.data.readers import read_tagged
    train = read_tagged("en_ewt-ud-train.conllu")
    test = read_tagged("en_ewt-ud-test.conllu")
    train_and_score(train, test)  # {'accuracy': ..., 'oov_accuracy': ..., 'oov_rate': ...,
                                  #  'seconds': ..., 'sentences': ...}
"""

import argparse
import sys
import time
from pathlib import Path

from seqtasks.data.word_features import word_features

C1 = 0.05
C2 = 0.05
ITERATIONS = 150
SUFFIXES = (".conllu", ".conll", ".txt")  # the tagging recipe's
INSTALL = "pip install -e '.[benchmark]'"


def sentence_features(tokens):
    return [word_features(tokens, i) for i in range(len(tokens))]


def crfsuite():
    """The sklearn_crfsuite module; ImportError saying how to install it."""
    try:
        import sklearn_crfsuite
    except ImportError as error:
        raise ImportError(f"the feature-CRF peer needs sklearn-crfsuite: {INSTALL}") from error
    return sklearn_crfsuite


def train(sentences, c1=C1, c2=C2, iterations=ITERATIONS):
    """A `sklearn_crfsuite.CRF` fitted on the ``(tokens, tags)`` `sentences`."""
    crf = crfsuite().CRF(algorithm="lbfgs", c1=c1, c2=c2, max_iterations=iterations,
                          all_possible_transitions=True)
    crf.fit([sentence_features(tokens) for tokens, _ in sentences],
            [list(tags) for _, tags in sentences])
    return crf


def score(crf, sentences, known_words):
    """Token accuracy of `crf` on `sentences`, the share of tokens not in `known_words`
    and the accuracy on them (None without any)."""
    predicted = crf.predict([sentence_features(tokens) for tokens, _ in sentences])
    hits, unseen = [], []
    for (tokens, gold), tags in zip(sentences, predicted):
        for token, right, guess in zip(tokens, gold, tags):
            hits.append(right == guess)
            if token not in known_words:
                unseen.append(right == guess)
    return {"accuracy": sum(hits) / len(hits), "oov_rate": len(unseen) / len(hits),
            "oov_accuracy": sum(unseen) / len(unseen) if unseen else None,
            "sentences": len(sentences)}


def train_and_score(train_sentences, test_sentences, c1=C1, c2=C2, iterations=ITERATIONS):
    """Trains the CRF on `train_sentences` and scores it on `test_sentences`.

    Returns ``{"accuracy", "oov_accuracy" (on words unseen in training; None without
    any), "oov_rate", "sentences" (scored), "seconds" (training, feature extraction
    included)}``. Raises ImportError, saying how to install it, without sklearn-crfsuite.
    """
    crf, seconds, known = timed_train(train_sentences, c1, c2, iterations)
    return {**score(crf, test_sentences, known), "seconds": seconds}


def timed_train(sentences, c1=C1, c2=C2, iterations=ITERATIONS):
    """``(crf, training seconds, the set of training words)``."""
    started = time.monotonic()
    crf = train(sentences, c1, c2, iterations)
    return crf, time.monotonic() - started, {token for tokens, _ in sentences for token in tokens}


def read_folder(folder):
    """``{split: sentences}`` of the train/valid/test files of `folder` (valid or test
    missing: not in the dict), UPOS for CoNLL-U, the last column for CoNLL."""
    from seqtasks.data.splits import find_splits
    from seqtasks.tasks.tagging import read_sentences

    return {split: read_sentences(path, None)
            for split, path in find_splits(folder, SUFFIXES).items() if path}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="folder of train/dev/test CoNLL-U files")
    parser.add_argument("--iterations", type=int, default=ITERATIONS,
                        help=f"L-BFGS iterations (default {ITERATIONS})")
    parser.add_argument("--c1", type=float, default=C1, help=f"L1 weight (default {C1})")
    parser.add_argument("--c2", type=float, default=C2, help=f"L2 weight (default {C2})")
    args = parser.parse_args(argv)
    try:
        crfsuite()
    except ImportError as error:
        print(error, file=sys.stderr)
        return 2
    splits = read_folder(args.data)
    train_sentences = splits["train"]
    print(f"{args.data}: {len(train_sentences)} training sentences; feature CRF, "
          f"c1={args.c1:g} c2={args.c2:g}, {args.iterations} iterations", flush=True)
    crf, seconds, known = timed_train(train_sentences, args.c1, args.c2, args.iterations)
    print(f"trained in {seconds:.1f} s")
    for split in ("valid", "test"):
        if split in splits:
            result = score(crf, splits[split], known)
            unseen = result["oov_accuracy"]
            print(f"{'dev' if split == 'valid' else split}: accuracy {result['accuracy']:.4f}; "
                  f"words unseen in training: {result['oov_rate']:.1%} of "
                  f"{sum(len(tokens) for tokens, _ in splits[split])} tokens, accuracy "
                  f"{'-' if unseen is None else f'{unseen:.4f}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
