"""Non-neural baselines, so a recipe can tell whether its recurrent model earns its keep.

Example:

>>> texts = ["good film", "great film", "bad film", "awful film"] * 5
>>> labels = [1, 1, 0, 0] * 5
>>> bag_of_words_baseline(texts, labels, ["good", "awful"], [1, 0])
1.0
"""

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline


def bag_of_words_pipeline(C=4.0, max_iter=1000):
    """An unfitted scikit-learn pipeline: tf-idf of uni- and bigrams → logistic regression.

    Word order only counts within bigrams, which is what a recurrent model should beat.
    Tokens are runs of non-space characters (punctuation kept), lower-cased.
    """
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\S+", sublinear_tf=True),
        LogisticRegression(C=C, max_iter=max_iter),
    )


def bag_of_words_baseline(train_texts, train_labels, test_texts, test_labels, C=4.0):
    """Fits `bag_of_words_pipeline` on the training texts; returns its test accuracy.

    Args:
        train_texts, test_texts: sequences of strings.
        train_labels, test_labels: the labels (any hashable values, or integer ids).
        C: the inverse regularisation strength of the logistic regression.

    Returns:
        The accuracy on the test texts, a float in [0, 1].
    """
    model = bag_of_words_pipeline(C=C)
    model.fit(list(train_texts), list(train_labels))
    return float(model.score(list(test_texts), list(test_labels)))
