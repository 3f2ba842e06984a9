"""Translation with an attentional encoder-decoder, decoded greedily and with beam search.

The model (`seqtasks.models.translator.build_translator`) reads the source with a
bidirectional recurrent encoder; the decoder starts from the encoder's final states
(through a Dense "bridge") and, at every step, attends over all encoder outputs:
Luong's multiplicative attention by default, Bahdanau's additive one with
``--attention bahdanau``. It is trained with teacher forcing (the decoder reads
``<bos> + target`` and predicts ``target + <eos>``) and decoded incrementally, one
step per output token, greedily and with beam search (`seqtasks.decoding.search`).

Default data: the embedded dates task (human-written dates -> ISO dates), character
tokens on both sides. ``--data DIR``: TSV files of ``source<TAB>target`` lines, or
line-aligned files like Multi30k's ``train.en``/``train.de`` with ``--source-lang en
--target-lang de`` (use ``--tokens word`` there).

Outputs in the run folder: model.keras, source/target vocabularies, translator.json
(tokenizers, for `seqtasks.models.translator.translate_texts`), history.csv, loss.png,
attention.png (one test sentence), translations.csv, metrics.json (BLEU and exact match,
greedy and beam), config.json.

    seqtasks run translation --out runs/dates
    seqtasks run translation --data ../shared/data/multi30k --source-lang en \\
        --target-lang de --tokens word --units 256 --embedding-dim 256 --max-seconds 300
"""

import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from seqtasks.data.readers import read_parallel
from seqtasks.data.embedded import embedded_path
from seqtasks.errors import ConfigError
from seqtasks.metrics import translation_scores
from seqtasks.models.translator import (ATTENTIONS, Translator, build_translator, encode_pairs,
                                        parallel_splits, teacher_forcing_dataset)
from seqtasks.plots import plot_attention, plot_history
from seqtasks.recipe import positive_int, recipe_parser, run_main, start_run, train_model
from seqtasks.runs import write_json
from seqtasks.data.text import CharTokenizer, Vocabulary, WordTokenizer
from seqtasks.training import make_optimizer


def make_parser():
    """The recipe's flags and their defaults (`seqtasks tune translation` starts from them)."""
    parser = recipe_parser("translation", __doc__, units=128, epochs=12, batch_size=64,
                           max_seconds=120, learning_rate=3e-3, bidirectional=True)
    parser.add_argument("--tokens", choices=("char", "word"), default="char")
    parser.add_argument("--attention", choices=ATTENTIONS, default="luong")
    parser.add_argument("--embedding-dim", type=positive_int, default=32)
    parser.add_argument("--source-lang", default=None, help="e.g. en, for DIR/train.en")
    parser.add_argument("--target-lang", default=None, help="e.g. de, for DIR/train.de")
    parser.add_argument("--max-vocab", type=positive_int, default=20000)
    parser.add_argument("--min-freq", type=positive_int, default=2)
    parser.add_argument("--max-length", type=positive_int, default=80,
                        help="drop training pairs with more tokens than this on either side")
    parser.add_argument("--beam-size", type=positive_int, default=4)
    parser.add_argument("--length-penalty", type=float, default=0.0)
    return parser


def parse_args(argv):
    args = make_parser().parse_args(argv)
    if not args.bidirectional:
        raise ConfigError("the translator's encoder is always bidirectional; "
                          "drop --no-bidirectional")
    return args


def load_pairs(args):
    """train/valid/test pairs; a missing valid or test split is held out of train."""
    if args.data is None:
        splits = {s: read_parallel(embedded_path("dates", s)) for s in ("train", "valid", "test")}
    else:
        splits = parallel_splits(args.data, args.source_lang, args.target_lang)
    rng = np.random.default_rng(args.seed)
    for split in ("valid", "test"):
        if splits[split] is None:
            train = [splits["train"][i] for i in rng.permutation(len(splits["train"]))]
            n = max(1, len(train) // 10)
            splits[split], splits["train"] = train[:n], train[n:]
    return splits


def prepare_data(args):
    """Tokenizes the pairs, builds both vocabularies and the teacher-forcing batches."""
    splits = load_pairs(args)
    # Tokens: characters (dates) or words; the target keeps its case (German nouns).
    if args.tokens == "char":
        source_tokenizer, target_tokenizer = CharTokenizer(), CharTokenizer()
    else:
        source_tokenizer, target_tokenizer = WordTokenizer(), WordTokenizer(lower=False)
    source_vocab = Vocabulary.build(
        (source_tokenizer.tokenize(s) for s, _ in splits["train"]),
        min_freq=args.min_freq, max_size=args.max_vocab)
    target_vocab = Vocabulary.build(
        (target_tokenizer.tokenize(t) for _, t in splits["train"]),
        min_freq=args.min_freq, max_size=args.max_vocab)
    encoded = {split: encode_pairs(pairs, source_tokenizer, target_tokenizer,
                                   source_vocab, target_vocab)
               for split, pairs in splits.items() if split != "test"}
    src, tgt = encoded["train"]
    keep = [i for i in range(len(src)) if 0 < len(src[i]) <= args.max_length
            and len(tgt[i]) <= args.max_length]
    src, tgt = [src[i] for i in keep], [tgt[i] for i in keep]
    bos, eos = target_vocab.bos_id, target_vocab.eos_id
    train = teacher_forcing_dataset(src, tgt, bos, eos, args.batch_size, seed=args.seed)
    validation = teacher_forcing_dataset(*encoded["valid"], bos, eos, args.batch_size,
                                         shuffle=False)
    return SimpleNamespace(splits=splits, source_tokenizer=source_tokenizer,
                           target_tokenizer=target_tokenizer, source_vocab=source_vocab,
                           target_vocab=target_vocab, src=src, tgt=tgt, train=train,
                           valid=validation)


def build_model(args, data):
    """The translator, compiled (`seqtasks tune translation` builds its trials with it)."""
    # The architecture: bidirectional encoder, bridged states, attentional decoder.
    model = build_translator(len(data.source_vocab), len(data.target_vocab),
                             args.embedding_dim, args.cell, args.units, args.depth,
                             args.dropout, attention=args.attention)
    model.compile(optimizer=make_optimizer(args.learning_rate, args.clipnorm, args.ema),
                  loss="sparse_categorical_crossentropy")
    return model


def main(argv=None):
    args = parse_args(argv)
    with start_run(args) as work:
        write_json(work / "config.json",
                   {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()})
        data = prepare_data(args)
        splits, src, tgt = data.splits, data.src, data.tgt
        source_tokenizer, target_tokenizer = data.source_tokenizer, data.target_tokenizer
        source_vocab, target_vocab = data.source_vocab, data.target_vocab
        source_vocab.save(work / "source_vocab.json")
        target_vocab.save(work / "target_vocab.json")
        model, history, train_seconds = train_model(args, build_model, data, data.train,
                                                    data.valid, work)
        model.save(work / "model.keras")
        plot_history(history, work / "loss.png")

        # Evaluate: greedy and beam search on the test split.
        longest = max(len(t) for t in tgt)
        translator = Translator(model, source_tokenizer, target_tokenizer, source_vocab,
                                target_vocab, max_output_length=int(1.5 * longest) + 5)
        translator.save_settings(work)
        sources = [s for s, _ in splits["test"]]
        references = [t for _, t in splits["test"]]
        started = time.monotonic()
        greedy = translator.translate(sources, beam_size=1)
        greedy_seconds = time.monotonic() - started
        started = time.monotonic()
        beam = translator.translate(sources, beam_size=args.beam_size,
                                    length_penalty=args.length_penalty)
        beam_seconds = time.monotonic() - started
        metrics = {
            **translation_scores(beam, references),  # the headline figures: beam search
            "greedy": translation_scores(greedy, references),
            "beam": {**translation_scores(beam, references), "beam_size": args.beam_size},
            "test_pairs": len(sources), "train_pairs": len(src),
            "source_vocab": len(source_vocab), "target_vocab": len(target_vocab),
            "epochs": len(history), "best_val_loss": float(history["val_loss"].min()),
            "train_seconds": train_seconds, "greedy_seconds": greedy_seconds,
            "beam_seconds": beam_seconds,
        }
        write_json(work / "metrics.json", metrics)
        pd.DataFrame({"source": sources, "reference": references, "greedy": greedy,
                      "beam": beam}).to_csv(work / "translations.csv", index=False)
        source_tokens, output_tokens, weights = translator.attention_map(sources[0])
        plot_attention(weights, source_tokens, output_tokens, work / "attention.png")
        if args.verbose:
            greedy_scores, beam_scores = metrics["greedy"], metrics["beam"]
            print(f"test BLEU greedy {greedy_scores['bleu']:.2f}, beam {beam_scores['bleu']:.2f}; "
                  f"exact match greedy {greedy_scores['exact_match']:.3f}, "
                  f"beam {beam_scores['exact_match']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
