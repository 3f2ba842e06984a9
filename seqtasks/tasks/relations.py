"""The relations task: each word's dependency relation (DEPREL) given the gold tree.

A dependency parser finds each word's head and labels the arc; this task takes the gold
heads and predicts the labels (``nsubj``, ``obj``, ``amod``, ...), so that three ways of
reading a sentence compare on the same question: a BiLSTM over the word sequence, Tree-
LSTMs bottom-up and top-down over the tree, and a gated graph network over its arcs
(`seqtasks.models.relation_classifier`). Each classifies the pair ``[word ; head]``.
`evaluate` reports the accuracy over all test words, per relation for the ten most
frequent ones, and how tall the test trees are.

Data: a folder with a training CoNLL-U file (and optionally valid/dev and test files;
``.conllu``, e.g. a Universal Dependencies treebank); a missing valid or test split is
held out of train. Default: the embedded dependencies, whose relations follow from the
head's side and kind.

>>> config = Config(epochs=1, units=8)
>>> data = prepare(config)  # doctest: +SKIP
>>> model = build(config, data)  # doctest: +SKIP
>>> Predictor(model, data.preprocessor, config).predict([(["dogs", "bark"], [2, 0])])  # doctest: +SKIP
[[('dogs', 2, 'nsubj'), ('bark', 0, 'root')]]
"""

import collections
import dataclasses

import numpy as np
from sklearn.metrics import confusion_matrix

from seqtasks.data.batching import LengthBatches
from seqtasks.data.dependencies import (DependencyBatch, check_heads, conllu_lines,
                                        encode_dependencies, read_dependencies)
from seqtasks.data.splits import read_splits as read_data_splits
from seqtasks.data.text import PAD, UNK, Vocabulary
from seqtasks.errors import ConfigError, DataError
from seqtasks.models.accuracy import TokenAccuracy
from seqtasks.models.relation_classifier import INPUTS, MODELS, build_relation_classifier
from seqtasks.plots import plot_confusion, plot_history
from seqtasks.progress import phase
from seqtasks.tasks.config import TaskConfig, like, setting
from seqtasks.tasks.tagging import check_labels, tokens_of
from seqtasks.training import cross_entropy, make_optimizer, predict_batch
from seqtasks.validation import positive_int

NAME = "relations"
OBJECTIVE = "val_accuracy"
METRICS = ("loss", "accuracy")
SEARCHABLE = ()
FIXED = {"cell": "lstm", "depth": 1, "bidirectional": True}  # --model picks the encoder
SUFFIXES = (".conllu",)
TOP_RELATIONS = 10  # relations scored one by one and in confusion.png
SAMPLE = 100  # test sentences in predictions.conllu


@dataclasses.dataclass
class Config(TaskConfig):
    """The relations task's settings (the shared ones: `TaskConfig`)."""

    model: str = setting("tree", "how the words' states are computed: sequence (a BiLSTM), "
                                 "tree (Tree-LSTMs bottom-up and top-down), graph (a gated "
                                 "graph network over the arcs)", choices=MODELS)
    steps: int = setting(3, "the graph model's propagation steps", check=positive_int)
    bidirectional: bool = like("bidirectional", True,
                               help="the sequence model reads both ways; it always does here")
    units: int = like("units", 128, help="the BiLSTM's units per direction, each "
                                         "Tree-LSTM's or the graph's state size")
    embedding_dim: int = like("embedding_dim", 100)
    dropout: float = like("dropout", 0.33)
    epochs: int = like("epochs", 30)
    learning_rate: float = like("learning_rate", 2e-3)
    patience: int = like("patience", 5)
    max_seconds: float | None = like("max_seconds", 150.0)
    monitor: str = setting("val_accuracy", "early stopping watches this and keeps its best "
                                           "epoch", choices=("val_loss", "val_accuracy"))
    lowercase: bool = setting(True, "look words up in lower case")
    min_freq: int = setting(2, "training words seen fewer times become <unk>",
                            check=positive_int)

    def __post_init__(self):
        super().__post_init__()
        for name, value in FIXED.items():
            if getattr(self, name) != value:
                raise ConfigError(f"{name} must be {value!r} for relations: --model chooses "
                                  f"the encoder (got {getattr(self, name)!r})")


class Preprocessor:
    """Sentences <-> model inputs: the word and relation vocabularies.

    >>> p = Preprocessor.fit([(["Dogs", "bark"], [2, 0], ["nsubj", "root"])], min_freq=1)
    >>> p.words.tokens, p.relations.tokens
    (['<pad>', '<unk>', 'bark', 'dogs'], ['nsubj', 'root'])
    >>> p.encode([(["dogs", "meow"], [2, 0])]).words.tolist()
    [[3, 1]]
    """

    def __init__(self, words, relations, lowercase=True):
        self.words, self.relations, self.lowercase = words, relations, lowercase

    @classmethod
    def fit(cls, sentences, min_freq=2, lowercase=True):
        """The vocabularies of training ``(words, heads, relations)`` `sentences`."""
        key = str.lower if lowercase else str
        words = Vocabulary.build(([key(word) for word in sentence[0]] for sentence in sentences),
                                 min_freq=min_freq, reserved=(PAD, UNK))
        relations = Vocabulary.build((sentence[2] for sentence in sentences), reserved=())
        return cls(words, relations, lowercase)

    def word_id(self, word):
        return self.words.token_to_id(word.lower() if self.lowercase else word)

    def encode(self, sentences, labelled=False):
        """The `DependencyBatch` of ``(words, heads[, relations])`` `sentences` (labels
        with `labelled`)."""
        relation_id = self.relations.token_to_id if labelled else None
        return encode_dependencies(sentences, self.word_id, relation_id)

    def get_config(self):
        return {"words": self.words.get_config(), "relations": self.relations.get_config(),
                "lowercase": self.lowercase}

    @classmethod
    def from_config(cls, config):
        return cls(Vocabulary.from_config(config["words"]),
                   Vocabulary.from_config(config["relations"]), config["lowercase"])


def model_inputs(batch, model):
    """The arrays of `batch` that the `model` kind reads."""
    return {name: getattr(batch, name) for name in INPUTS[model]}


def padding(kind):
    """How a backend that compiles per shape (JAX) pads the batches of a `kind` of model
    (`pad_batch`): the tree model's loops run over the real words only, so its padded
    words cost little and its buckets step by 16 (fewer shapes to compile); the sequence
    and graph models step through every padded word.

    >>> padding("tree").step, padding("sequence").step
    (16, 8)
    """
    return (dataclasses.replace(DependencyBatch.PADDING, step=16) if kind == "tree"
            else DependencyBatch.PADDING)


def relation_probabilities(model, preprocessor, kind, sentences, batch_size=64):
    """Each sentence's relation probabilities, (words, relations) a sentence."""
    batches = LengthBatches(sentences, preprocessor.encode, [len(s[0]) for s in sentences],
                            batch_size, shuffle=False)
    results = [None] * len(sentences)
    for index, group in enumerate(batches.groups):
        probabilities = predict_batch(model, model_inputs(batches[index], kind), batch_size,
                                      padding(kind))
        for row, k in enumerate(group):
            results[k] = probabilities[row, :len(sentences[k][0])]
    return results


def predict_relations(model, preprocessor, kind, sentences, batch_size=64):
    """Each sentence's most likely relations (names)."""
    return [preprocessor.relations.decode(probabilities.argmax(-1), strip_special=False)
            for probabilities in relation_probabilities(model, preprocessor, kind, sentences,
                                                        batch_size)]


def parse_input(sentence, line):
    """``(words, heads)`` of a sentence to label: words a list or a string (split at
    whitespace), heads 1-based with 0 for the root; errors name ``input:LINE``."""
    if isinstance(sentence, str) or len(sentence) != 2:
        raise ConfigError("relations labels (words, heads) pairs, heads 1-based with 0 for "
                          "the root; seqtasks predict reads them with --format conllu")
    words, heads = tokens_of(sentence[0]), [int(head) for head in sentence[1]]
    if len(words) != len(heads):
        raise DataError(f"{len(words)} words but {len(heads)} heads", path="input", line=line)
    check_heads(heads, path="input", line=line)
    return words, heads


class Predictor:
    """Labels the arcs of new trees (`seqtasks.load` returns one): ``predict(sentences)``
    takes ``(words, heads)`` pairs (heads as in CoNLL-U: 1-based, 0 for the root) and
    returns, per sentence, its ``(word, head, relation)`` triples; ``write(results,
    file)`` writes them as ``word<TAB>head<TAB>relation`` lines, a blank line after each
    sentence (``seqtasks predict RUN FILE --format conllu``, which reads the heads:
    `reads_heads`).

    >>> predictor = seqtasks.load("runs/relations")  # doctest: +SKIP
    >>> predictor.predict([(["dogs", "bark"], [2, 0])])  # doctest: +SKIP
    [[('dogs', 2, 'nsubj'), ('bark', 0, 'root')]]
    """

    reads_heads = True

    def __init__(self, model, preprocessor, config):
        self.model, self.preprocessor, self.config = model, preprocessor, config

    def predict(self, sentences, batch_size=64):
        sentences = [parse_input(sentence, line)
                     for line, sentence in enumerate(sentences, start=1)]
        if not sentences:
            return []
        relations = predict_relations(self.model, self.preprocessor, self.config.model,
                                      sentences, batch_size)
        return [list(zip(words, heads, labels))
                for (words, heads), labels in zip(sentences, relations)]

    @staticmethod
    def write(results, file):
        for triples in results:
            file.writelines(f"{word}\t{head}\t{relation}\n" for word, head, relation in triples)
            file.write("\n")


@dataclasses.dataclass
class Data:
    """What `prepare` returns: the ``(words, heads, relations)`` sentences of each split,
    their files, the fitted preprocessor and the training and validation batches."""

    sentences: dict
    paths: dict
    preprocessor: Preprocessor
    train: LengthBatches
    valid: LengthBatches


def read_splits(config):
    """``({split: sentences}, {split: path})``; a missing valid or test split is held out
    of train (and its path is the training file's)."""
    return read_data_splits(config.data, "dependencies", SUFFIXES, read_dependencies, config.seed)


def relation_batches(preprocessor, sentences, model, batch_size, shuffle=True, seed=0):
    """`LengthBatches` of ``(inputs, relation ids, weights)``, weight 1 at the words and
    0 at the padding (whose label -1 becomes 0)."""

    def encode(chunk):
        batch = preprocessor.encode(chunk, labelled=True)
        return (model_inputs(batch, model), np.maximum(batch.labels, 0),
                batch.mask.astype("float32"))

    return LengthBatches(sentences, encode, [len(sentence[0]) for sentence in sentences],
                         batch_size, shuffle=shuffle, seed=seed, padding=padding(model))


def prepare(config):
    """Reads the splits, fits the vocabularies on train, checks that valid uses only
    training relations (test relations unseen in training are noted: they count as
    errors), and batches train and valid."""
    sentences, paths = read_splits(config)
    preprocessor = Preprocessor.fit(sentences["train"], config.min_freq, config.lowercase)
    check_labels((sentence[2] for sentence in sentences["valid"]),
                 (sentence[2] for sentence in sentences["test"]), preprocessor.relations,
                 paths, "deprel", config.verbose, noun="relation")
    train = relation_batches(preprocessor, sentences["train"], config.model, config.batch_size,
                             seed=config.seed)
    valid = relation_batches(preprocessor, sentences["valid"], config.model, config.batch_size,
                             shuffle=False)
    return Data(sentences, paths, preprocessor, train, valid)


def build(config, data):
    """The compiled relation classifier of ``config.model``, the cross-entropy and the
    accuracy over the words (`TokenAccuracy`)."""
    preprocessor = data.preprocessor
    model = build_relation_classifier(
        len(preprocessor.words), len(preprocessor.relations), config.model,
        embedding_dim=config.embedding_dim, units=config.units, steps=config.steps,
        dropout=config.dropout)
    model.compile(optimizer=make_optimizer(config.learning_rate, config.clipnorm, config.ema),
                  loss=cross_entropy(), weighted_metrics=[TokenAccuracy()])
    return model


def label_split(model, data, split, config):
    """``(gold, predicted)`` relations of every word of `split`, flat lists."""
    sentences = data.sentences[split]
    predicted = predict_relations(model, data.preprocessor, config.model, sentences,
                                  config.batch_size)
    return ([relation for sentence in sentences for relation in sentence[2]],
            [relation for relations in predicted for relation in relations])


def evaluate(model, data, config):
    """Test accuracy over all words, validation accuracy, the accuracy (recall) of each of
    the ten most frequent test relations and their confusion matrix, and the mean and
    largest height of the test trees (a root's height: its deepest word's depth)."""
    with phase("labelling the test and validation words", config.verbose):
        gold, predicted = map(np.array, label_split(model, data, "test", config))
        valid_gold, valid_predicted = label_split(model, data, "valid", config)
    top = [relation for relation, _ in collections.Counter(gold).most_common(TOP_RELATIONS)]
    heights = [max(check_heads(sentence[1])) for sentence in data.sentences["test"]]
    return {
        "accuracy": float(np.mean(gold == predicted)),
        "valid_accuracy": float(np.mean(np.array(valid_gold) == np.array(valid_predicted))),
        "by_relation": {relation: float(np.mean(predicted[gold == relation] == relation))
                        for relation in top},
        "confusion_matrix": confusion_matrix(gold, predicted, labels=top).tolist(),
        "confusion_relations": top,
        "mean_tree_height": float(np.mean(heights)), "max_tree_height": int(max(heights)),
        "test_words": int(len(gold)), "parameters": model.count_params(),
        "model": config.model,
    }


def report(model, data, config, metrics, history, folder):
    """loss.png, confusion.png (the ten most frequent relations) and predictions.conllu
    (the first 100 test sentences, their DEPREL the predicted relation)."""
    plot_history(history, folder / "loss.png")
    plot_confusion(metrics["confusion_matrix"], metrics["confusion_relations"],
                   folder / "confusion.png")
    sample = data.sentences["test"][:SAMPLE]
    predicted = predict_relations(model, data.preprocessor, config.model, sample,
                                  config.batch_size)
    (folder / "predictions.conllu").write_text(
        "\n".join(conllu_lines(words, heads, relations)
                  for (words, heads, _), relations in zip(sample, predicted)),
        encoding="utf-8")
    if config.verbose:
        print(f"{config.model} model: test accuracy {metrics['accuracy']:.4f} "
              f"(validation {metrics['valid_accuracy']:.4f})")
