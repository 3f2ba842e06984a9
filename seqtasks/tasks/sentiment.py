"""The sentiment task: classify a text (many-to-one) with a recurrent classifier.

Each text is split into words, each word becomes a learned vector (an `Embedding` that
masks the padding), a recurrent stack reads the vectors in order and the max over its
outputs (or its final state, ``pooling="last"``) goes to a softmax over the labels.
After it, `finish` trains a linear model of the words and word pairs (a bag of n-grams)
on the same batches and mixes the two models' probabilities with the weight the
validation loss prefers (``ngrams=False``: the recurrent classifier alone).
`evaluate` reports test accuracy and F1 (and each model's accuracy alone) beside a
tf-idf bag-of-words baseline trained on the same split, which shows what reading in
order buys.

Data: a folder with a training file (and optionally valid/dev and test files) in CSV or
TSV with a header, a ``label`` column and a ``sentence``, ``text`` or ``content``
column; a missing valid or test split is held out of train. Default: the embedded
reviews, whose labels depend on negation scope and contrast.

>>> config = Config(epochs=1, units=8)
>>> data = prepare(config)  # doctest: +SKIP
>>> model = build(config, data)  # doctest: +SKIP
>>> model = finish(model, data, config, "runs/tmp", history)  # doctest: +SKIP
>>> Predictor(model, data.preprocessor, config).predict(["a superb film"])  # doctest: +SKIP
[{'text': 'a superb film', 'label': 'positive', 'probability': 0.98}]
"""

import csv
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seqtasks.analysis.baselines import bag_of_words_baseline
from seqtasks.data.batching import LengthBatches, pad
from seqtasks.data.embedded import embedded_path
from seqtasks.data.embeddings import coverage_metrics, use_pretrained
from seqtasks.data.readers import encode_labels, read_labelled_text
from seqtasks.data.splits import find_splits, hold_out
from seqtasks.data.text import Vocabulary, WordTokenizer, tokenizer_from_config
from seqtasks.metrics import classification_scores
from seqtasks.models.classifier import POOLINGS, build_classifier
from seqtasks.models.mixtures import mixture_of, mixture_weight, parts_of_mixture
from seqtasks.models.ngram_classifier import build_ngram_classifier
from seqtasks.plots import plot_confusion, plot_history
from seqtasks.progress import phase
from seqtasks.tasks.config import TaskConfig, like, setting
from seqtasks.training import cross_entropy, fit, make_optimizer, predict_batch
from seqtasks.validation import positive_int, rate

NAME = "sentiment"
OBJECTIVE = "val_accuracy"  # what a hyperparameter search optimises by default
METRICS = ("loss", "accuracy")  # what the compiled model reports
SEARCHABLE = ("pooling",)  # hyperparameters of this task beyond the shared ones
FIXED = {}  # values the architecture imposes on shared hyperparameters
SPLITS = ("train", "valid", "test")
# The bag-of-n-grams model of `finish`: word pairs hashed into this many rows, Adam at this
# rate, early stopping on the validation loss after this many epochs without a better one,
# and at most this many epochs and this share of the recurrent model's time budget.
NGRAM_BUCKETS, NGRAM_LEARNING_RATE, NGRAM_PATIENCE = 2**20, 1e-2, 2
NGRAM_EPOCHS, NGRAM_TIME_SHARE = 10, 0.1


@dataclasses.dataclass
class Config(TaskConfig):
    """The sentiment task's settings (the shared ones: `TaskConfig`). The defaults were
    chosen on SST-2's validation set (see README): a bidirectional GRU whose outputs are
    max-pooled, wide embeddings with strong dropout and a moving average of the weights.
    """

    cell: str = like("cell", "gru")
    units: int = like("units", 150)
    bidirectional: bool = like("bidirectional", True)
    dropout: float = like("dropout", 0.5)
    embedding_dim: int = like("embedding_dim", 300)
    batch_size: int = like("batch_size", 64)
    ema: float = like("ema", 0.999)
    max_seconds: float | None = like("max_seconds", 170.0,
                                     help="stop training the recurrent classifier after this "
                                          "many seconds (none: no time budget); the n-gram "
                                          "model trains after it, within a tenth of that")
    min_freq: int = setting(2, "drop words seen fewer times than this in training",
                            check=positive_int)
    max_vocab: int = setting(30000, "keep at most this many words", check=positive_int)
    monitor: str = setting("val_accuracy", "early stopping watches this and keeps its best "
                                           "epoch", choices=("val_loss", "val_accuracy"))
    word_dropout: float = setting(0.0, "in training, replace each word by <unk> with this "
                                       "probability", check=rate)
    ngrams: bool = setting(True, "also train a linear model of the words and word pairs (a "
                                 "bag of n-grams) and mix its probabilities with the "
                                 "recurrent classifier's, weighted as the validation loss "
                                 "prefers")
    pooling: str = setting("max", "summarise the text by the final state (last) or by the "
                                   "max over the steps' outputs (max)", choices=POOLINGS)
    embeddings: Path | None = setting(
        None, "pretrained word vectors to start the word embeddings from: a GloVe, word2vec "
              "or fastText text file (.gz too), whose dimension embedding_dim must be; words "
              "it lacks start random (none: all do)")


class Preprocessor:
    """Texts <-> model tensors: a word tokenizer, its vocabulary and the label set.

    >>> p = Preprocessor.fit(["a good film", "a bad film"], ["pos", "neg"], min_freq=1)
    >>> p.encode(["a good plot"]).tolist(), p.classes
    ([[2, 5, 1]], ['neg', 'pos'])
    """

    def __init__(self, tokenizer, vocab, classes):
        self.tokenizer, self.vocab, self.classes = tokenizer, vocab, list(classes)

    @classmethod
    def fit(cls, texts, labels, min_freq=2, max_vocab=None):
        """Learns the vocabulary of the training `texts` and the sorted label set."""
        tokenizer = WordTokenizer()
        vocab = Vocabulary.build((tokenizer.tokenize(t) for t in texts), min_freq=min_freq,
                                 max_size=max_vocab)
        return cls(tokenizer, vocab, sorted({str(label) for label in labels}))

    def token_ids(self, text):
        """The word ids of one text (``<unk>`` for unknown words; at least one id)."""
        return self.vocab.encode(self.tokenizer.tokenize(text)) or [self.vocab.unk_id]

    def encode(self, texts):
        """Padded word ids, int32 (len(texts), longest)."""
        return pad([self.token_ids(text) for text in texts])

    def encode_labels(self, labels, path=None):
        """Label ids; an unknown label is a DataError naming `path` and its line."""
        return encode_labels(labels, self.classes, path=path)[0]

    def decode(self, probabilities):
        """``(label, probability)`` of the most likely class of each row."""
        best = np.argmax(probabilities, axis=-1)
        return [(self.classes[k], float(p[k])) for k, p in zip(best, probabilities)]

    def get_config(self):
        return {"tokenizer": self.tokenizer.get_config(), "vocab": self.vocab.get_config(),
                "classes": self.classes}

    @classmethod
    def from_config(cls, config):
        return cls(tokenizer_from_config(config["tokenizer"]),
                   Vocabulary.from_config(config["vocab"]), config["classes"])


class Predictor:
    """Labels new texts with a trained classifier (`seqtasks.load` returns one).

    ``predict(texts)`` -> one ``{"text", "label", "probability"}`` dict per text;
    ``write(results, file)`` writes them as CSV with a header (``seqtasks predict``).
    """

    def __init__(self, model, preprocessor, config):
        self.model, self.preprocessor, self.config = model, preprocessor, config

    def predict(self, texts, batch_size=64):
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return []
        probabilities = predict_probabilities(self.model, self.preprocessor, texts, batch_size)
        return [{"text": text, "label": label, "probability": round(probability, 4)}
                for text, (label, probability) in zip(texts, self.preprocessor.decode(
                    probabilities))]

    @staticmethod
    def write(results, file):
        writer = csv.DictWriter(file, fieldnames=("text", "label", "probability"),
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(results)


def predict_probabilities(model, preprocessor, texts, batch_size=64):
    """Class probabilities of `texts`, (len(texts), classes), batched by length."""
    batches = LengthBatches(texts, preprocessor.encode, [len(t) for t in texts], batch_size,
                            shuffle=False)
    probabilities = np.zeros((len(texts), len(preprocessor.classes)), dtype="float32")
    for index, group in enumerate(batches.groups):
        probabilities[group] = predict_batch(model, batches[index], batch_size)
    return probabilities


@dataclasses.dataclass
class Data:
    """What `prepare` returns: the splits as DataFrames (``text``, ``label``), their files,
    the fitted preprocessor, the label ids and the training and validation batches."""

    frames: dict
    paths: dict
    preprocessor: Preprocessor
    y: dict
    train: LengthBatches
    valid: LengthBatches


def read_splits(config):
    """``({split: DataFrame}, {split: path})``; a missing valid or test split is held out
    of train (its rows keep their train-file lines, so errors name them)."""
    if config.data is None:
        paths = {split: embedded_path("sentiment", split) for split in SPLITS}
    else:
        paths = find_splits(config.data, (".csv", ".tsv"))
    frames = hold_out({split: read_labelled_text(path) if path else None
                       for split, path in paths.items()}, config.seed)
    paths = {split: paths[split] or paths["train"] for split in SPLITS}
    for frame in frames.values():  # "1" in one file and 1 in another are the same label
        frame["label"] = frame["label"].astype(str)
    return frames, paths


def labelled_batches(preprocessor, texts, labels, batch_size, shuffle=True, seed=0):
    """`LengthBatches` of ``(word ids, label ids)`` of texts of similar lengths."""
    examples = list(zip(texts, labels))

    def encode(chunk):
        return preprocessor.encode([t for t, _ in chunk]), np.array([y for _, y in chunk])

    return LengthBatches(examples, encode, [len(t) for t in texts], batch_size,
                         shuffle=shuffle, seed=seed)


def prepare(config):
    """Reads the splits, fits the preprocessor on train, and batches train and valid."""
    frames, paths = read_splits(config)
    preprocessor = Preprocessor.fit(frames["train"]["text"], frames["train"]["label"],
                                    config.min_freq, config.max_vocab)
    y = {split: preprocessor.encode_labels(frames[split]["label"], paths[split])
         for split in SPLITS}
    train = labelled_batches(preprocessor, frames["train"]["text"].tolist(), y["train"],
                             config.batch_size, seed=config.seed)
    valid = labelled_batches(preprocessor, frames["valid"]["text"].tolist(), y["valid"],
                             config.batch_size, shuffle=False)
    return Data(frames, paths, preprocessor, y, train, valid)


def build(config, data):
    """The compiled classifier: Embedding(mask_zero) -> recurrent stack -> last state (or
    max over outputs) -> Dropout -> softmax over the labels. With ``config.embeddings``, the
    file's vectors start the embeddings of the words it has (its coverage line is printed)."""
    model = build_classifier(
        len(data.preprocessor.vocab), len(data.preprocessor.classes),
        embedding_dim=config.embedding_dim, cell=config.cell, units=config.units,
        depth=config.depth, bidirectional=config.bidirectional, dropout=config.dropout,
        pooling=config.pooling, word_dropout=config.word_dropout, seed=config.seed,
    )
    use_pretrained(model.get_layer("embedding"), config.embeddings, data.preprocessor.vocab,
                   config.verbose)
    model.compile(optimizer=make_optimizer(config.learning_rate, config.clipnorm, config.ema),
                  loss=cross_entropy(), weighted_metrics=["accuracy"])
    return model


def finish(model, data, config, work, history):
    """The model to keep after training `model` (its `history` is not needed here): with
    ``config.ngrams``, the `mixture_of` `model` and a bag-of-n-grams classifier trained
    here on the same batches (in ``work/ngrams``; early stopping on the validation loss),
    weighted by `mixture_weight` on the validation split; else `model` itself."""
    if not config.ngrams:
        return model
    ngrams = build_ngram_classifier(len(data.preprocessor.vocab), len(data.preprocessor.classes),
                                    NGRAM_BUCKETS)
    ngrams.compile(optimizer=make_optimizer(NGRAM_LEARNING_RATE), loss=cross_entropy(),
                   weighted_metrics=["accuracy"])
    folder = Path(work) / "ngrams"
    folder.mkdir(parents=True, exist_ok=True)
    with phase("training the bag-of-n-grams model", config.verbose):
        fit(ngrams, data.train, data.valid, folder, epochs=NGRAM_EPOCHS,
            max_seconds=config.max_seconds and config.max_seconds * NGRAM_TIME_SHARE,
            patience=NGRAM_PATIENCE, monitor="val_loss", verbose=config.verbose)
    texts = data.frames["valid"]["text"].tolist()
    weight = mixture_weight(
        *(predict_probabilities(m, data.preprocessor, texts, config.batch_size)
          for m in (model, ngrams)), data.y["valid"])
    return mixture_of([model, ngrams], [1.0 - weight, weight])


def mixture_parts(model):
    """``({"recurrent": classifier, "ngram": classifier}, [their weights])`` of a
    `finish`ed mixture; ``({"recurrent": model}, [1.0])`` for a classifier alone."""
    return parts_of_mixture(model, {"recurrent": "classifier", "ngram": "ngram_classifier"})


def evaluate(model, data, config):
    """Test accuracy, F1 and confusion matrix, validation accuracy, the bag-of-words
    baseline's accuracy, for a mixture (`finish`) each classifier's test accuracy alone
    (``recurrent_accuracy``, ``ngram_accuracy``) and the n-gram model's weight, and with
    ``config.embeddings`` the vocabulary's coverage by the file.

    A mixture's probabilities are its classifiers' mixed here (what the mixture model
    computes), so each classifier predicts once."""
    test = data.frames["test"]
    started = time.monotonic()
    models, weights = mixture_parts(model)

    def probabilities_of(texts):
        alone = {name: predict_probabilities(part, data.preprocessor, texts, config.batch_size)
                 for name, part in models.items()}
        return sum(w * p for w, p in zip(weights, alone.values())), alone

    with phase(f"classifying the {len(test)} test texts", config.verbose):
        probabilities, alone = probabilities_of(test["text"].tolist())
    scores = classification_scores(data.y["test"], probabilities.argmax(axis=-1),
                                   labels=range(len(data.preprocessor.classes)))
    valid_probabilities, _ = probabilities_of(data.frames["valid"]["text"].tolist())
    valid_accuracy = float(np.mean(valid_probabilities.argmax(axis=-1) == data.y["valid"]))
    parts = {f"{name}_accuracy": float(np.mean(p.argmax(axis=-1) == data.y["test"]))
             for name, p in alone.items()} if len(models) > 1 else {}
    if parts:
        parts["ngram_weight"] = weights[1]
    with phase("fitting the bag-of-words baseline", config.verbose):
        baseline = bag_of_words_baseline(data.frames["train"]["text"], data.y["train"],
                                         test["text"], data.y["test"])
    return {"accuracy": scores["accuracy"], "f1": scores["f1"], "baseline_accuracy": baseline,
            "valid_accuracy": valid_accuracy, **parts,
            "confusion_matrix": scores["confusion_matrix"],
            "classes": data.preprocessor.classes, "test_examples": len(test),
            "vocab_size": len(data.preprocessor.vocab),
            **coverage_metrics(config.embeddings, data.preprocessor.vocab),
            "eval_seconds": round(time.monotonic() - started, 1)}


def report(model, data, config, metrics, history, folder):
    """loss.png, confusion.png and predictions.csv (the first 200 test texts)."""
    plot_history(history, folder / "loss.png")
    plot_confusion(metrics["confusion_matrix"], data.preprocessor.classes,
                   folder / "confusion.png")
    test = data.frames["test"].head(200)
    predicted = Predictor(model, data.preprocessor, config).predict(test["text"].tolist())
    pd.DataFrame({"text": test["text"].to_numpy(), "gold": test["label"].to_numpy(),
                  "label": [p["label"] for p in predicted],
                  "probability": [p["probability"] for p in predicted]}
                 ).to_csv(folder / "predictions.csv", index=False)
    if config.verbose:
        print(f"test accuracy {metrics['accuracy']:.4f} (bag-of-words baseline "
              f"{metrics['baseline_accuracy']:.4f})")
