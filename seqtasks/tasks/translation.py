"""The translation task: an attentional encoder-decoder, decoded greedily and by beam search.

The model (`seqtasks.models.translator.build_translator`) reads the source with a
bidirectional recurrent encoder; the decoder starts from the encoder's final states
(through a Dense "bridge") and, at every step, attends over all encoder outputs:
Luong's multiplicative attention by default, Bahdanau's additive one with
``attention="bahdanau"``. It is trained with teacher forcing (the decoder reads
``<bos> + target`` and predicts ``target + <eos>``) and decoded incrementally, one step
per output token, greedily and by beam search (`seqtasks.decoding.search`). `evaluate`
reports corpus BLEU and the exact-match rate of the test translations, both ways.

Data: a folder of TSV files of ``source<TAB>target`` lines, or, with ``source_lang``
and ``target_lang``, line-aligned files like Multi30k's ``train.en``/``train.de``; a
missing valid or test split is held out of train. Tokens are words or characters on
both sides; by default (``tokens="auto"``, `choose_tokens`) words where frequent words
make up 90% of each side's training text (sentences of a language), else characters
(dates). Training pairs with more than ``max_length`` tokens on a side are dropped (a
warning says how many; ``train_pairs_dropped`` in the metrics). Default: the embedded
dates (human-written dates -> ISO dates), which take characters.

Model sizes follow the tokens (`SIZES`, `sized`): the cell, units, embedding width,
batch size and dropout left unset (None, the default) take the word model's values on
words (a vocabulary of thousands, sentences of a language) and the character model's
on characters (dozens of symbols); any of them given is kept.

Pretrained word vectors (``tokens="word"``): ``embeddings`` start the source embeddings
and ``target_embeddings`` the target ones. The target takes a file of its own: the
source language's vectors would start the target's homographs (German "die", "was") at
the wrong meaning; for a same-language pair, give the same file twice.

>>> config = Config(epochs=1, units=8)
>>> data = prepare(config)  # doctest: +SKIP
>>> model = build(config, data)  # doctest: +SKIP
>>> Predictor(model, data.preprocessor, config).predict(["March 3rd, 2001"])  # doctest: +SKIP
['2001-03-03']
"""

import collections
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seqtasks.data.batching import LengthBatches, compiles_per_shape, length_groups, pad, pad_batch
from seqtasks.data.embedded import embedded_path
from seqtasks.data.embeddings import coverage_metrics, use_pretrained
from seqtasks.data.readers import read_parallel, read_parallel_splits
from seqtasks.data.splits import hold_out
from seqtasks.data.text import CharTokenizer, Vocabulary, WordTokenizer, tokenizer_from_config
from seqtasks.decoding.search import beam_search, greedy_decode
from seqtasks.errors import ConfigError, DataError
from seqtasks.metrics import translation_scores
from seqtasks.models.translator import ATTENTIONS, build_translator, inference_models_from
from seqtasks.plots import plot_attention, plot_history
from seqtasks.progress import phase
from seqtasks.tasks.config import TaskConfig, like, setting
from seqtasks.training import cross_entropy, make_optimizer
from seqtasks.validation import non_negative_number, positive_int

NAME = "translation"
OBJECTIVE = "val_loss"  # what a hyperparameter search optimises by default
METRICS = ("loss",)  # what the compiled model reports
SEARCHABLE = ("attention",)  # hyperparameters of this task beyond the shared ones
FIXED = {"bidirectional": True}  # the encoder is always bidirectional
SPLITS = ("train", "valid", "test")
TOKENS = ("auto", "char", "word")
WORD_COVERAGE = 0.9  # tokens="auto" takes words when frequent words are this share of each side
# The values of the settings left unset (None), by the resolved tokens: chosen on
# Multi30k's validation set (words) and the embedded dates (characters); see README.
SIZES = {
    "word": {"cell": "gru", "units": 256, "embedding_dim": 128, "batch_size": 128,
             "dropout": 0.1},
    "char": {"cell": "lstm", "units": 128, "embedding_dim": 32, "batch_size": 64,
             "dropout": 0.0},
}
SAMPLE = 200  # test pairs in translations.csv


def by_tokens(help, name):
    """`help` of a setting whose default follows the tokens (`SIZES`)."""
    return (f"{help} (none: {SIZES['word'][name]} with word tokens, "
            f"{SIZES['char'][name]} with characters)")


@dataclasses.dataclass
class Config(TaskConfig):
    """The translation task's settings (the shared ones: `TaskConfig`)."""

    cell: str | None = like("cell", None, help=by_tokens("recurrent cell", "cell"))
    units: int | None = like("units", None, help=by_tokens(
        "hidden units of each recurrent layer (and direction)", "units"))
    bidirectional: bool = like("bidirectional", True,
                               help="the encoder reads both ways; it always does here, so "
                                    "False (--no-bidirectional) is refused")
    dropout: float | None = like("dropout", None, help=by_tokens(
        "dropout rate on embeddings and between layers", "dropout"))
    embedding_dim: int | None = like("embedding_dim", None, help=by_tokens(
        "width of the token embeddings", "embedding_dim"))
    epochs: int = like("epochs", 12)
    batch_size: int | None = like("batch_size", None, help=by_tokens(
        "examples per training batch", "batch_size"))
    max_seconds: float | None = like("max_seconds", 120.0)
    learning_rate: float = like("learning_rate", 3e-3)
    ema: float = like("ema", 0.999)
    tokens: str = setting("auto", "tokens on both sides: characters (dates, codes) or words "
                                  "(sentences; the target keeps its case); auto: words when "
                                  "words seen min_freq times make up 90% of each side's "
                                  "training text, else characters", choices=TOKENS)
    attention: str = setting("luong", "attention over the encoder outputs: Luong's "
                                      "multiplicative or Bahdanau's additive",
                             choices=ATTENTIONS)
    source_lang: str | None = setting(None, "source file suffix of line-aligned data, e.g. "
                                            "en for DATA/train.en (none: TSV files)")
    target_lang: str | None = setting(None, "target file suffix of line-aligned data, e.g. "
                                            "de for DATA/train.de")
    max_vocab: int = setting(20000, "keep at most this many tokens on each side",
                             check=positive_int)
    min_freq: int = setting(3, "drop tokens seen fewer times than this in training",
                            check=positive_int)
    max_length: int = setting(80, "drop training pairs with more tokens than this on "
                                  "either side", check=positive_int)
    beam_size: int = setting(4, "beams per sentence when translating (1: greedy)",
                             check=positive_int)
    length_penalty: float = setting(0.0, "GNMT length-penalty exponent of beam search "
                                         "(0: rank by probability; 0.6-1.0 favours longer "
                                         "translations)", check=non_negative_number)
    embeddings: Path | None = setting(
        None, "pretrained word vectors of the source language to start the source "
              "embeddings from (tokens=word): a GloVe, word2vec or fastText text file (.gz "
              "too), whose dimension embedding_dim must be (none: learn them from scratch)")
    target_embeddings: Path | None = setting(
        None, "the same for the target embeddings: vectors of the target language (the "
              "embeddings file again for a same-language pair)")

    def __post_init__(self):
        super().__post_init__()
        if not self.bidirectional:
            raise ConfigError("bidirectional must be True: the translator's encoder is "
                              "always bidirectional (drop --no-bidirectional)")
        if (self.source_lang is None) != (self.target_lang is None):
            raise ConfigError("give both source_lang and target_lang (line-aligned files), "
                              "or neither (TSV files)")
        if self.tokens == "char" and (self.embeddings or self.target_embeddings):
            raise ConfigError("pretrained embeddings are word vectors: they need tokens="
                              "'word' (--tokens word)")


def sized(config, tokens):
    """`config` with its unset (None) model sizes taken from ``SIZES[tokens]``.

    >>> sized(Config(units=64), "word").units, sized(Config(units=64), "word").cell
    (64, 'gru')
    """
    return config.replace(**{name: value for name, value in SIZES[tokens].items()
                             if getattr(config, name) is None})


def choose_tokens(pairs, min_freq):
    """``"word"`` when, on each side of the training `pairs`, the words seen at least
    `min_freq` times make up at least 90% of the words (sentences of a language), else
    ``"char"`` (dates, codes, names: most of their "words" are rare, and a word model
    could not write the ones it has not learnt).

    >>> choose_tokens([("a cat", "eine Katze")] * 2, 2)
    'word'
    >>> choose_tokens([("3 May", "2020-05-03"), ("4 May", "2020-05-04")], 2)
    'char'
    """
    for side, tokenizer in enumerate(tokenizers("word")):
        counts = collections.Counter(token for pair in pairs
                                     for token in tokenizer.tokenize(pair[side]))
        frequent = sum(count for count in counts.values() if count >= min_freq)
        if frequent < WORD_COVERAGE * sum(counts.values()):
            return "char"
    return "word"


def resolved_tokens(config, pairs):
    """`config.tokens`, with ``"auto"`` resolved: words with pretrained word vectors, else
    `choose_tokens` on the training `pairs`."""
    if config.tokens != "auto":
        return config.tokens
    if config.embeddings or config.target_embeddings:
        return "word"
    return choose_tokens(pairs, config.min_freq)


def tokenizers(tokens):
    """The source and target tokenizers of ``tokens``: characters (both kept as written),
    or words (the source lower-cased, the target keeping its case: German nouns)."""
    if tokens == "char":
        return CharTokenizer(), CharTokenizer()
    return WordTokenizer(), WordTokenizer(lower=False)


class Preprocessor:
    """Sentences <-> token ids: both sides' tokenizers and vocabularies, and the most
    tokens a translation may have (1.5 times the longest training target, plus 5).

    >>> p = Preprocessor.fit([("3 May", "05-03"), ("4 May", "05-04")], min_freq=1)
    >>> p.source_ids("3 May"), p.decode(p.target_ids("05-03")), p.max_output_length
    ([8, 4, 5, 6, 7], '05-03', 12)
    """

    def __init__(self, source_tokenizer, target_tokenizer, source_vocab, target_vocab,
                 max_output_length):
        self.source_tokenizer, self.target_tokenizer = source_tokenizer, target_tokenizer
        self.source_vocab, self.target_vocab = source_vocab, target_vocab
        self.max_output_length = max_output_length

    @classmethod
    def fit(cls, pairs, tokens="char", min_freq=2, max_vocab=None):
        """Learns both vocabularies and the output length of the training `pairs`."""
        source_tokenizer, target_tokenizer = tokenizers(tokens)
        source_tokens = [source_tokenizer.tokenize(source) for source, _ in pairs]
        target_tokens = [target_tokenizer.tokenize(target) for _, target in pairs]
        longest = max(map(len, target_tokens))
        return cls(source_tokenizer, target_tokenizer,
                   Vocabulary.build(source_tokens, min_freq=min_freq, max_size=max_vocab),
                   Vocabulary.build(target_tokens, min_freq=min_freq, max_size=max_vocab),
                   int(1.5 * longest) + 5)

    def source_ids(self, text):
        """The token ids of a source sentence (``<unk>`` for unknown tokens; at least one)."""
        tokens = self.source_tokenizer.tokenize(text)
        return self.source_vocab.encode(tokens) or [self.source_vocab.unk_id]

    def target_ids(self, text):
        """The token ids of a target sentence, without ``<bos>`` and ``<eos>``."""
        return self.target_vocab.encode(self.target_tokenizer.tokenize(text))

    def decode(self, ids):
        """The target sentence of token ids (special tokens but ``<unk>`` dropped)."""
        return self.target_tokenizer.detokenize(self.target_vocab.decode(ids))

    def get_config(self):
        return {"source_tokenizer": self.source_tokenizer.get_config(),
                "target_tokenizer": self.target_tokenizer.get_config(),
                "source_vocab": self.source_vocab.get_config(),
                "target_vocab": self.target_vocab.get_config(),
                "max_output_length": self.max_output_length}

    @classmethod
    def from_config(cls, config):
        return cls(tokenizer_from_config(config["source_tokenizer"]),
                   tokenizer_from_config(config["target_tokenizer"]),
                   Vocabulary.from_config(config["source_vocab"]),
                   Vocabulary.from_config(config["target_vocab"]),
                   config["max_output_length"])


class Predictor:
    """Translates new sentences with a trained translator (`seqtasks.load` returns one).

    ``predict(texts, beam_size=None, length_penalty=None)`` -> one translation (a str)
    per text, by beam search with the config's beam size and length penalty unless
    given (``beam_size=1``: greedy); ``write(results, file)`` writes them one per line
    (``seqtasks predict``). Sentences of similar lengths are decoded together, one step
    of the decoder per output token for the whole batch (`step_calls` counts them).
    """

    def __init__(self, model, preprocessor, config):
        self.model, self.preprocessor, self.config = model, preprocessor, config
        self.encoder, self.step = inference_models_from(model)
        self.step_calls = 0

    def predict(self, texts, beam_size=None, length_penalty=None, batch_size=64):
        texts = [texts] if isinstance(texts, str) else list(texts)
        if beam_size is None:
            beam_size = self.config.beam_size
        if length_penalty is None:
            length_penalty = self.config.length_penalty
        beam_size = positive_int("beam_size", beam_size)
        length_penalty = non_negative_number("length_penalty", length_penalty)
        translations = [None] * len(texts)
        for group in length_groups([len(text) for text in texts], batch_size):
            outputs = self.translate_ids([texts[k] for k in group], beam_size,
                                         length_penalty, rows=batch_size)[0]
            for k, ids in zip(group, outputs):
                translations[k] = self.preprocessor.decode(ids)
        return translations

    @staticmethod
    def write(results, file):
        file.writelines(f"{translation}\n" for translation in results)

    def translate_ids(self, texts, beam_size=1, length_penalty=0.0, record=None, rows=None):
        """``(token ids, scores)`` of the translations of one batch of texts: the search's
        own (`seqtasks.decoding.search`); `record` collects each step's attention. On JAX
        the sources are padded to `rows` rows and their length's bucket (`pad_batch`), so
        the encoder and the decoder's step compile for a few shapes; the added rows are
        dropped."""
        source = pad([self.preprocessor.source_ids(text) for text in texts])
        if compiles_per_shape():
            source = pad_batch(source, max(rows or len(texts), len(texts)), (1,))
        ids, scores = self._search(source, beam_size, length_penalty, record)
        if record is not None:  # the rows of the texts (beam_size rows each with a beam)
            record[:] = [weights[:len(weights) * len(texts) // len(source)] for weights in record]
        return ids[:len(texts)], scores[:len(texts)]

    def _search(self, source, beam_size, length_penalty, record):
        """The search's ``(token ids, scores)`` for padded `source` ids."""
        memory, keys, *states = self.encoder.predict_on_batch(source)
        vocab = self.preprocessor.target_vocab
        search = dict(bos_id=vocab.bos_id, eos_id=vocab.eos_id,
                      context=[memory, keys, source != 0],
                      max_length=self.preprocessor.max_output_length)
        if beam_size == 1:
            return greedy_decode(self._step_function(record), states, **search)
        return beam_search(self._step_function(record), states, beam_size=beam_size,
                           length_penalty=length_penalty, **search)

    def attention_map(self, text):
        """Greedy translation of one text with its attention weights.

        Returns ``(weights, source_tokens, output_tokens)``; weights has one row per
        output token (eos included) and one column per source token.
        """
        record = []
        ids = self.translate_ids([text], record=record)[0][0]
        source_tokens = self.preprocessor.source_tokenizer.tokenize(text)
        output_tokens = self.preprocessor.target_vocab.decode(ids, strip_special=False)
        weights = np.concatenate(record)[:len(output_tokens) + 1, :len(source_tokens)]
        return weights, source_tokens, (output_tokens + ["<eos>"])[:len(weights)]

    def _step_function(self, record=None):
        def step(tokens, states, context):
            self.step_calls += 1
            log_probs, weights, *states = self.step.predict_on_batch(
                [tokens[:, None], *context, *states])
            if record is not None:
                record.append(weights)
            return log_probs, states
        return step


@dataclasses.dataclass
class Data:
    """What `prepare` returns: the sentence pairs of each split (train without the pairs
    over ``max_length``), the fitted preprocessor, the teacher-forcing batches of train
    and valid, how many training pairs were dropped and the tokens ("char", "word")."""

    pairs: dict
    preprocessor: Preprocessor
    train: LengthBatches
    valid: LengthBatches
    train_pairs_dropped: int
    tokens: str


def read_splits(config):
    """``{split: [(source, target)]}``; a missing valid or test split is held out of train."""
    if config.data is None:
        splits = {split: read_parallel(embedded_path("dates", split)) for split in SPLITS}
    else:
        splits = read_parallel_splits(config.data, config.source_lang, config.target_lang)
    return hold_out(splits, config.seed)


def within_length(pairs, tokens, max_length):
    """The `pairs` with at most `max_length` tokens (of kind `tokens`) on both sides.

    >>> within_length([("ab", "c"), ("abcd", "c")], "char", 3)
    [('ab', 'c')]
    """
    source_tokenizer, target_tokenizer = tokenizers(tokens)
    return [(source, target) for source, target in pairs
            if len(source_tokenizer.tokenize(source)) <= max_length
            and len(target_tokenizer.tokenize(target)) <= max_length]


def teacher_forcing_batches(id_pairs, bos_id, eos_id, batch_size, shuffle=True, seed=0):
    """`LengthBatches` of ``({"source", "target_in"}, target_out)`` of ``(source ids,
    target ids)`` pairs, grouped by the longer side (so both sides carry little padding;
    grouped by the source alone, a Multi30k batch's targets were 34% padding, and the
    decoder and its softmax cost most): in = bos + target, out = target + eos.

    >>> batches = teacher_forcing_batches([([5, 6], [7])], 2, 3, 8, shuffle=False)
    >>> inputs, target_out = batches[0]
    >>> inputs["target_in"].tolist(), target_out.tolist()
    ([[2, 7]], [[7, 3]])
    """
    def encode(chunk):
        inputs = {"source": pad([source for source, _ in chunk]),
                  "target_in": pad([[bos_id, *target] for _, target in chunk])}
        return inputs, pad([[*target, eos_id] for _, target in chunk])

    lengths = [max(len(source), len(target) + 1) for source, target in id_pairs]
    return LengthBatches(id_pairs, encode, lengths, batch_size, shuffle=shuffle, seed=seed)


def prepare(config):
    """Reads the splits, drops training pairs over ``max_length`` (with a warning line on
    stderr), fits the preprocessor on train and batches train and valid."""
    splits = read_splits(config)
    tokens = resolved_tokens(config, splits["train"])
    sizes = sized(config, tokens)
    if config.verbose:
        print(f"tokens: {tokens}s{' (auto)' if config.tokens == 'auto' else ''}; model: "
              f"{sizes.cell}, {sizes.units} units, embeddings {sizes.embedding_dim}, "
              f"batch {sizes.batch_size}, dropout {sizes.dropout}")
    train = within_length(splits["train"], tokens, config.max_length)
    dropped = len(splits["train"]) - len(train)
    if not train:
        raise DataError(f"all {dropped} training pairs have more than max_length="
                        f"{config.max_length} {tokens}s on a side", path=config.data)
    if dropped:
        print(f"warning: dropped {dropped} of {len(splits['train'])} training pairs with "
              f"more than max_length={config.max_length} {tokens}s on a side (raise "
              f"--max-length to keep them)", file=sys.stderr)
    preprocessor = Preprocessor.fit(train, tokens, config.min_freq, config.max_vocab)
    vocab = preprocessor.target_vocab

    def batches(pairs, **order):
        id_pairs = [(preprocessor.source_ids(source), preprocessor.target_ids(target))
                    for source, target in pairs]
        return teacher_forcing_batches(id_pairs, vocab.bos_id, vocab.eos_id,
                                       sizes.batch_size, **order)

    return Data({**splits, "train": train}, preprocessor,
                batches(train, seed=config.seed), batches(splits["valid"], shuffle=False),
                dropped, tokens)


def build(config, data):
    """The compiled translator: bidirectional encoder, bridged states, attentional decoder.
    ``config.embeddings`` (``target_embeddings``) start the source (target) embeddings of
    the words they have; each prints its coverage line. Sizes left unset follow
    ``data.tokens`` (`sized`)."""
    config = sized(config, data.tokens)
    model = build_translator(
        len(data.preprocessor.source_vocab), len(data.preprocessor.target_vocab),
        embedding_dim=config.embedding_dim, cell=config.cell, units=config.units,
        depth=config.depth, dropout=config.dropout, attention=config.attention,
    )
    use_pretrained(model.get_layer("source_embedding"), config.embeddings,
                   data.preprocessor.source_vocab, config.verbose)
    use_pretrained(model.get_layer("target_embedding"), config.target_embeddings,
                   data.preprocessor.target_vocab, config.verbose, label="target embeddings")
    model.compile(optimizer=make_optimizer(config.learning_rate, config.clipnorm, config.ema),
                  loss=cross_entropy())
    return model


def evaluate(model, data, config):
    """BLEU and exact match of the test translations, greedy and by beam search (the
    headline figures are the beam's), with the sizes of the data and vocabularies and the
    vocabularies' coverage by the pretrained embeddings files."""
    predictor = Predictor(model, data.preprocessor, config)
    sources, references = zip(*data.pairs["test"])
    with phase(f"decoding the {len(sources)} test sentences greedily", config.verbose):
        greedy, greedy_seconds = timed(predictor.predict, sources, beam_size=1)
    with phase(f"decoding them with beam search (beam {config.beam_size})", config.verbose):
        beam, beam_seconds = timed(predictor.predict, sources)
    beam_scores = translation_scores(beam, references)
    return {**beam_scores, "greedy": translation_scores(greedy, references),
            "beam": {**beam_scores, "beam_size": config.beam_size,
                     "length_penalty": config.length_penalty},
            "test_pairs": len(sources), "train_pairs": len(data.pairs["train"]),
            "train_pairs_dropped": data.train_pairs_dropped, "tokens": data.tokens,
            "source_vocab": len(data.preprocessor.source_vocab),
            "target_vocab": len(data.preprocessor.target_vocab),
            **coverage_metrics(config.embeddings, data.preprocessor.source_vocab),
            **coverage_metrics(config.target_embeddings, data.preprocessor.target_vocab,
                               label="target embeddings"),
            "greedy_seconds": greedy_seconds, "beam_seconds": beam_seconds}


def timed(call, *args, **kwargs):
    """``(call(*args, **kwargs), the seconds it took, to 0.1)``."""
    started = time.monotonic()
    result = call(*args, **kwargs)
    return result, round(time.monotonic() - started, 1)


def report(model, data, config, metrics, history, folder):
    """loss.png, attention.png (the first test sentence) and translations.csv (the first
    200 test pairs: source, reference, greedy and beam translations)."""
    plot_history(history, folder / "loss.png")
    predictor = Predictor(model, data.preprocessor, config)
    sample = data.pairs["test"][:SAMPLE]
    sources = [source for source, _ in sample]
    with phase(f"translating {len(sources)} test sentences for translations.csv",
               config.verbose):
        pd.DataFrame({"source": sources, "reference": [target for _, target in sample],
                      "greedy": predictor.predict(sources, beam_size=1),
                      "beam": predictor.predict(sources)}
                     ).to_csv(folder / "translations.csv", index=False)
    plot_attention(*predictor.attention_map(sources[0]), folder / "attention.png")
    if config.verbose:
        greedy, beam = metrics["greedy"], metrics["beam"]
        print(f"test BLEU greedy {greedy['bleu']:.2f}, beam {beam['bleu']:.2f}; exact match "
              f"greedy {greedy['exact_match']:.3f}, beam {beam['exact_match']:.3f}")
