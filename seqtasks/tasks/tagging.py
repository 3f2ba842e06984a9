"""The tagging task: one tag per word (many-to-many, aligned) with a recurrent tagger.

Every word of a sentence gets one tag: a named-entity tag in the BIO scheme (the
embedded data: ``B-PER``, ``I-LOC``, ``O``, ...) or a part-of-speech tag (Universal
Dependencies CoNLL-U files). Each word is its word embedding (looked up in lower case)
and features that a small convolutional network (or, ``char_encoder="lstm"``, a
bidirectional LSTM) computes from its characters, so that words never seen in training
still get a useful vector; word dropout makes known words ``<unk>`` at random in
training so that this path learns. A recurrent stack reads the sentence; a linear-chain
CRF over its per-word tag potentials gives the best tag sequence (``output="softmax"``:
each word's most likely tag). `finish` then trains a feature tagger (a linear CRF over
hashed spelling and neighbouring-word features, as classical taggers have:
`seqtasks.models.feature_tagger`) and, while the time budget lasts, more recurrent
taggers (other seeds, ``members``), and keeps one tagger that averages them, the feature
tagger with the weight that tags the validation sentences best. `evaluate` reports token
accuracy, entity F1 (for BIO tags) and the accuracy on words outside the vocabulary and
on words unseen in training.

The defaults were chosen on the UD English EWT development set and, for word dropout,
on the EWT and LinES development sets together (UPOS, 10 minutes of training on 2 CPU
cores); the README's "Real data" section gives the figures.

In the embedded data an ambiguous name ("Jordan") is a person, an organisation or a
place depending on the words *after* it, so a left-to-right tagger cannot know its tag
when it reaches it; the bidirectional tagger (the default) can. Compare with
``--no-bidirectional``.

Data: a folder with a training file (and optionally valid/dev and test files) in CoNLL
(``.conll``, ``.txt``: whitespace-separated columns, the token first and by default the
tag last, a blank line between sentences) or CoNLL-U (``.conllu``, by default the UPOS
tags); a missing valid or test split is held out of train. Default: the embedded
named-entity sentences.

>>> config = Config(epochs=1, units=8)
>>> data = prepare(config)  # doctest: +SKIP
>>> model = build(config, data)  # doctest: +SKIP
>>> predictor = Predictor(model, data.preprocessor, config)  # doctest: +SKIP
>>> predictor.predict(["Jordan told reporters"])  # doctest: +SKIP
[[('Jordan', 'B-PER'), ('told', 'O'), ('reporters', 'O')]]
"""

import collections
import dataclasses
import functools
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import confusion_matrix

from seqtasks.cells.registry import CELLS
from seqtasks.data.batching import LengthBatches, bucket, compiles_per_shape, pad
from seqtasks.data.embedded import embedded_path
from seqtasks.data.embeddings import coverage_metrics, use_pretrained
from seqtasks.data.readers import CONLLU_FIELDS, read_tagged
from seqtasks.data.splits import find_splits, hold_out
from seqtasks.data.text import PAD, UNK, Vocabulary
from seqtasks.data.word_features import SLOTS, feature_ids
from seqtasks.distribute import distribution_scope
from seqtasks.errors import ConfigError, DataError
from seqtasks.metrics import tagging_scores
from seqtasks.layers import CRF, CRFModel
from seqtasks.models.accuracy import TokenAccuracy
from seqtasks.models.feature_tagger import build_feature_tagger
from seqtasks.models.mixtures import average_of_taggers, members_of_mixture
from seqtasks.models.tagger import CHAR_ENCODERS, OUTPUTS, build_tagger
from seqtasks.plots import plot_confusion, plot_history
from seqtasks.progress import phase
from seqtasks.tasks.config import TaskConfig, like, setting
from seqtasks.tasks.members import train_members
from seqtasks.tasks.runner import train
from seqtasks.training import compiled, cross_entropy, make_optimizer, predict_batch
from seqtasks.validation import positive_int, rate

NAME = "tagging"
OBJECTIVE = "val_accuracy"  # what a hyperparameter search optimises by default
METRICS = ("loss", "accuracy")  # what the compiled model reports
SEARCHABLE = ()  # hyperparameters of this task beyond the shared ones
FIXED = {}  # values the architecture imposes on shared hyperparameters
SPLITS = ("train", "valid", "test")
SUFFIXES = (".conll", ".conllu", ".txt")
SAMPLE_SENTENCES = 30  # test sentences in predictions.txt
# The feature tagger: its hashed feature ids, training (Adam, early stopping on the
# validation loss, at most this share of max_seconds) and the weights tried for it.
FEATURE_BUCKETS, FEATURE_LEARNING_RATE, FEATURE_PATIENCE = 2**18, 1e-2, 2
FEATURE_EPOCHS, FEATURE_TIME_SHARE = 30, 0.25
FEATURE_WEIGHTS = np.linspace(0.0, 1.0, 11)
FEATURE_TAGGER = "feature_tagger"


def valid_tag_column(name, value):
    """`value`, lower-cased, if it is a CoNLL-U field name or a column number ("-1")."""
    value = value.strip().lower()
    if value in CONLLU_FIELDS or value.removeprefix("-").isdigit():
        return value
    raise ConfigError(f"{name} must be a CoNLL-U field ({', '.join(CONLLU_FIELDS)}) or a "
                      f"0-based column number, got {value!r}")


@dataclasses.dataclass
class Config(TaskConfig):
    """The tagging task's settings (the shared ones: `TaskConfig`).

    >>> Config(cell="tdnn", bidirectional=False).cell
    'tdnn'
    """

    cell: str = like("cell", "lstm", choices=(*CELLS, "tdnn"))
    bidirectional: bool = like("bidirectional", True)
    units: int = like("units", 128)
    dropout: float = like("dropout", 0.33)
    embedding_dim: int = like("embedding_dim", 100, help="width of the word embeddings")
    epochs: int = like("epochs", 40)
    learning_rate: float = like("learning_rate", 2e-3)
    ema: float = like("ema", 0.999)
    patience: int = like("patience", 5)
    max_seconds: float | None = like("max_seconds", 150.0)
    tag_column: str | None = setting(
        None, "where the tags are: a CoNLL-U field (upos, xpos, ...) or a 0-based column "
              "number (-1: the last); default: upos in CoNLL-U files, the last column in "
              "CoNLL files", check=valid_tag_column)
    monitor: str = setting("val_accuracy", "early stopping watches this and keeps its best "
                                       "epoch", choices=("val_loss", "val_accuracy"))
    output: str = setting("crf", "softmax: each word's most likely tag; crf: the most "
                                     "likely tag sequence under a linear-chain CRF",
                          choices=OUTPUTS)
    word_dropout: float = setting(0.25, "in training, replace each word by <unk> with this "
                                        "probability (the unknown-word path learns)",
                                  check=rate)
    features: bool = setting(True, "also train a feature tagger (a linear CRF over hashed "
                                   "spelling and neighbouring-word features) and mix it "
                                   "into the recurrent taggers with the weight (0-1, in "
                                   "steps of 0.1) that tags the validation sentences best")
    members: int = setting(3, "train up to this many taggers (seeds SEED, SEED+1, ...) one "
                              "after another and average them (tag scores and CRF "
                              "transitions); another starts only while the time budget "
                              "left is at least the longest one took", check=positive_int)
    char_features: bool = setting(True, "add character features to each word (they give "
                                         "unseen words a vector from their spelling)")
    char_encoder: str = setting("cnn", "what reads each word's characters: a convolution "
                                        "with max pooling, or a bidirectional LSTM",
                                choices=CHAR_ENCODERS)
    char_filters: int = setting(64, "width of the character features", check=positive_int)
    min_freq: int = setting(2, "training words seen fewer times become <unk> (which teaches "
                               "the model a vector for unknown words)", check=positive_int)
    lowercase: bool = setting(True, "look words up in lower case (fewer unknown words; the "
                                      "characters keep the case)")
    embeddings: Path | None = setting(
        None, "pretrained word vectors to start the word embeddings from: a GloVe, word2vec "
              "or fastText text file (.gz too), whose dimension embedding_dim must be; words "
              "it lacks start random (none: all do)")

    def __post_init__(self):
        super().__post_init__()
        if self.cell == "tdnn" and self.bidirectional:
            raise ConfigError("cell tdnn sees past inputs only and cannot be bidirectional; "
                              "set bidirectional to False (--no-bidirectional)")


class Preprocessor:
    """Sentences <-> model tensors: the word, tag and character vocabularies.

    Words and characters reserve ``<pad>`` (0) and ``<unk>`` (1); tags reserve ``<pad>``
    only, which the model never predicts. Words are cut to `max_word_length` characters.
    With `lowercase`, words are looked up in lower case (the characters keep their case).

    >>> p = Preprocessor.fit([(["Jordan", "said"], ["B-PER", "O"])], min_freq=1)
    >>> p.encode([["Jordan", "smiled"]])["words"].tolist(), p.tags.tokens
    ([[2, 1]], ['<pad>', 'B-PER', 'O'])
    >>> Preprocessor.fit([(["Jordan"], ["B-PER"])], min_freq=1, lowercase=True).words.tokens
    ['<pad>', '<unk>', 'jordan']
    """

    def __init__(self, words, tags, chars=None, max_word_length=20, lowercase=False,
                 feature_buckets=FEATURE_BUCKETS):
        self.words, self.tags, self.chars = words, tags, chars
        self.max_word_length, self.lowercase = max_word_length, lowercase
        self.feature_buckets = feature_buckets

    @classmethod
    def fit(cls, sentences, min_freq=2, chars=True, max_word_length=20, lowercase=False):
        """The vocabularies of training ``(tokens, tags)`` `sentences`; words seen fewer
        than `min_freq` times are left out (they become ``<unk>``)."""
        token_lists = [tokens for tokens, _ in sentences]
        words = Vocabulary.build(([token.lower() for token in tokens] if lowercase else tokens
                                  for tokens in token_lists),
                                 min_freq=min_freq, reserved=(PAD, UNK))
        tags = Vocabulary.build((tags for _, tags in sentences), reserved=(PAD,))
        char_vocab = Vocabulary.build((list(token) for tokens in token_lists
                                       for token in tokens), reserved=(PAD, UNK))
        return cls(words, tags, char_vocab if chars else None, max_word_length, lowercase)

    def word_key(self, token):
        """How `token` is looked up in the word vocabulary."""
        return token.lower() if self.lowercase else token

    def knows(self, token):
        """Whether `token` has a word vector of its own (else it is ``<unk>``)."""
        return self.word_key(token) in self.words

    def encode(self, token_lists, names=None):
        """The model inputs `names` of lists of tokens, int32, 0-padded: ``words``
        (n, longest), ``chars`` (n, longest, max_word_length; only with characters) and
        ``features`` (n, longest, SLOTS: `features`). Default `names`: the words and,
        with characters, the chars (a recurrent tagger's inputs)."""
        names = names or (("words", "chars") if self.chars is not None else ("words",))
        inputs = {"words": pad([self.words.encode(map(self.word_key, tokens))
                                for tokens in token_lists])}
        if "chars" in names:
            inputs["chars"] = self.encode_chars(token_lists, inputs["words"].shape)
        if "features" in names:
            inputs["features"] = pad([self.features(tokens) for tokens in token_lists])
        return {name: inputs[name] for name in names}

    def features(self, tokens):
        """The hashed features of each token, (len(tokens), SLOTS) int32
        (`seqtasks.data.word_features.feature_ids`)."""
        return feature_ids(tokens, self.feature_buckets)

    def encode_chars(self, token_lists, shape):
        """The character ids of every token, (*shape, max_word_length)."""
        chars = np.zeros((*shape, self.max_word_length), dtype="int32")
        for i, tokens in enumerate(token_lists):
            for j, token in enumerate(tokens):
                ids = self.chars.encode(token[:self.max_word_length])
                chars[i, j, :len(ids)] = ids
        return chars

    def encode_tags(self, tag_lists):
        """Tag ids, int32 (n, longest), padded with 0."""
        return pad([self.tags.encode(tags) for tags in tag_lists])

    def decode(self, tag_ids, lengths):
        """The tags of each row of `tag_ids` (batch, T), cut to its length."""
        return [self.tags.decode(row[:length], strip_special=False)
                for row, length in zip(tag_ids, lengths)]

    def get_config(self):
        return {"words": self.words.get_config(), "tags": self.tags.get_config(),
                "chars": None if self.chars is None else self.chars.get_config(),
                "max_word_length": self.max_word_length, "lowercase": self.lowercase,
                "feature_buckets": self.feature_buckets}

    @classmethod
    def from_config(cls, config):
        chars = config["chars"]
        return cls(Vocabulary.from_config(config["words"]), Vocabulary.from_config(config["tags"]),
                   None if chars is None else Vocabulary.from_config(chars),
                   config["max_word_length"], config.get("lowercase", False),
                   config.get("feature_buckets", FEATURE_BUCKETS))


def tokens_of(sentence):
    """A sentence's tokens: a string split at whitespace, or a list of string tokens."""
    tokens = sentence.split() if isinstance(sentence, str) else list(sentence)
    if not all(isinstance(token, str) for token in tokens):
        raise ConfigError(f"a sentence is a string or a list of string tokens, got {sentence!r}")
    return tokens


class Predictor:
    """Tags new sentences with a trained tagger (`seqtasks.load` returns one).

    ``predict(sentences)`` -> for each sentence (a string split at whitespace, or a list
    of tokens) its ``(token, tag)`` pairs; ``write(results, file)`` writes them as
    ``token<TAB>tag`` lines with a blank line after each sentence (``seqtasks predict``).

    >>> predictor = seqtasks.load("runs/tagging")  # doctest: +SKIP
    >>> predictor.predict(["Jordan told reporters", ["Ford", "said"]])  # doctest: +SKIP
    [[('Jordan', 'B-PER'), ('told', 'O'), ('reporters', 'O')], [('Ford', 'B-ORG'), ...]]
    """

    def __init__(self, model, preprocessor, config):
        self.model, self.preprocessor, self.config = model, preprocessor, config
        self.decode = viterbi_decoder(model)  # compiled on the first call, then reused

    def predict(self, sentences, batch_size=64):
        sentences = [sentences] if isinstance(sentences, str) else list(sentences)
        token_lists = [tokens_of(sentence) for sentence in sentences]
        tag_lists = predict_tags(self.model, self.preprocessor, token_lists, batch_size,
                                 self.decode)
        return [list(zip(tokens, tags)) for tokens, tags in zip(token_lists, tag_lists)]

    @staticmethod
    def write(results, file):
        for pairs in results:
            file.writelines(f"{token}\t{tag}\n" for token, tag in pairs)
            file.write("\n")


def tagger_outputs(model, preprocessor, token_lists, batch_size=64):
    """``[(rows, outputs, lengths)]``: the tagger's outputs (batch, longest, tags) for
    batches of the non-empty lists of tokens of similar lengths (the same batches for
    any tagger), `rows` their indices in `token_lists`. The model gets the inputs it
    takes (`Preprocessor.encode`)."""
    filled = [k for k, tokens in enumerate(token_lists) if tokens]
    if not filled:
        return []
    names = tuple(model.input) if isinstance(model.input, dict) else None
    batches = LengthBatches([token_lists[k] for k in filled],
                            lambda chunk: preprocessor.encode(chunk, names),
                            [len(token_lists[k]) for k in filled], batch_size, shuffle=False)
    results = []
    for index, group in enumerate(batches.groups):
        lengths = [len(batches.examples[k]) for k in group]
        outputs = predict_batch(model, batches[index], batch_size)[:, :max(lengths)]
        results.append(([filled[k] for k in group], outputs, lengths))
    return results


def viterbi_decoder(model):
    """The compiled ``crf.decode`` of a trained `CRFModel` (`compiled`: its weights as
    they are now), None for a softmax tagger."""
    return compiled(model.crf.decode) if isinstance(model, CRFModel) else None


def predict_tags(model, preprocessor, token_lists, batch_size=64, decode=None):
    """The predicted tags of each list of tokens (batched by length; none for no tokens),
    decoded by `decode` (default: a new `viterbi_decoder` of the model)."""
    tag_lists = [[] for _ in token_lists]
    decode = decode or viterbi_decoder(model)
    for rows, outputs, lengths in tagger_outputs(model, preprocessor, token_lists, batch_size):
        tag_ids = best_tag_ids(model, outputs, lengths, decode)
        for k, tags in zip(rows, preprocessor.decode(tag_ids, lengths)):
            tag_lists[k] = tags
    return tag_lists


def best_tag_ids(model, outputs, lengths, decode=None):
    """The tag id of every step of the tagger's `outputs` (batch, T, tags), never the
    padding tag 0: the CRF's best tag sequence (Viterbi: `decode`, by default its
    ``crf.decode``), or each softmax's argmax. Where a backend compiles per shape (JAX),
    the potentials are padded to the `bucket` of their rows and steps (masked), so that a
    compiled `decode` compiles a few shapes, not one per batch length."""
    if not isinstance(model, CRFModel):
        return np.argmax(outputs[..., 1:], axis=-1) + 1
    rows, steps = np.shape(outputs)[:2]
    padded = (bucket(rows), bucket(steps)) if compiles_per_shape() else (rows, steps)
    potentials = np.zeros((*padded, np.shape(outputs)[2]), "float32")
    potentials[:rows, :steps] = outputs
    potentials[..., 0] = -1e9  # the padding tag is never part of a sentence's path
    lengths = np.pad(np.asarray(lengths), (0, padded[0] - rows))  # added rows: length 0
    mask = np.arange(padded[1])[None, :] < lengths[:, None]
    tag_ids = (decode or model.crf.decode)(potentials, mask)
    return keras.ops.convert_to_numpy(tag_ids)[:rows, :steps]


@dataclasses.dataclass
class Data:
    """What `prepare` returns: the splits as ``(tokens, tags)`` sentences, their files, the
    fitted preprocessor and the training and validation batches."""

    sentences: dict
    paths: dict
    preprocessor: Preprocessor
    train: LengthBatches
    valid: LengthBatches


def tag_field(path, tag_column):
    """Where the tags of `path` are: ``(0-based column, field separator)`` (the
    separator None: whitespace, as in CoNLL files)."""
    conllu = path.suffix.lower() == ".conllu"
    column = tag_column or ("upos" if conllu else "-1")
    if column not in CONLLU_FIELDS:
        return int(column), "\t" if conllu else None
    if not conllu:
        raise ConfigError(f"tag_column for CoNLL files such as {path.name} is a column "
                          f"number, got {column!r}")
    return CONLLU_FIELDS.index(column), "\t"


def read_sentences(path, tag_column):
    """The ``(tokens, tags)`` sentences of a CoNLL or CoNLL-U file."""
    return read_tagged(path, tag_column=tag_field(path, tag_column)[0])


def read_splits(config):
    """``({split: sentences}, {split: path})``; a missing valid or test split is held out
    of train (and its path is the training file's)."""
    if config.data is None:
        paths = {split: embedded_path("tagging", split) for split in SPLITS}
    else:
        paths = find_splits(config.data, SUFFIXES)
    sentences = hold_out({split: read_sentences(path, config.tag_column) if path else None
                          for split, path in paths.items()}, config.seed)
    return sentences, {split: paths[split] or paths["train"] for split in SPLITS}


def line_of_tag(path, tag, tag_column):
    """The 1-based line of the first token of `path` tagged `tag` (None if none is)."""
    column, separator = tag_field(path, tag_column)
    lines = path.read_text(encoding="utf-8-sig").split("\n")
    for number, line in enumerate(lines, start=1):
        fields = line.removesuffix("\r").split(separator)
        if -len(fields) <= column < len(fields) and fields[column] == tag:
            return number
    return None


def unseen_labels(label_rows, known):
    """A `collections.Counter` of the labels of `label_rows` (one list a sentence) that
    are not in `known`: their tokens, in order of first occurrence.

    >>> dict(unseen_labels([["O", "I-LST", "I-LST"]], {"O"}))
    {'I-LST': 2}
    """
    return collections.Counter(label for row in label_rows for label in row
                               if label not in known)


def check_labels(valid_rows, test_rows, known, paths, column, verbose, noun="tag"):
    """Checks the validation and test labels (one list a sentence) against the training
    labels `known`; `paths` names each split's file, `column` the labels' field.

    A validation label that training never shows is a DataError naming its file and
    line (validation labels feed the validation loss). Test labels that training never
    shows only get a note naming the first one's line (unless not `verbose`): they count
    as errors, since the model cannot predict them, and standard test sets have such
    labels (CoNLL-2000's test has I-LST, its training data only B-LST).
    """
    unknown = next(iter(unseen_labels(valid_rows, known)), None)
    if unknown is not None:
        raise DataError(f"{noun} {unknown!r} does not occur in the training sentences, so "
                        f"the model cannot predict it", path=paths["valid"],
                        line=line_of_tag(paths["valid"], unknown, column))
    found = unseen_labels(test_rows, known)
    if found and verbose:
        line = line_of_tag(paths["test"], next(iter(found)), column)
        where = f"{paths['test']}:{line}" if line else f"{paths['test']}"
        listed = ", ".join(f"{label!r} ({count})" for label, count in found.items())
        print(f"note: {where}: test {noun}s that do not occur in the training sentences "
              f"count as errors (the model cannot predict them): {listed}", flush=True)


def feature_batches(preprocessor, sentences, batch_size, shuffle=True, seed=0):
    """`LengthBatches` of ``({"features"}, tag ids)`` of sentences of similar lengths (the
    feature tagger's), each sentence's features hashed once."""
    examples = [(preprocessor.features(tokens), tags) for tokens, tags in sentences]

    def encode(chunk):
        return ({"features": pad([features for features, _ in chunk])},
                preprocessor.encode_tags([tags for _, tags in chunk]))

    return LengthBatches(examples, encode, [len(tags) for _, tags in sentences], batch_size,
                         shuffle=shuffle, seed=seed)


def tagged_batches(preprocessor, sentences, batch_size, shuffle=True, seed=0):
    """`LengthBatches` of ``(inputs, tag ids)`` of sentences of similar lengths."""

    def encode(chunk):
        return (preprocessor.encode([tokens for tokens, _ in chunk]),
                preprocessor.encode_tags([tags for _, tags in chunk]))

    return LengthBatches(sentences, encode, [len(tokens) for tokens, _ in sentences],
                         batch_size, shuffle=shuffle, seed=seed)


def prepare(config):
    """Reads the splits, fits the vocabularies on train, checks that valid uses only
    training tags (test tags unseen in training are noted: they count as errors), and
    batches train and valid."""
    sentences, paths = read_splits(config)
    preprocessor = Preprocessor.fit(sentences["train"], config.min_freq, config.char_features,
                                    lowercase=config.lowercase)
    check_labels((tags for _, tags in sentences["valid"]),
                 (tags for _, tags in sentences["test"]), preprocessor.tags, paths,
                 config.tag_column, config.verbose)
    train = tagged_batches(preprocessor, sentences["train"], config.batch_size,
                           seed=config.seed)
    valid = tagged_batches(preprocessor, sentences["valid"], config.batch_size, shuffle=False)
    return Data(sentences, paths, preprocessor, train, valid)


def build(config, data):
    """The compiled tagger: word embeddings (and character features) -> recurrent stack
    -> a softmax over the tags at every word, or tag potentials into a CRF. The padded
    steps carry the embedding's mask to the output, so Keras leaves them out of the loss
    and the accuracy. With ``config.embeddings``, the file's vectors start the embeddings
    of the words it has (its coverage line is printed)."""
    preprocessor = data.preprocessor
    model = build_tagger(
        len(preprocessor.words), len(preprocessor.tags), embedding_dim=config.embedding_dim,
        cell=config.cell, units=config.units, depth=config.depth,
        bidirectional=config.bidirectional, dropout=config.dropout,
        word_dropout=config.word_dropout, output=config.output,
        char_vocab_size=len(preprocessor.chars) if preprocessor.chars else None,
        char_encoder=config.char_encoder, char_filters=config.char_filters,
        max_word_length=preprocessor.max_word_length, seed=config.seed,
    )
    use_pretrained(model.get_layer("word_embedding"), config.embeddings, preprocessor.words,
                   config.verbose)
    return compile_tagger(model, config)


def finish(model, data, config, work, history):
    """The tagger to keep: `model`, averaged with what trains here after it (`history` is
    `model`'s; without its ``attrs["seconds"]``, as from a search, its time is not
    counted):

    - with ``config.features`` and time left, a feature tagger (`train_feature_tagger`,
      in ``work/features``);
    - with ``config.members`` > 1, more recurrent taggers one after another (seeds
      ``config.seed + 1``, ...; each in ``work/members/K``), while the time left of
      ``config.max_seconds`` is at least the longest recurrent training so far.

    The recurrent taggers are averaged with equal weights, and the feature tagger joins
    them with the weight of `feature_weight` (`average_of_taggers`)."""
    first_seconds = history.attrs.get("seconds", 0.0)
    left = config.max_seconds and config.max_seconds - first_seconds
    features, spent = (train_feature_tagger(data, config, work, first_seconds)
                       if config.features and (left is None or left > 0) else (None, 0.0))
    taggers = train_members(build, model, data, config, work, first_seconds,
                            spent, noun="tagger")
    recurrent = average_of_taggers(taggers) if len(taggers) > 1 else model
    weight = feature_weight(recurrent, features, data, config) if features else 0.0
    if not weight:
        return recurrent
    share = (1.0 - weight) / len(taggers)
    return average_of_taggers(taggers + [features], [share] * len(taggers) + [weight])


def train_feature_tagger(data, config, work, spent):
    """``(tagger, seconds)``: a feature tagger (`build_feature_tagger`: a CRF, or a
    softmax as ``config.output`` says) trained on the hashed features of the training
    sentences in ``work/features`` (Adam, early stopping on the validation loss), for at
    most `FEATURE_TIME_SHARE` of ``config.max_seconds`` and what `spent` seconds left of
    it (some must be left), and its training time."""
    preprocessor = data.preprocessor
    feature_config = config.replace(
        learning_rate=FEATURE_LEARNING_RATE, ema=0.0, epochs=FEATURE_EPOCHS,
        patience=FEATURE_PATIENCE, monitor="val_loss",
        max_seconds=config.max_seconds and min(config.max_seconds * FEATURE_TIME_SHARE,
                                               config.max_seconds - spent))
    with distribution_scope(config.distribute):
        tagger = compile_tagger(build_feature_tagger(
            len(preprocessor.tags), preprocessor.feature_buckets, SLOTS, config.output,
            name=FEATURE_TAGGER), feature_config)
    batches = {split: feature_batches(preprocessor, data.sentences[split], config.batch_size,
                                      shuffle=split == "train", seed=config.seed)
               for split in ("train", "valid")}
    folder = Path(work) / "features"
    folder.mkdir(parents=True, exist_ok=True)
    with phase("training the feature tagger", config.verbose):
        history = train(tagger, dataclasses.replace(data, **batches), feature_config, folder)
    return tagger, history.attrs["seconds"]


def feature_weight(tagger, features, data, config):
    """The weight ``w`` of `FEATURE_WEIGHTS` (the smallest on a tie) for which ``(1 - w)
    * tagger + w * features`` (their tag potentials and CRF transitions, or their
    probabilities) tags the most validation words right."""
    preprocessor = data.preprocessor
    token_lists, gold = map(list, zip(*data.sentences["valid"]))
    gold = [preprocessor.tags.encode(tags) for tags in gold]
    first, second = (tagger_outputs(m, preprocessor, token_lists, config.batch_size)
                     for m in (tagger, features))
    crf = CRF(tagger.crf.num_tags) if isinstance(tagger, CRFModel) else None
    if crf is not None:
        crf.build()
        # The averaged CRF weights are arguments, so one compiled decoder serves every w.
        decode_with = compiled(lambda weights, potentials, mask: stateless_decode(
            crf, weights, potentials, mask))
    right = []
    for w in FEATURE_WEIGHTS:
        decode = None
        if crf is not None:
            weights = [(1 - w) * a + w * b for a, b in zip(tagger.crf.get_weights(),
                                                            features.crf.get_weights())]
            decode = functools.partial(decode_with, weights)
        hits = 0
        for (rows, a, lengths), (_, b, _) in zip(first, second):
            tag_ids = best_tag_ids(tagger, (1 - w) * a + w * b, lengths, decode)
            hits += sum(int(np.sum(ids[:n] == gold[k]))
                        for k, ids, n in zip(rows, tag_ids, lengths))
        right.append(hits)
    return float(FEATURE_WEIGHTS[int(np.argmax(right))])


def stateless_decode(crf, weights, potentials, mask):
    """``crf.decode`` with the CRF's weights taken from `weights` (its variables' order)."""
    with keras.StatelessScope(state_mapping=list(zip(crf.weights, weights))):
        return crf.decode(potentials, mask)


def compile_tagger(model, config):
    """`model` compiled with Adam (`config`'s rate, clipping, moving average) and the
    token accuracy (`TokenAccuracy`: every word counts alike); the softmax tagger's loss
    is the cross-entropy per token, a `CRFModel`'s its CRF's negative log-likelihood (no
    compiled loss)."""
    crf = isinstance(model, CRFModel)
    model.compile(optimizer=make_optimizer(config.learning_rate, config.clipnorm, config.ema),
                  loss=None if crf else cross_entropy(), weighted_metrics=[TokenAccuracy()])
    return model


def unknown_word_scores(token_lists, gold, predicted, known, prefix):
    """``{PREFIX_rate, PREFIX_accuracy}``: the share of tokens for which `known(token)` is
    false and the accuracy on them (None without any)."""
    hits = [g == p for tokens, gold_tags, tags in zip(token_lists, gold, predicted)
            for token, g, p in zip(tokens, gold_tags, tags) if not known(token)]
    return {f"{prefix}_rate": len(hits) / sum(map(len, token_lists)),
            f"{prefix}_accuracy": float(np.mean(hits)) if hits else None}


def tag_split(model, data, split, batch_size, decode=None):
    """``(token lists, gold tags, predicted tags)`` of the sentences of `split` (decoded
    by `decode`, as in `predict_tags`)."""
    token_lists, gold = map(list, zip(*data.sentences[split]))
    return token_lists, gold, predict_tags(model, data.preprocessor, token_lists, batch_size,
                                           decode)


def parts_of(model):
    """``{"members": the recurrent taggers a `finish`ed tagger averages, "feature_weight":
    the feature tagger's weight in it (0 without one)}``."""
    members, _, weight = members_of_mixture(model, FEATURE_TAGGER)
    return {"members": len(members), "feature_weight": weight}


def evaluate(model, data, config):
    """Test token accuracy, entity F1 (BIO tags only), the rate of and accuracy on words
    outside the vocabulary (oov: ``<unk>`` to the model) and on words unseen in training,
    validation accuracy, the test tokens whose tag training never shows (counted as
    errors) and the test confusion matrix (of the training tags)."""
    with phase("tagging the test and validation sentences", config.verbose):
        decode = viterbi_decoder(model)  # one compiled decoder for both splits
        token_lists, gold, predicted = tag_split(model, data, "test", config.batch_size, decode)
        _, valid_gold, valid_predicted = tag_split(model, data, "valid", config.batch_size,
                                                   decode)
    preprocessor = data.preprocessor
    training_words = {token for tokens, _ in data.sentences["train"] for token in tokens}
    tags = sorted(preprocessor.tags.tokens[1:])
    matrix = confusion_matrix([tag for row in gold for tag in row],
                              [tag for row in predicted for tag in row], labels=tags)
    return {**tagging_scores(gold, predicted),
            **unknown_word_scores(token_lists, gold, predicted, preprocessor.knows, "oov"),
            **unknown_word_scores(token_lists, gold, predicted, training_words.__contains__,
                                  "unseen"),
            "valid_accuracy": tagging_scores(valid_gold, valid_predicted)["accuracy"],
            "unseen_tag_tokens": sum(unseen_labels((tags for _, tags in data.sentences["test"]),
                                                   preprocessor.tags).values()),
            **coverage_metrics(config.embeddings, data.preprocessor.words),
            "test_sentences": len(token_lists), "parameters": model.count_params(),
            **parts_of(model),
            "confusion_matrix": matrix.tolist(), "tags": tags}


def write_sample(sentences, predicted, file):
    """``token<TAB>gold<TAB>predicted`` lines (a fourth field ``*`` marks an error), a
    blank line after each sentence."""
    file.write("# token gold predicted (* marks an error)\n")
    for (tokens, gold), tags in zip(sentences, predicted):
        for token, right, guess in zip(tokens, gold, tags):
            mark = "" if right == guess else "\t*"
            file.write(f"{token}\t{right}\t{guess}{mark}\n")
        file.write("\n")


def report(model, data, config, metrics, history, folder):
    """loss.png, confusion.png and predictions.txt (the first 30 test sentences)."""
    plot_history(history, folder / "loss.png")
    plot_confusion(metrics["confusion_matrix"], metrics["tags"], folder / "confusion.png")
    sample = data.sentences["test"][:SAMPLE_SENTENCES]
    predicted = predict_tags(model, data.preprocessor, [tokens for tokens, _ in sample],
                             config.batch_size)  # the batches' shape: no new compile on JAX
    with open(folder / "predictions.txt", "w", encoding="utf-8") as file:
        write_sample(sample, predicted, file)
    if config.verbose:
        shown = {"accuracy": "test accuracy", "f1": "entity F1",
                 "oov_accuracy": "on words outside the vocabulary",
                 "unseen_accuracy": "on words unseen in training"}
        print(", ".join(f"{label} {metrics[key]:.4f}" for key, label in shown.items()
                        if metrics.get(key) is not None))
