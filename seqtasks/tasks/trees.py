"""The trees task: sentiment over parse trees with a Tree-LSTM (a recursive network).

Every node of a tree carries a label (the Stanford Sentiment Treebank's 0-4, 2 neutral),
and the model is trained on all of them (phrase-level supervision): a node's state is
composed from its children's (`seqtasks.layers.tree_lstm.TreeLSTM`, one height of the
whole batch at a time) and classified. `evaluate` reports the root's fine-grained
accuracy, the binary accuracy of the roots not labelled neutral (the side of more
probability mass, less a bias fitted on the validation roots), the accuracy over all
phrases, and beside them, trained in the same run on the same phrases, a sequence
baseline (a BiLSTM over the words of each phrase) and a tf-idf bag of words.

Data: a folder with a training file (and optionally valid/dev and test files) of
bracketed trees, one a line (``.txt`` or ``.tree``; seqtasks/data/FORMATS.md). Default:
the embedded trees, whose labels compose bottom-up (negation scope, contrast).

>>> config = Config(epochs=1, units=8)
>>> data = prepare(config)  # doctest: +SKIP
>>> model = build(config, data)  # doctest: +SKIP
>>> Predictor(model, data.preprocessor, config).predict(["((the film) (was (not good)))"])  # doctest: +SKIP
[{'tree': '((the film) (was (not good)))', 'label': '1', 'probability': 0.91}]
"""

import csv
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seqtasks.analysis.baselines import bag_of_words_baseline
from seqtasks.data.batching import LengthBatches, pad
from seqtasks.data.splits import read_splits as read_data_splits
from seqtasks.data.text import PAD, UNK, Vocabulary
from seqtasks.data.trees import TreeBatch, encode_trees, parse_tree, read_trees
from seqtasks.errors import ConfigError, DataError
from seqtasks.metrics import classification_scores
from seqtasks.models.accuracy import TokenAccuracy
from seqtasks.models.classifier import build_classifier
from seqtasks.models.mixtures import members_of_mixture, mixture_of, mixture_weight
from seqtasks.models.tree_classifier import (COMPOSITIONS, LEAVES, build_subtree_word_classifier,
                                             build_tree_classifier)
from seqtasks.plots import plot_confusion, plot_history
from seqtasks.progress import phase
from seqtasks.tasks.config import TaskConfig, like, setting
from seqtasks.tasks.members import train_members
from seqtasks.training import cross_entropy, fit, make_optimizer, predict_batch
from seqtasks.validation import positive_int, positive_number, rate

NAME = "trees"
OBJECTIVE = "val_accuracy"  # root accuracy on the validation trees
METRICS = ("loss", "accuracy")
SEARCHABLE = ()
FIXED = {"cell": "lstm", "depth": 1, "bidirectional": False}  # one Tree-LSTM
SUFFIXES = (".txt", ".tree", ".trees")
BASELINES = ("bilstm", "none")
SAMPLE = 200  # test trees in predictions.csv
INPUTS = ("tokens", "children", "levels")
# The bag of words of every phrase: training (Adam, early stopping on the validation
# roots' loss, at most this share of max_seconds).
WORDS_LEARNING_RATE, WORDS_PATIENCE, WORDS_EPOCHS, WORDS_TIME_SHARE = 1e-2, 2, 10, 0.1
WORDS = "subtree_words"  # its name in a mixture


@dataclasses.dataclass
class Config(TaskConfig):
    """The trees task's settings (the shared ones: `TaskConfig`)."""

    units: int = like("units", 150, help="the Tree-LSTM's state size (the baseline's "
                                         "units per direction)")
    embedding_dim: int = like("embedding_dim", 100)
    dropout: float = like("dropout", 0.5)
    epochs: int = like("epochs", 30)
    batch_size: int = like("batch_size", 25)
    learning_rate: float = like("learning_rate", 2e-3)
    ema: float = like("ema", 0.999)
    patience: int = like("patience", 5)
    max_seconds: float | None = like("max_seconds", 75.0)
    composition: str = setting("auto", "how a node combines its children: binary (each of "
                                       "two children has its own weights: binarised "
                                       "constituency trees), childsum (any number, "
                                       "summed), auto: binary when no training node has "
                                       "more than two children",
                               choices=("auto",) + COMPOSITIONS)
    leaves: str = setting("embedding", "what a word node reads: its embedding, or bilstm: "
                                       "the states of a BiLSTM over the sentence's words",
                          choices=LEAVES)
    monitor: str = setting("val_accuracy", "early stopping watches this (on the validation "
                                           "roots) and keeps its best epoch",
                           choices=("val_loss", "val_accuracy"))
    word_dropout: float = setting(0.1, "in training, replace each word by <unk> with this "
                                       "probability (so that <unk> learns a vector: "
                                       "on SST, 5% of the test words are unknown)",
                                  check=rate)
    lowercase: bool = setting(True, "look words up in lower case")
    min_freq: int = setting(1, "drop words seen fewer times than this in training",
                            check=positive_int)
    words: bool = setting(True, "also train a bag of words of every phrase (a weight per "
                                "label for each word, summed over the phrase) and mix its "
                                "probabilities into the Tree-LSTM's with the weight of "
                                "lowest cross-entropy on the validation roots")
    members: int = setting(3, "train up to this many Tree-LSTMs (seeds SEED, SEED+1, ...) "
                              "one after another and average their probabilities; another "
                              "starts only while the time budget left is at least the "
                              "longest one took", check=positive_int)
    baseline: str = setting("bilstm", "also train, on the same phrases, a sequence baseline: "
                                      "a BiLSTM over each phrase's words (none: skip it)",
                            choices=BASELINES)
    baseline_seconds: float | None = setting(
        None, "the baseline's training budget (none: max_seconds)", check=positive_number)

    def __post_init__(self):
        super().__post_init__()
        for name, value in FIXED.items():
            if getattr(self, name) != value:
                raise ConfigError(f"{name} must be {value!r} for trees: the model is one "
                                  f"Tree-LSTM (got {getattr(self, name)!r})")


class Preprocessor:
    """Trees <-> model inputs: the word vocabulary, the labels and the composition.

    >>> p = Preprocessor.fit([parse_tree("(3 (2 a) (4 Good))")], min_freq=1)
    >>> p.num_classes, p.composition, p.inputs([parse_tree("(a good)", labels=False)])["tokens"]
    (5, 'binary', array([[2, 3, 0]], dtype=int32))
    """

    def __init__(self, words, num_classes, composition="binary", lowercase=True,
                 binary_bias=0.0):
        self.words, self.num_classes = words, num_classes
        self.composition, self.lowercase = composition, lowercase
        self.binary_bias = binary_bias  # of `polarities`: `finish` fits it (`binary_bias`)

    @classmethod
    def fit(cls, trees, min_freq=1, composition="auto", lowercase=True, num_classes=5):
        """The vocabulary of the training `trees`' words; at least `num_classes` labels
        (more if the trees have higher ones); "auto" composition is binary when no node
        has more than two children."""
        key = str.lower if lowercase else str
        words = Vocabulary.build(([key(word) for word in tree.words()] for tree in trees),
                                 min_freq=min_freq, reserved=(PAD, UNK))
        labels = [node.label for tree in trees for node in tree.postorder()
                  if node.label is not None]
        if composition == "auto":
            most = max(len(node.children) for tree in trees for node in tree.postorder())
            composition = "binary" if most <= 2 else "childsum"
        return cls(words, max(num_classes, max(labels, default=0) + 1), composition, lowercase)

    @property
    def max_children(self):
        return 2 if self.composition == "binary" else None

    def word_id(self, word):
        return self.words.token_to_id(word.lower() if self.lowercase else word)

    def encode(self, trees):
        """The `TreeBatch` of `trees` (a node with more than two children is a DataError
        for a binary model)."""
        return encode_trees(trees, self.word_id, self.max_children)

    def inputs(self, trees):
        """The model's inputs for `trees`: ``{"tokens", "children", "levels"}``."""
        return model_inputs(self.encode(trees))

    def decode(self, probabilities):
        """``(label, probability, polarity)`` of each row: the most likely label, its
        probability and "positive" or "negative" (`polarities` with the fitted bias)."""
        best = np.argmax(probabilities, axis=-1)
        sides = polarities(probabilities, self.binary_bias)
        return [(str(k), float(p[k]), "positive" if side > 0 else "negative")
                for k, p, side in zip(best, probabilities, sides)]

    def get_config(self):
        return {"words": self.words.get_config(), "num_classes": self.num_classes,
                "composition": self.composition, "lowercase": self.lowercase,
                "binary_bias": self.binary_bias}

    @classmethod
    def from_config(cls, config):
        return cls(Vocabulary.from_config(config["words"]), config["num_classes"],
                   config["composition"], config["lowercase"],
                   config.get("binary_bias", 0.0))  # absent before it was fitted


def model_inputs(batch, names=INPUTS):
    """The arrays `names` of a `TreeBatch` (default: all a tree classifier takes)."""
    return {name: getattr(batch, name) for name in names}


def input_names(model):
    """The names of the inputs `model` takes."""
    return tuple(model.input)


def parse_input(text, line):
    """A tree to predict: labelled or not, ``((the film) (was good))`` or
    ``(3 (2 (2 the) (2 film)) ...)``; errors name ``input:LINE``."""
    try:
        return parse_tree(text, path="input", line=line)
    except DataError:
        return parse_tree(text, path="input", line=line, labels=False)


class Predictor:
    """Labels new trees (`seqtasks.load` returns one): ``predict(lines)`` -> one
    ``{"tree", "label", "probability", "polarity"}`` dict per bracketed tree (the root's
    label, its probability, and positive or negative as `binary_accuracy` decides);
    ``write(results, file)`` writes them as CSV (``seqtasks predict``)."""

    def __init__(self, model, preprocessor, config):
        self.model, self.preprocessor, self.config = model, preprocessor, config

    def predict(self, texts, batch_size=64):
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return []
        trees = [parse_input(text, line) for line, text in enumerate(texts, start=1)]
        roots = root_probabilities(self.model, self.preprocessor, trees, batch_size)
        return [{"tree": text, "label": label, "probability": round(probability, 4),
                 "polarity": side}
                for text, (label, probability, side) in zip(texts,
                                                            self.preprocessor.decode(roots))]

    @staticmethod
    def write(results, file):
        writer = csv.DictWriter(file, fieldnames=("tree", "label", "probability", "polarity"),
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(results)


def node_probabilities(model, preprocessor, trees, batch_size=64):
    """Each tree's label probabilities at every node, post-order, (size, classes) a tree."""
    batches = LengthBatches(trees, preprocessor.encode, [tree.size() for tree in trees],
                            batch_size, shuffle=False)
    results = [None] * len(trees)
    for index, group in enumerate(batches.groups):
        batch = batches[index]
        probabilities = predict_batch(model, model_inputs(batch, input_names(model)),
                                      batch_size, TreeBatch.PADDING)
        for row, k in enumerate(group):
            results[k] = probabilities[row, :batch.root_index[row] + 1]
    return results


def root_probabilities(model, preprocessor, trees, batch_size=64):
    """The roots' label probabilities, (len(trees), classes)."""
    return np.stack([nodes[-1] for nodes in node_probabilities(model, preprocessor, trees,
                                                               batch_size)])


@dataclasses.dataclass
class Data:
    """What `prepare` returns: the trees of each split, their files, the fitted
    preprocessor and the training batches (every labelled node) and validation batches
    (roots only, so ``val_accuracy`` is the root accuracy)."""

    trees: dict
    paths: dict
    preprocessor: Preprocessor
    train: LengthBatches
    valid: LengthBatches


def read_splits(config):
    """``({split: trees}, {split: path})``; a missing valid or test split is held out of
    train."""
    return read_data_splits(config.data, "trees", SUFFIXES, read_trees, config.seed)


def check_labels(trees, num_classes, path):
    """A label the training trees never reach (above their highest) is a DataError naming
    the tree's line."""
    for line, tree in enumerate(trees, start=1):
        labels = [node.label for node in tree.postorder() if node.label is not None]
        if max(labels, default=0) >= num_classes:
            raise DataError(f"label {max(labels)} is above the training labels "
                            f"(0-{num_classes - 1})", path=path, line=line)


def node_batches(preprocessor, trees, batch_size, roots_only=False, shuffle=True, seed=0,
                 names=INPUTS):
    """`LengthBatches` of ``(inputs, labels, weights)`` (the inputs `names`): weight 1 on
    each labelled node (only the root with `roots_only`), 0 elsewhere (labels -1 become 0
    there)."""

    def encode(chunk):
        batch = preprocessor.encode(chunk)
        weights = (batch.labels >= 0).astype("float32")
        if roots_only:
            weights = np.zeros_like(weights)
            weights[np.arange(len(chunk)), batch.root_index] = 1.0
        return model_inputs(batch, names), np.maximum(batch.labels, 0), weights

    return LengthBatches(trees, encode, [tree.size() for tree in trees], batch_size,
                         shuffle=shuffle, seed=seed, padding=TreeBatch.PADDING)


def prepare(config):
    """Reads the splits, fits the vocabulary and labels on train, checks the other
    splits' labels and batches train (all nodes) and valid (roots)."""
    trees, paths = read_splits(config)
    preprocessor = Preprocessor.fit(trees["train"], config.min_freq, config.composition,
                                    config.lowercase)
    for split in ("valid", "test"):
        check_labels(trees[split], preprocessor.num_classes, paths[split])
    train = node_batches(preprocessor, trees["train"], config.batch_size, seed=config.seed)
    valid = node_batches(preprocessor, trees["valid"], config.batch_size, roots_only=True,
                         shuffle=False)
    return Data(trees, paths, preprocessor, train, valid)


def build(config, data):
    """The compiled tree classifier: Embedding -> Tree-LSTM -> softmax at every node,
    the cross-entropy weighted to the labelled nodes."""
    preprocessor = data.preprocessor
    model = build_tree_classifier(
        len(preprocessor.words), preprocessor.num_classes,
        embedding_dim=config.embedding_dim, units=config.units,
        composition=preprocessor.composition,
        max_children=preprocessor.max_children or max_children_of(data.trees),
        dropout=config.dropout, word_dropout=config.word_dropout, leaves=config.leaves,
        seed=config.seed)
    model.compile(optimizer=make_optimizer(config.learning_rate, config.clipnorm, config.ema),
                  loss=cross_entropy(), weighted_metrics=[TokenAccuracy()])
    return model


def finish(model, data, config, work, history):
    """The model to keep after training the Tree-LSTM `model` (`history` is its; without
    ``attrs["seconds"]``, as from a search, its time is not counted):

    - with ``config.words`` and time left, a bag of words of every phrase
      (`train_subtree_words`, in ``work/words``);
    - with ``config.members`` > 1, more Tree-LSTMs one after another (seeds
      ``config.seed + 1``, ...; each in ``work/members/K``; `train_members`), while the
      time left of ``config.max_seconds`` is at least the longest training so far.

    The Tree-LSTMs' probabilities are averaged with equal weights, and the bag of words
    joins them with the `mixture_weight` of lowest cross-entropy on the validation roots
    (`mixture_of`); a lone Tree-LSTM is `model` itself. Sets
    ``data.preprocessor.binary_bias`` to the kept model's `binary_bias` on the validation
    roots."""
    first_seconds = history.attrs.get("seconds", 0.0)
    left = config.max_seconds and config.max_seconds - first_seconds
    words, spent = (train_subtree_words(model, data, config, work, left)
                    if config.words and (left is None or left > 0) else (None, 0.0))
    models = train_members(build, model, data, config, work, first_seconds, spent,
                           noun="Tree-LSTM")
    valid_trees = data.trees["valid"]
    valid_gold = np.array([tree.label for tree in valid_trees])
    # The kept model's validation roots, from its parts' (not by running them all again).
    valid_roots = np.mean([root_probabilities(m, data.preprocessor, valid_trees,
                                              config.batch_size) for m in models], axis=0)
    weight = 0.0
    if words is not None:
        word_roots = root_probabilities(words, data.preprocessor, valid_trees,
                                        config.batch_size)
        weight = mixture_weight(valid_roots, word_roots, valid_gold)
        valid_roots = (1.0 - weight) * valid_roots + weight * word_roots
    data.preprocessor.binary_bias = binary_bias(valid_gold, valid_roots)
    if weight:
        share = (1.0 - weight) / len(models)
        return mixture_of(models + [words], [share] * len(models) + [weight])
    return mixture_of(models, [1.0 / len(models)] * len(models)) if len(models) > 1 else model


def train_subtree_words(model, data, config, work, left):
    """``(bag of words, seconds)``: `build_subtree_word_classifier` (for the trees
    `model` reads) trained on the training nodes in ``work/words`` (Adam, early stopping
    on the validation roots' loss, for at most `WORDS_TIME_SHARE` of
    ``config.max_seconds`` and the `left` seconds of it)."""
    started = time.monotonic()
    preprocessor = data.preprocessor
    words = build_subtree_word_classifier(len(preprocessor.words), preprocessor.num_classes,
                                          model.input["children"].shape[-1], name=WORDS)
    words.compile(optimizer=make_optimizer(WORDS_LEARNING_RATE), loss=cross_entropy(),
                  weighted_metrics=[TokenAccuracy()])
    names = input_names(words)
    train = node_batches(preprocessor, data.trees["train"], config.batch_size,
                         seed=config.seed, names=names)
    valid = node_batches(preprocessor, data.trees["valid"], config.batch_size,
                         roots_only=True, shuffle=False, names=names)
    folder = Path(work) / "words"
    folder.mkdir(parents=True, exist_ok=True)
    with phase("training the bag of words of every phrase", config.verbose):
        fit(words, train, valid, folder, epochs=WORDS_EPOCHS,
            max_seconds=config.max_seconds and min(config.max_seconds * WORDS_TIME_SHARE, left),
            patience=WORDS_PATIENCE, monitor="val_loss", verbose=config.verbose)
    return words, time.monotonic() - started


def mixture_parts(model):
    """``(Tree-LSTMs, bag of words or None, the bag of words' weight)`` of a `finish`ed
    model (``([model], None, 0.0)`` for a Tree-LSTM alone)."""
    return members_of_mixture(model, WORDS)


def max_children_of(trees):
    """The most children of a node in any split (the Child-Sum model's input width)."""
    return max(len(node.children) for split in trees.values() for tree in split
               for node in tree.postorder())


def polarity(labels, num_classes):
    """-1, 0 or 1 for labels below, at or above the middle label (5 classes: 0-1, 2, 3-4)."""
    middle = (num_classes - 1) / 2
    return np.sign(np.asarray(labels) - middle).astype(int)


def positive_log_odds(probabilities):
    """log(positive mass / negative mass) of each row (labels above / below the middle)."""
    num_classes = probabilities.shape[-1]
    side = polarity(np.arange(num_classes), num_classes)
    tiny = np.finfo("float32").tiny
    return (np.log(probabilities[:, side > 0].sum(-1) + tiny)
            - np.log(probabilities[:, side < 0].sum(-1) + tiny))


def polarities(probabilities, bias=0.0):
    """1 (positive) where `positive_log_odds` exceeds `bias`, else -1."""
    return np.where(positive_log_odds(probabilities) > bias, 1, -1)


def binary_bias(gold, probabilities):
    """The `bias` of `polarities` under which ``σ(positive_log_odds - bias)`` gives the
    non-neutral `gold` sides the highest likelihood (a grid from -2 to 2 by 0.01; 0.0 for
    no non-neutral label): a model trained on every phrase, most of them neutral, need
    not split its roots' mass evenly between the sides.

    >>> binary_bias(np.array([0, 4]), np.array([[0.3, 0.1, 0.0, 0.6, 0.0],
    ...                                          [0.0, 0.1, 0.0, 0.9, 0.0]]))
    1.3
    """
    gold_side = polarity(gold, probabilities.shape[-1])
    kept = gold_side != 0
    if not kept.any():
        return 0.0
    odds, sign = positive_log_odds(probabilities[kept]), gold_side[kept]
    grid = np.round(np.arange(-200, 201) / 100, 2)
    losses = [np.mean(np.logaddexp(0.0, -sign * (odds - bias))) for bias in grid]
    return float(grid[int(np.argmin(losses))])


def binary_accuracy(gold, probabilities, bias=0.0):
    """Accuracy on the non-neutral gold labels of negative vs positive, the prediction
    being `polarities` (with `bias` 0: the side with more probability mass)."""
    predicted = polarities(probabilities, bias)
    gold_side = polarity(gold, probabilities.shape[-1])
    kept = gold_side != 0
    return float(np.mean(predicted[kept] == gold_side[kept])) if kept.any() else None


def phrases(trees, key):
    """``(word lists, labels)`` of the distinct labelled phrases of `trees` (the first
    label of a repeated phrase wins)."""
    seen = {}
    for tree in trees:
        for node in tree.postorder():
            if node.label is not None:
                words = tuple(key(leaf.word) for leaf in node.leaves() if leaf.word is not None)
                seen.setdefault(words, node.label)
    return [list(words) for words in seen], list(seen.values())


def sentence(tree):
    return " ".join(tree.words())


def sequence_baseline(data, config):
    """Trains the BiLSTM baseline on the training phrases (validating on the valid roots)
    for ``baseline_seconds``; returns its root probabilities on the validation and on the
    test trees."""
    preprocessor = data.preprocessor
    words = preprocessor.words

    def batches(trees, roots_only, shuffle):
        if roots_only:
            examples = [([preprocessor.word_id(w) for w in tree.words()], tree.label)
                        for tree in trees]
        else:
            key = str.lower if preprocessor.lowercase else str
            word_lists, labels = phrases(trees, key)
            examples = [(words.encode(ws), label) for ws, label in zip(word_lists, labels)]
        examples = [(ids or [words.unk_id], label) for ids, label in examples]

        def encode(chunk):
            return pad([ids for ids, _ in chunk]), np.array([y for _, y in chunk])

        return LengthBatches(examples, encode, [len(ids) for ids, _ in examples],
                             config.batch_size * 2, shuffle=shuffle, seed=config.seed)

    model = build_classifier(len(words), preprocessor.num_classes,
                             embedding_dim=config.embedding_dim, units=config.units,
                             bidirectional=True, dropout=config.dropout, pooling="max",
                             seed=config.seed, name="sequence_baseline")
    model.compile(optimizer=make_optimizer(config.learning_rate, config.clipnorm, config.ema),
                  loss=cross_entropy(), weighted_metrics=["accuracy"])
    with tempfile.TemporaryDirectory() as work:
        fit(model, batches(data.trees["train"], False, True),
            batches(data.trees["valid"], True, False), Path(work), epochs=config.epochs,
            max_seconds=config.baseline_seconds or config.max_seconds,
            patience=config.patience, monitor="val_accuracy", verbose=config.verbose)

    def split_probabilities(trees):
        roots = batches(trees, True, False)
        probabilities = np.zeros((len(trees), preprocessor.num_classes), "float32")
        for index, group in enumerate(roots.groups):
            probabilities[group] = predict_batch(model, roots[index][0], roots.batch_size)
        return probabilities

    return [split_probabilities(data.trees[split]) for split in ("valid", "test")]


def evaluate(model, data, config):
    """Test root accuracy (``fine_accuracy``), binary accuracy of the non-neutral roots
    (with the validation roots' `binary_bias` that `finish` fitted, ``binary_bias``; with
    none: ``uncalibrated_binary_accuracy``), accuracy over every labelled node
    (``phrase_accuracy``), validation root accuracy, the Tree-LSTMs averaged
    (``members``) and the bag of words' weight (``words_weight``) of a `finish`ed model,
    with a bag of words mixed in the Tree-LSTMs' root accuracies without it
    (``tree_fine_accuracy``, ``tree_binary_accuracy``), and the sequence baseline's (its
    binary accuracy with its own validation bias) and the tf-idf bag of words' root
    accuracies."""
    started = time.monotonic()
    test = data.trees["test"]
    with phase(f"classifying the nodes of the {len(test)} test trees", config.verbose):
        nodes = node_probabilities(model, data.preprocessor, test, config.batch_size)
    roots = np.stack([probabilities[-1] for probabilities in nodes])
    gold = np.array([tree.label for tree in test])
    node_gold = [np.array([node.label if node.label is not None else -1
                           for node in tree.postorder()]) for tree in test]
    hits = np.concatenate([(p.argmax(-1) == g)[g >= 0] for p, g in zip(nodes, node_gold)])
    valid = data.trees["valid"]
    valid_roots = root_probabilities(model, data.preprocessor, valid, config.batch_size)
    valid_gold = np.array([tree.label for tree in valid])
    classes = list(range(data.preprocessor.num_classes))
    bias = data.preprocessor.binary_bias
    metrics = {
        "fine_accuracy": float(np.mean(roots.argmax(-1) == gold)),
        "binary_accuracy": binary_accuracy(gold, roots, bias),
        "binary_bias": bias,
        "uncalibrated_binary_accuracy": binary_accuracy(gold, roots),
        "phrase_accuracy": float(np.mean(hits)),
        "valid_fine_accuracy": float(np.mean(valid_roots.argmax(-1) == valid_gold)),
        "valid_binary_accuracy": binary_accuracy(valid_gold, valid_roots, bias),
        "confusion_matrix": classification_scores(gold, roots.argmax(-1),
                                                  labels=classes)["confusion_matrix"],
        "classes": [str(k) for k in classes], "composition": data.preprocessor.composition,
        "test_trees": len(test), "parameters": model.count_params(),
    }
    tree_models, words, weight = mixture_parts(model)
    metrics.update(members=len(tree_models), words_weight=weight)
    if words is not None:
        alone = np.mean([root_probabilities(m, data.preprocessor, test, config.batch_size)
                         for m in tree_models], axis=0)
        metrics.update(tree_fine_accuracy=float(np.mean(alone.argmax(-1) == gold)),
                       tree_binary_accuracy=binary_accuracy(gold, alone, bias))
    with phase("fitting the bag-of-words baseline on the training phrases", config.verbose):
        word_lists, labels = phrases(data.trees["train"], str)
        metrics["bag_of_words_fine_accuracy"] = bag_of_words_baseline(
            [" ".join(words) for words in word_lists], labels,
            [sentence(tree) for tree in test], gold)
    if config.baseline == "bilstm":
        with phase("training the BiLSTM baseline on the same phrases", config.verbose):
            valid_baseline, baseline = sequence_baseline(data, config)
        metrics["baseline_fine_accuracy"] = float(np.mean(baseline.argmax(-1) == gold))
        metrics["baseline_binary_accuracy"] = binary_accuracy(
            gold, baseline, binary_bias(valid_gold, valid_baseline))
    metrics["eval_seconds"] = round(time.monotonic() - started, 1)
    return metrics


def report(model, data, config, metrics, history, folder):
    """loss.png, confusion.png (root labels) and predictions.csv (the first 200 test
    trees: sentence, gold root label, predicted label, its probability and polarity)."""
    plot_history(history, folder / "loss.png")
    plot_confusion(metrics["confusion_matrix"], metrics["classes"], folder / "confusion.png")
    sample = data.trees["test"][:SAMPLE]
    decoded = data.preprocessor.decode(root_probabilities(model, data.preprocessor, sample,
                                                          config.batch_size))
    pd.DataFrame({"sentence": [sentence(tree) for tree in sample],
                  "gold": [tree.label for tree in sample],
                  "label": [label for label, _, _ in decoded],
                  "probability": [round(p, 4) for _, p, _ in decoded],
                  "polarity": [side for _, _, side in decoded]}
                 ).to_csv(folder / "predictions.csv", index=False)
    if config.verbose:
        shown = {"fine_accuracy": "test root accuracy", "binary_accuracy": "binary",
                 "phrase_accuracy": "all phrases",
                 "baseline_fine_accuracy": "BiLSTM baseline root accuracy",
                 "baseline_binary_accuracy": "binary",
                 "bag_of_words_fine_accuracy": "bag of words root accuracy"}
        print(", ".join(f"{label} {metrics[key]:.4f}" for key, label in shown.items()
                        if metrics.get(key) is not None))
