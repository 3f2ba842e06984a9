"""Task metrics as plain dicts, over the field libraries (scikit-learn, seqeval, sacrebleu).

Example:

>>> classification_scores([0, 1, 1], [0, 1, 0])["accuracy"]
0.6666666666666666
>>> round(perplexity(math.log(20.0)), 6)
20.0
"""

import math

import numpy as np
from sklearn import metrics as sk_metrics


def classification_scores(y_true, y_pred, labels=None):
    """Accuracy, F1 (binary for two classes, macro otherwise) and the confusion matrix."""
    labels = sorted(set(y_true) | set(y_pred)) if labels is None else list(labels)
    binary = len(labels) == 2
    f1 = sk_metrics.f1_score(
        y_true, y_pred, labels=labels, average="binary" if binary else "macro",
        pos_label=labels[-1] if binary else 1, zero_division=0,
    )
    return {
        "accuracy": float(sk_metrics.accuracy_score(y_true, y_pred)),
        "f1": float(f1),
        "confusion_matrix": sk_metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def is_bio(tags):
    """True when every tag is O or starts with B-/I- (entity tags in the BIO scheme)."""
    return all(t == "O" or t[:2] in ("B-", "I-") for t in tags)


def tagging_scores(true_sequences, predicted_sequences):
    """Token accuracy, and entity-level F1 (seqeval, exact spans) when the tags are BIO."""
    flat_true = [t for seq in true_sequences for t in seq]
    flat_pred = [t for seq in predicted_sequences for t in seq]
    if len(flat_true) != len(flat_pred):
        raise ValueError("true and predicted tag sequences differ in length")
    scores = {"accuracy": float(np.mean([a == b for a, b in zip(flat_true, flat_pred)]))}
    if is_bio(set(flat_true)):
        from seqeval.metrics import f1_score

        scores["f1"] = float(f1_score(list(map(list, true_sequences)),
                                      list(map(list, predicted_sequences))))
    return scores


def perplexity(cross_entropy):
    """Perplexity from a mean cross-entropy in nats per token."""
    return float(math.exp(cross_entropy))


def translation_scores(hypotheses, references):
    """Corpus BLEU (sacrebleu, default 13a tokenisation) and the exact-match rate."""
    import sacrebleu

    bleu = sacrebleu.corpus_bleu(list(hypotheses), [list(references)])
    exact = np.mean([h.strip() == r.strip() for h, r in zip(hypotheses, references)])
    return {"bleu": float(bleu.score), "exact_match": float(exact)}
