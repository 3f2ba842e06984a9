"""Sequence tagging with a bidirectional recurrent network (many-to-many, aligned).

Every word of a sentence gets one tag: a named-entity tag in the BIO scheme (the
embedded data: `B-PER`, `I-LOC`, `O`, ...) or a part-of-speech tag (Universal
Dependencies CoNLL-U files). Each word is represented by its word embedding and,
optionally, by features a small convolutional network computes from its characters,
so that words never seen in training still get a useful vector. A recurrent stack reads
the sentence and a softmax layer predicts the tag of every word from its state.

In the embedded data an ambiguous name ("Jordan") is a person, an organisation or a
place depending on the words *after* it, so a left-to-right tagger cannot know the tag
when it reaches the name; the bidirectional tagger (the default) can. Compare with
`--no-bidirectional`.

Examples:

    seqtasks run tagging --out runs/tagging
    seqtasks run tagging --no-bidirectional --out runs/tagging-uni
    seqtasks run tagging --data ../shared/data/ud_english_lines --max-seconds 240
"""

import argparse
import json
import sys
from types import SimpleNamespace

import numpy as np
from sklearn.metrics import confusion_matrix


from seqtasks.data.readers import read_tagged
from seqtasks.data.embedded import embedded_path
from seqtasks.errors import ConfigError
from seqtasks.metrics import tagging_scores
from seqtasks.models.tagger import TaggingData, build_tagger, tagging_dataset
from seqtasks.plots import plot_confusion, plot_history
from seqtasks.recipe import positive_int, recipe_parser, run_main, start_run, train_model
from seqtasks.runs import write_json
from seqtasks.data.splits import find_splits
from seqtasks.training import make_optimizer


def tag_column(text):
    """A CoNLL-U field name (upos, xpos, ...) or a 0-based column number (-1: the last)."""
    try:
        return int(text)
    except ValueError:
        return text.lower()


def load_splits(args):
    """{'train', 'valid', 'test'} -> ((tokens, tags) sentences, path)."""
    if args.data is None:
        paths = {split: embedded_path("tagging", split) for split in ("train", "valid", "test")}
    else:
        paths = find_splits(args.data, (".conll", ".conllu", ".txt"))
    splits = {}
    for split, path in paths.items():
        if path is None:
            continue
        options = {}
        if args.tag_column is not None:
            if path.suffix.lower() != ".conllu" and not isinstance(args.tag_column, int):
                raise ConfigError(f"--tag-column for CoNLL files is a column number, "
                                  f"got {args.tag_column!r}")
            options["tag_column"] = args.tag_column
        splits[split] = (read_tagged(path, **options), path)
    # No valid/test file: hold out 10% of the training sentences for each.
    train, path = splits["train"]
    order = np.random.default_rng(args.seed).permutation(len(train))
    for split in ("valid", "test"):
        if split not in splits:
            held, order = order[: max(1, len(train) // 10)], order[max(1, len(train) // 10) :]
            splits[split] = ([train[k] for k in held], path)
    splits["train"] = ([train[k] for k in sorted(order)], path)
    return splits


def make_parser():
    """The recipe's flags and their defaults (`seqtasks tune tagging` starts from them)."""
    parser = recipe_parser("tagging", __doc__, extra_cells=("tdnn",), units=64,
                           bidirectional=True, epochs=8,
                           learning_rate=2e-3, max_seconds=170)
    parser.add_argument("--tag-column", type=tag_column, default=None,
                        help="CoNLL-U field (default upos) or CoNLL column (default: the last)")
    parser.add_argument("--char-features", action=argparse.BooleanOptionalAction, default=True,
                        help="add character-CNN features to each word (helps unseen words)")
    parser.add_argument("--char-filters", type=positive_int, default=64,
                        help="width of the character features")
    parser.add_argument("--embedding-dim", type=positive_int, default=64)
    parser.add_argument("--min-freq", type=positive_int, default=2,
                        help="rarer training words become <unk> (teaches an unknown-word vector)")
    return parser


def prepare_data(args):
    """The splits, the vocabularies (words, characters, tags) and the batches."""
    splits = load_splits(args)
    (train, train_path), (valid, valid_path), (test, test_path) = (
        splits["train"], splits["valid"], splits["test"])
    every_tag = {tag for part in splits.values() for _, tags in part[0] for tag in tags}
    data = TaggingData.fit(train, extra_tags=sorted(every_tag), min_freq=args.min_freq,
                           chars=args.char_features)
    train_batches = tagging_dataset(data, train, args.batch_size, seed=args.seed,
                                    path=train_path)
    valid_batches = tagging_dataset(data, valid, 64, shuffle=False, path=valid_path)
    data.check(test, path=test_path)
    return SimpleNamespace(encoding=data, splits=splits, tags=sorted(every_tag),
                           train=train_batches, valid=valid_batches)


def build_model(args, data):
    """The tagger, compiled (`seqtasks tune tagging` builds its trials with it)."""
    encoding = data.encoding
    model = build_tagger(
        len(encoding.words), len(encoding.tags), embedding_dim=args.embedding_dim,
        cell=args.cell, units=args.units, depth=args.depth,
        bidirectional=args.bidirectional, dropout=args.dropout,
        char_vocab_size=len(encoding.chars) if encoding.chars else None,
        char_filters=args.char_filters, max_word_length=encoding.max_word_length,
    )
    # Padded steps carry the Embedding's mask to the output, so Keras leaves them out
    # of the loss and the accuracy.
    model.compile(optimizer=make_optimizer(args.learning_rate, args.clipnorm, args.ema),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv=None):
    args = make_parser().parse_args(argv)
    with start_run(args) as work:
        prepared = prepare_data(args)
        data = prepared.encoding
        (valid, _), (test, _) = prepared.splits["valid"], prepared.splits["test"]
        data.save(work)
        model, history, seconds = train_model(args, build_model, prepared, prepared.train,
                                              prepared.valid, work)
        model.save(work / "model.keras")

        tokens = [t for t, _ in test]
        gold = [tags for _, tags in test]
        predicted = data.predict(model, tokens)
        scores = tagging_scores(gold, predicted)
        oov = [(g == p) for ts, gs, ps in zip(tokens, gold, predicted)
               for t, g, p in zip(ts, gs, ps) if t not in data.words]
        metrics = {
            **scores,
            "oov_rate": len(oov) / sum(map(len, tokens)),
            "oov_accuracy": float(np.mean(oov)) if oov else None,
            "valid_accuracy": tagging_scores([t for _, t in valid],
                                             data.predict(model, [t for t, _ in valid]))["accuracy"],
            "test_sentences": len(test),
            "epochs": len(history),
            "train_seconds": round(seconds, 1),
            "parameters": model.count_params(),
        }
        write_json(work / "metrics.json", metrics)
        write_json(work / "config.json",
                   {k: str(v) if k in ("data", "out") else v for k, v in vars(args).items()})
        plot_history(history, work / "loss.png")
        labels = prepared.tags
        flat = [[tag for tags in sequences for tag in tags] for sequences in (gold, predicted)]
        matrix = confusion_matrix(*flat, labels=labels)
        plot_confusion(matrix.tolist(), labels, work / "confusion.png")
        with open(work / "predictions.txt", "w", encoding="utf-8") as f:
            f.write("# token gold predicted (* marks an error)\n")
            for ts, gs, ps in list(zip(tokens, gold, predicted))[:30]:
                for t, g, p in zip(ts, gs, ps):
                    f.write(f"{t}\t{g}\t{p}{'' if g == p else chr(9) + '*'}\n")
                f.write("\n")
        print(json.dumps({k: metrics[k] for k in ("accuracy", "f1", "oov_accuracy")
                          if k in metrics}))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
