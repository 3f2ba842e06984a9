"""Character-level text generation with a recurrent language model (one-to-many).

The model reads text one character at a time and predicts the next character at every
step (an Embedding, `--depth` recurrent layers, a softmax over the characters). Trained
with truncated backpropagation through time on random windows of `--seq-len` characters,
it then generates one-to-many: from a short prompt, sample a character, feed it back,
repeat. Generation is incremental: a step model built from the same layers carries the
recurrent state, so each new character costs one step (`seqtasks.decoding.sampling`).

Data: by default CPython's bundled documentation text (`pydoc_text()`, about 465,000
characters); `--data FILE` reads a plain UTF-8 text file (e.g. tinyshakespeare's
input.txt). The first 90% is the training text and the last 10% the validation text
(nanoGPT's convention); `--max-chars N` uses only the first N characters.

Outputs: model.keras, vocab.json + tokenizer.json (for `generate_from_run`), history.csv,
metrics.json (validation cross-entropy in nats/char and perplexity, and the same for a
5-gram count model fitted on the training text), loss.png, context.png (the loss by
position in a window: what the state remembers), samples.txt, config.json.
"""

import sys
from types import SimpleNamespace

import keras
import numpy as np
from matplotlib.figure import Figure

from seqtasks.data.readers import read_text
from seqtasks.decoding.sampling import generate
from seqtasks.errors import ConfigError, DataError
from seqtasks.metrics import perplexity
from seqtasks.models.language_model import (
    WindowBatches, build_language_model, position_cross_entropy, step_model_from,
    stream_cross_entropy,
)
from seqtasks.analysis.ngram import NGramLanguageModel
from seqtasks.plots import plot_history
from seqtasks.recipe import positive_int, recipe_parser, run_main, start_run, train_model
from seqtasks.runs import write_json
from seqtasks.data.synthetic import pydoc_text
from seqtasks.data.text import PAD, UNK, CharTokenizer, Vocabulary
from seqtasks.training import make_optimizer

SMOOTHING_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def ngram_baseline(train_ids, valid_ids, order=5):
    """The add-k n-gram model's validation cross-entropy, k chosen on the last 10% of train."""
    cut = int(0.9 * len(train_ids))
    model = NGramLanguageModel(order).fit(train_ids[:cut])
    scores = {}
    for k in SMOOTHING_GRID:
        model.k = k  # the counts do not depend on k
        scores[k] = model.cross_entropy(train_ids[cut:])
    best_k = min(scores, key=scores.get)
    model = NGramLanguageModel(order, k=best_k).fit(train_ids)
    return model.cross_entropy(valid_ids), best_k


def float_list(text):
    """Parses "0.6,0.8,1.0" (the --temperatures flag)."""
    return [float(value) for value in text.split(",")]


def make_parser():
    """The recipe's flags and their defaults (`seqtasks tune generation` starts from them)."""
    parser = recipe_parser("generation", __doc__, extra_cells=("tdnn",), cell="gru", units=256,
                           epochs=30, batch_size=64, max_seconds=130, learning_rate=5e-3,
                           patience=3)
    parser.add_argument("--seq-len", type=positive_int, default=64,
                        help="truncated-BPTT window length in characters")
    parser.add_argument("--embedding-dim", type=positive_int, default=64)
    parser.add_argument("--max-chars", type=positive_int, default=None,
                        help="use only the first N characters of the text")
    parser.add_argument("--sample-length", type=positive_int, default=400)
    parser.add_argument("--temperatures", type=float_list,
                        default=[0.6, 0.8, 1.0], help="comma-separated, e.g. 0.6,0.8,1.0")
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--prompt", default=None,
                        help="the text to continue (default: the validation text's start)")
    parser.add_argument("--eval-rows", type=positive_int, default=32,
                        help="parallel pieces of the validation text when scoring it")
    parser.add_argument("--baseline-order", type=positive_int, default=5)
    return parser


def prepare_data(args):
    """The text split 90/10 into training and validation, as character ids and windows."""
    text = read_text(args.data) if args.data else pydoc_text()
    text = text[: args.max_chars]
    cut = int(0.9 * len(text))
    train_text, valid_text = text[:cut], text[cut:]
    needed = args.seq_len * (args.batch_size + 1) + 1
    if len(train_text) < needed or len(valid_text) < 2 * args.seq_len + 2:
        raise DataError(f"{len(text)} characters are too few for --seq-len {args.seq_len} "
                        f"and --batch-size {args.batch_size}", path=args.data or "pydoc_text()")

    tokenizer = CharTokenizer()
    vocab = Vocabulary.build([tokenizer.tokenize(train_text)], reserved=(PAD, UNK))
    train_ids = np.array(vocab.encode(tokenizer.tokenize(train_text)), dtype="int32")
    valid_ids = np.array(vocab.encode(tokenizer.tokenize(valid_text)), dtype="int32")

    # Random windows rather than stateful sequential batches: the layers stay
    # stateless (so the same layers serve the step model, for any batch size) and
    # each batch mixes distant parts of the text; the offset is redrawn every epoch.
    train = WindowBatches(train_ids, args.seq_len, args.batch_size, seed=args.seed)
    valid_batch = min(args.batch_size, (len(valid_ids) - args.seq_len - 1) // args.seq_len)
    valid = WindowBatches(valid_ids, args.seq_len, valid_batch, seed=args.seed, redraw=False)
    return SimpleNamespace(train_text=train_text, valid_text=valid_text, tokenizer=tokenizer,
                           vocab=vocab, train_ids=train_ids, valid_ids=valid_ids,
                           train=train, valid=valid)


def build_model(args, data):
    """The language model, compiled (`seqtasks tune generation` builds its trials with it)."""
    # The architecture: Embedding -> `--depth` recurrent layers that return their
    # sequences AND states -> Dense logits over the characters. The explicit states
    # let `step_model_from` rewire the same layers into a one-step generator.
    model = build_language_model(len(data.vocab), args.embedding_dim, args.cell, args.units,
                                 args.depth, args.dropout)
    model.compile(optimizer=make_optimizer(args.learning_rate, args.clipnorm, args.ema),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main(argv=None):
    args = make_parser().parse_args(argv)
    if args.bidirectional:
        raise ConfigError("--bidirectional: a language model reads left to right only")

    with start_run(args) as work:
        # Data: the text as character ids, cut into random training windows.
        data = prepare_data(args)
        train_text, valid_text, tokenizer, vocab = (data.train_text, data.valid_text,
                                                    data.tokenizer, data.vocab)
        train_ids, valid_ids, train, valid = (data.train_ids, data.valid_ids, data.train,
                                              data.valid)
        model, history, _ = train_model(args, build_model, data, train, valid, work)

        # Validation: the whole stream, state carried across windows.
        cross_entropy = stream_cross_entropy(model, valid_ids, rows=args.eval_rows)
        baseline, best_k = ngram_baseline(train_ids.tolist(), valid_ids.tolist(),
                                          args.baseline_order)
        metrics = {
            "cross_entropy": cross_entropy, "perplexity": perplexity(cross_entropy),
            "baseline_cross_entropy": baseline, "baseline_perplexity": perplexity(baseline),
            "baseline": f"{args.baseline_order}-gram, add-k smoothing, k={best_k}",
            "train_chars": len(train_text), "valid_chars": len(valid_text),
            "vocab_size": len(vocab), "epochs": len(history),
        }

        step = step_model_from(model)
        prompt = args.prompt if args.prompt is not None else valid_text[:40]
        prompt_ids = vocab.encode(tokenizer.tokenize(prompt))
        with open(work / "samples.txt", "w", encoding="utf-8") as f:
            for i, temperature in enumerate(args.temperatures):
                ids = generate(step, prompt_ids, args.sample_length, temperature, args.top_k,
                               seed=args.seed + i, exclude_ids=(vocab.pad_id, vocab.unk_id))
                sample = tokenizer.detokenize(vocab.decode(ids))
                f.write(f"=== temperature {temperature}, top-k {args.top_k}\n"
                        f"{prompt}|{sample}\n\n")

        x, y = valid.inputs, valid.targets
        by_position = position_cross_entropy(model, x, y)
        fig = Figure(figsize=(6, 3.5))
        ax = fig.subplots()
        ax.plot(np.arange(1, len(by_position) + 1), by_position,
                label="RNN, window read from a zero state")
        ax.axhline(baseline, color="gray", linestyle="--", label=f"{args.baseline_order}-gram")
        ax.set(xlabel="position in window (characters of context)",
               ylabel="cross-entropy (nats/char)", title="validation loss by context length")
        ax.legend()
        fig.tight_layout()
        fig.savefig(work / "context.png", dpi=100)

        model.save(work / "model.keras")
        vocab.save(work / "vocab.json")
        write_json(work / "tokenizer.json", tokenizer.get_config())
        write_json(work / "metrics.json", metrics)
        write_json(work / "config.json", {k: str(v) if k in ("data", "out") else v
                                          for k, v in vars(args).items()})
        plot_history(history, work / "loss.png")
        if args.verbose:
            print({k: metrics[k] for k in ("cross_entropy", "perplexity", "baseline_perplexity")})
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
