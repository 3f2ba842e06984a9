"""The generation task: a character language model that continues a text (one-to-many).

The model reads text one character at a time and predicts the next character at every
step (an Embedding, ``depth`` recurrent layers, a softmax over the characters). It is
trained with truncated backpropagation through time on windows of ``seq_len``
characters, either random windows redrawn every epoch (``batching="random"``) or the
text cut into ``batch_size`` rows walked in order by a stateful model that carries its
states from one batch to the next (``batching="sequential"``; the states start at zero
at every epoch). It then generates one-to-many: from a prompt, sample a character,
feed it back, repeat; a step model over the same layers carries the recurrent state,
so each new character costs one step (`seqtasks.decoding.sampling.generate`).

Data: a plain UTF-8 text file; default: CPython's bundled documentation text
(`pydoc_text()`, about 465,000 characters). The first 90% is the training text and the
last 10% the validation text (nanoGPT's convention); ``max_chars`` keeps only the
first characters. `evaluate` scores the whole validation text, the state carried
through it, beside an add-k n-gram model fitted on the training text.

>>> config = Config(epochs=1, units=16, max_chars=6000)
>>> data = prepare(config)  # doctest: +SKIP
>>> model = build(config, data)  # doctest: +SKIP
>>> Predictor(model, data.preprocessor, config).predict(["def "], 8)  # doctest: +SKIP
['main(sel']
"""

import dataclasses
import json
import time
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure

from seqtasks.analysis.ngram import NGramLanguageModel, best_smoothing
from seqtasks.cells.registry import CELLS
from seqtasks.data.batching import SequentialBatches, WindowBatches
from seqtasks.data.readers import read_text
from seqtasks.data.synthetic import pydoc_text
from seqtasks.data.text import PAD, UNK, CharTokenizer, Vocabulary, tokenizer_from_config
from seqtasks.decoding.sampling import generate
from seqtasks.errors import ConfigError, DataError
from seqtasks.metrics import perplexity
from seqtasks.models.language_model import (
    ResetStates, build_language_model, position_cross_entropy, step_model_from,
    stream_cross_entropy,
)
from seqtasks.plots import plot_history
from seqtasks.progress import phase
from seqtasks.tasks.config import TaskConfig, float_list, like, setting
from seqtasks.training import make_optimizer
from seqtasks.validation import non_negative_number, positive_int

NAME = "generation"
OBJECTIVE = "val_loss"  # what a hyperparameter search optimises by default
METRICS = ("loss",)  # what the compiled model reports
SEARCHABLE = ()  # hyperparameters of this task beyond the shared ones
FIXED = {"bidirectional": False}  # a language model reads left to right only
BATCHINGS = ("random", "sequential")
DEFAULT_SOURCE = "pydoc_text()"  # what errors about the default text name


def temperature_list(name, values):
    """`values` as a tuple of sampling temperatures (at least one, each >= 0)."""
    temperatures = tuple(non_negative_number(name, value) for value in values)
    if not temperatures:
        raise ConfigError(f"{name} must hold at least one temperature")
    return temperatures


@dataclasses.dataclass
class Config(TaskConfig):
    """The generation task's settings (the shared ones: `TaskConfig`)."""

    data: Path | None = like("data", None, help="a plain UTF-8 text file; default: CPython's "
                                           "documentation text (pydoc_text())")
    cell: str = like("cell", "gru", choices=(*CELLS, "tdnn"))
    units: int = like("units", 256)
    epochs: int = like("epochs", 30)
    batch_size: int = like("batch_size", 64)
    max_seconds: float | None = like("max_seconds", 130.0)
    learning_rate: float = like("learning_rate", 5e-3)
    ema: float = like("ema", 0.999)
    seq_len: int = setting(64, "truncated-BPTT window length in characters",
                           check=positive_int)
    batching: str = setting(
        "random", "random: windows at random places, redrawn every epoch; sequential: the "
                  "text cut into batch-size rows read in order by a stateful model that "
                  "carries its state across batches", choices=BATCHINGS)
    max_chars: int | None = setting(None, "use only the first N characters of the text",
                                    check=positive_int)
    sample_length: int = setting(400, "characters of each sample in samples.txt",
                                 check=positive_int)
    temperatures: tuple[float, ...] = setting(
        (0.6, 0.8, 1.0), "sampling temperatures of samples.txt, comma-separated",
        check=temperature_list, parse=float_list)
    top_k: int | None = setting(None, "sample among the k most likely characters only "
                                      "(none: all)", check=positive_int)
    prompt: str | None = setting(None, "the text samples.txt continues (default: the "
                                       "validation text's first 40 characters)")
    eval_rows: int = setting(32, "parallel pieces of the validation text when scoring it",
                             check=positive_int)
    baseline_order: int = setting(5, "n of the n-gram baseline", check=positive_int)

    def __post_init__(self):
        super().__post_init__()
        if self.bidirectional:
            raise ConfigError("bidirectional: a language model reads left to right only")
        if self.batching == "sequential" and self.distribute != "none":
            raise ConfigError("batching sequential trains a stateful model, whose batches "
                              "cannot be split over devices: use distribute none")


class Preprocessor:
    """Text <-> character ids: a `CharTokenizer` and the training text's characters, with
    ``<pad>`` and ``<unk>`` (a character unseen in training reads as ``<unk>``).

    >>> p = Preprocessor.fit("abba")
    >>> p.encode("abc").tolist(), p.decode([3, 2])
    ([2, 3, 1], 'ba')
    """

    def __init__(self, tokenizer, vocab):
        self.tokenizer, self.vocab = tokenizer, vocab

    @classmethod
    def fit(cls, text):
        """The characters of the training `text`, the most frequent first."""
        tokenizer = CharTokenizer()
        return cls(tokenizer, Vocabulary.build([tokenizer.tokenize(text)], reserved=(PAD, UNK)))

    def encode(self, text):
        """The character ids of `text`, int32 (len(text),)."""
        return np.array(self.vocab.encode(self.tokenizer.tokenize(text)), dtype="int32")

    def decode(self, ids):
        """The text of character ids."""
        return self.tokenizer.detokenize(self.vocab.decode(ids))

    @property
    def never_generated(self):
        """The ids sampling leaves out: padding and ``<unk>``."""
        return self.vocab.pad_id, self.vocab.unk_id

    def get_config(self):
        return {"tokenizer": self.tokenizer.get_config(), "vocab": self.vocab.get_config()}

    @classmethod
    def from_config(cls, config):
        return cls(tokenizer_from_config(config["tokenizer"]),
                   Vocabulary.from_config(config["vocab"]))


class Predictor:
    """Continues texts with a trained language model (`seqtasks.load` returns one).

    ``predict(prompts)`` -> one generated continuation per prompt (the prompt left out);
    ``write(results, file)`` writes them one per line, each as a JSON string (generated
    text has line breaks of its own). An empty prompt starts the text at a line break.
    """

    def __init__(self, model, preprocessor, config):
        self.model, self.preprocessor, self.config = model, preprocessor, config
        self.step_model = step_model_from(model)

    def predict(self, prompts, length=200, temperature=0.8, top_k=None, seed=None):
        """The continuation of each prompt: `length` characters sampled at `temperature`
        among the `top_k` most likely; a `seed` gives each prompt the same continuation
        whatever the other prompts are."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        return [self.continue_text(prompt, length, temperature, top_k, seed)
                for prompt in prompts]

    def continue_text(self, prompt, length, temperature, top_k, seed):
        """One prompt's continuation (see `predict`)."""
        ids = generate(self.step_model, self.preprocessor.encode(prompt or "\n"), length,
                       temperature, top_k, seed, exclude_ids=self.preprocessor.never_generated)
        return self.preprocessor.decode(ids)

    @staticmethod
    def write(results, file):
        for text in results:
            file.write(json.dumps(text, ensure_ascii=False) + "\n")


@dataclasses.dataclass
class Data:
    """What `prepare` returns: the training and validation texts and their ids, the
    fitted preprocessor, the batches and the Keras callbacks training them needs."""

    train_text: str
    valid_text: str
    preprocessor: Preprocessor
    train_ids: np.ndarray
    valid_ids: np.ndarray
    train: WindowBatches
    valid: WindowBatches
    callbacks: list


def read_corpus(config):
    """``(text, source)``: the first ``max_chars`` characters and where they come from."""
    if config.data is None:
        return pydoc_text()[: config.max_chars], DEFAULT_SOURCE
    return read_text(config.data)[: config.max_chars], str(config.data)


def split_text(text):
    """The first 90% of `text` for training and the last 10% for validation."""
    cut = int(0.9 * len(text))
    return text[:cut], text[cut:]


def check_length(train_text, valid_text, source, config):
    """A DataError naming `source` when its parts are too short to batch."""
    one_batch = config.seq_len * (config.batch_size + 1) + 1  # from any start offset
    valid_needs = one_batch if config.batching == "sequential" else 2 * config.seq_len + 2
    if len(train_text) < one_batch or len(valid_text) < valid_needs:
        raise DataError(
            f"{len(train_text) + len(valid_text)} characters are too few for seq_len "
            f"{config.seq_len} and batch_size {config.batch_size} ({config.batching} "
            f"batching): the training part (90%) needs {one_batch} and the validation part "
            f"(10%) {valid_needs}", path=source)


def batches(config, train_ids, valid_ids):
    """Training and validation batches: random windows, or sequential ones for a stateful
    model (whose validation batches have the training batch size too)."""
    if config.batching == "sequential":
        return (SequentialBatches(train_ids, config.seq_len, config.batch_size, config.seed),
                SequentialBatches(valid_ids, config.seq_len, config.batch_size, config.seed))
    valid_batch = min(config.batch_size, (len(valid_ids) - config.seq_len - 1) // config.seq_len)
    return (WindowBatches(train_ids, config.seq_len, config.batch_size, config.seed),
            WindowBatches(valid_ids, config.seq_len, valid_batch, config.seed, redraw=False))


def prepare(config):
    """Reads the text, splits it 90/10, fits the characters on train and batches both."""
    text, source = read_corpus(config)
    train_text, valid_text = split_text(text)
    check_length(train_text, valid_text, source, config)
    preprocessor = Preprocessor.fit(train_text)
    train_ids, valid_ids = preprocessor.encode(train_text), preprocessor.encode(valid_text)
    train, valid = batches(config, train_ids, valid_ids)
    callbacks = [ResetStates()] if config.batching == "sequential" else []
    return Data(train_text, valid_text, preprocessor, train_ids, valid_ids, train, valid,
                callbacks)


def build(config, data):
    """The compiled language model: Embedding -> recurrent layers that return their
    sequences and states -> Dense logits over the characters. With sequential batching
    its layers are stateful (batch size fixed); ``data.callbacks`` reset their states
    at the start of every epoch and validation run."""
    stateful = config.batching == "sequential"
    model = build_language_model(
        len(data.preprocessor.vocab), config.embedding_dim, config.cell, config.units,
        config.depth, config.dropout,
        stateful_batch_size=config.batch_size if stateful else None)
    model.compile(optimizer=make_optimizer(config.learning_rate, config.clipnorm, config.ema),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def ngram_baseline(train_ids, valid_ids, order=5):
    """``(validation cross-entropy, k)`` of the add-k n-gram model fitted on the training
    ids, k chosen on their last tenth (`best_smoothing`)."""
    train_ids, valid_ids = list(train_ids), list(valid_ids)
    k = best_smoothing(train_ids, order)
    return NGramLanguageModel(order, k=k).fit(train_ids).cross_entropy(valid_ids), k


def evaluate(model, data, config):
    """Validation cross-entropy (nats/char) and perplexity over the whole validation text,
    the state carried through it, and the same for the n-gram baseline."""
    started = time.monotonic()
    with phase(f"scoring the {len(data.valid_text)} validation characters", config.verbose):
        cross_entropy = stream_cross_entropy(model, data.valid_ids, rows=config.eval_rows)
    with phase(f"fitting the {config.baseline_order}-gram baseline", config.verbose):
        baseline, k = ngram_baseline(data.train_ids, data.valid_ids, config.baseline_order)
    return {"cross_entropy": cross_entropy, "perplexity": perplexity(cross_entropy),
            "baseline_cross_entropy": baseline, "baseline_perplexity": perplexity(baseline),
            "baseline": f"{config.baseline_order}-gram, add-k smoothing, k={k}",
            "train_chars": len(data.train_text), "valid_chars": len(data.valid_text),
            "vocab_size": len(data.preprocessor.vocab),
            "eval_seconds": round(time.monotonic() - started, 1)}


def plot_context(by_position, baseline, order, path):
    """The validation loss at each position of a window read from a zero state."""
    figure = Figure(figsize=(6, 3.5))
    axes = figure.subplots()
    axes.plot(np.arange(1, len(by_position) + 1), by_position,
              label="RNN, window read from a zero state")
    axes.axhline(baseline, color="gray", linestyle="--", label=f"{order}-gram")
    axes.set(xlabel="position in window (characters of context)",
             ylabel="cross-entropy (nats/char)", title="validation loss by context length")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def write_samples(predictor, prompt, config, path):
    """samples.txt: a continuation of `prompt` per temperature, seeded ``seed + i``."""
    with open(path, "w", encoding="utf-8") as file:
        for i, temperature in enumerate(config.temperatures):
            [sample] = predictor.predict([prompt], config.sample_length, temperature,
                                         config.top_k, seed=config.seed + i)
            file.write(f"=== temperature {temperature}, top-k {config.top_k}\n"
                       f"{prompt}|{sample}\n\n")


def report(model, data, config, metrics, history, folder):
    """loss.png, context.png (what the state remembers) and samples.txt."""
    plot_history(history, folder / "loss.png")
    by_position = position_cross_entropy(model, data.valid.inputs, data.valid.targets)
    plot_context(by_position, metrics["baseline_cross_entropy"], config.baseline_order,
                 folder / "context.png")
    prompt = config.prompt if config.prompt is not None else data.valid_text[:40]
    with phase(f"sampling {config.sample_length} characters at each of "
               f"{len(config.temperatures)} temperatures", config.verbose):
        write_samples(Predictor(model, data.preprocessor, config), prompt, config,
                      folder / "samples.txt")
    if config.verbose:
        print(f"validation perplexity {metrics['perplexity']:.3f} ({metrics['baseline']}: "
              f"{metrics['baseline_perplexity']:.3f})")
