"""Sentiment classification with a recurrent network (many-to-one).

Each sentence is split into words, each word becomes a learned vector (an `Embedding`
that masks the padding), and a recurrent layer (LSTM by default) reads the vectors in
order. Only its final state, a fixed-size summary of the whole sentence, goes to a
softmax classifier: many inputs, one output.

The embedded dataset is built so that word order matters: negation scopes over
intensified adjectives ("not at all disappointing") and contrast clauses ("although the
plot was dull , the acting is superb"). A bag-of-words model (tf-idf of uni- and bigrams
with logistic regression, trained on the same split) is reported alongside, as
`baseline_accuracy`, to show what reading in order buys.

Usage:

    python recipes/sentiment.py --out runs/sentiment
    python recipes/sentiment.py --data ../shared/data/sst2 --bidirectional --pooling max \\
        --embedding-dim 300 --units 150 --dropout 0.5 --ema 0.999 --out runs/sst2

`--data DIR` takes a folder with a training file (and optionally valid/dev and test
files) in CSV or TSV with a header, a `label` column and a `sentence`, `text` or
`content` column (see data/README.md). A missing valid or test split is held out
from the training file.

Outputs in `--out`: model.keras, vocab.json, labels.json, history.csv, metrics.json
(test accuracy, f1, confusion matrix, baseline_accuracy), loss.png, confusion.png,
predictions.csv, config.json. Load the model back with
``import seqtasks; keras.saving.load_model(OUT / "model.keras")`` (importing seqtasks
registers its layers).
"""

import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd

from seqtasks.analysis.baselines import bag_of_words_baseline
from seqtasks.data.batching import make_dataset
from seqtasks.data.readers import encode_labels, read_labelled_text
from seqtasks.data.embedded import embedded_path
from seqtasks.metrics import classification_scores
from seqtasks.models.classifier import POOLINGS, build_classifier
from seqtasks.plots import plot_confusion, plot_history
from seqtasks.recipe import positive_int, recipe_parser, run_main, start_run, train_model
from seqtasks.runs import write_json
from seqtasks.data.splits import find_splits
from seqtasks.data.text import Vocabulary, WordTokenizer
from seqtasks.training import make_optimizer

SPLITS = ("train", "valid", "test")


def load_splits(data, seed, holdout=0.1):
    """DataFrames (text, label) per split; a missing valid/test split is held out of train."""
    if data is None:
        paths = {split: embedded_path("sentiment", split) for split in SPLITS}
    else:
        paths = find_splits(data, (".csv", ".tsv"))
    frames = {split: read_labelled_text(path) for split, path in paths.items() if path}
    for split in ("test", "valid"):
        if split not in frames:
            train = frames["train"]
            held = train.sample(frac=holdout, random_state=seed)
            frames[split], frames["train"] = held, train.drop(held.index)
            paths[split] = paths["train"]  # errors name the train file and its lines
    for frame in frames.values():  # "1" in one file and 1 in another are the same label
        frame["label"] = frame["label"].astype(str)
    return frames, paths


def make_parser():
    """The recipe's flags and their defaults (`seqtasks tune sentiment` starts from them)."""
    parser = recipe_parser("sentiment", __doc__, units=64, epochs=10, patience=3,
                           dropout=0.2, batch_size=32, max_seconds=170)
    parser.add_argument("--embedding-dim", type=positive_int, default=64)
    parser.add_argument("--min-freq", type=positive_int, default=2,
                        help="drop words seen fewer times than this in training")
    parser.add_argument("--max-vocab", type=positive_int, default=30000)
    parser.add_argument("--monitor", choices=("val_loss", "val_accuracy"), default="val_accuracy",
                        help="early stopping watches this and keeps its best epoch")
    parser.add_argument("--pooling", choices=POOLINGS, default="last",
                        help="summarise the sentence by the final state or by the max over "
                             "the steps' outputs")
    return parser


def prepare_data(args):
    """Reads the splits, tokenizes them into words and maps words and labels to ids."""
    frames, paths = load_splits(args.data, args.seed)
    tokenizer = WordTokenizer()
    tokens = {split: [tokenizer.tokenize(t) for t in df["text"]]
              for split, df in frames.items()}
    vocab = Vocabulary.build(tokens["train"], min_freq=args.min_freq, max_size=args.max_vocab)
    ids = {split: [vocab.encode(t) for t in tokens[split]] for split in SPLITS}
    y_train, classes = encode_labels(frames["train"]["label"], path=paths["train"])
    y = {"train": y_train}
    for split in ("valid", "test"):
        y[split], _ = encode_labels(frames[split]["label"], classes, path=paths[split])
    # Batches of similar lengths need little padding (SST-2 mixes 1- and 50-word phrases).
    buckets = [8, 16, 32]
    train = make_dataset(ids["train"], y["train"], args.batch_size, seed=args.seed,
                         bucket_boundaries=buckets)
    valid = make_dataset(ids["valid"], y["valid"], args.batch_size, shuffle=False)
    return SimpleNamespace(frames=frames, tokenizer=tokenizer, vocab=vocab, ids=ids, y=y,
                           classes=classes, train=train, valid=valid)


def build_model(args, data):
    """The classifier, compiled (`seqtasks tune sentiment` builds its trials with it)."""
    # Embedding(mask_zero) -> recurrent stack -> its last state (or the max over its
    # outputs: --pooling max), one vector per sentence (many-to-one) -> Dropout -> softmax.
    model = build_classifier(
        len(data.vocab), len(data.classes), embedding_dim=args.embedding_dim, cell=args.cell,
        units=args.units, depth=args.depth, bidirectional=args.bidirectional,
        dropout=args.dropout, pooling=args.pooling,
    )
    model.compile(optimizer=make_optimizer(args.learning_rate, args.clipnorm, args.ema),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv=None):
    args = make_parser().parse_args(argv)

    with start_run(args) as work:
        # Data: read the splits, tokenize into words, map words and labels to ids.
        data = prepare_data(args)
        frames, vocab, classes, y = data.frames, data.vocab, data.classes, data.y
        vocab.save(work / "vocab.json")
        write_json(work / "labels.json", {"classes": classes,
                                          "tokenizer": data.tokenizer.get_config()})
        write_json(work / "config.json", {k: str(v) if k in ("data", "out") and v else v
                                          for k, v in vars(args).items()})

        # The model, built under the --distribute strategy's scope (a no-op by default) and
        # trained with early stopping (on validation accuracy: the loss of an overconfident
        # model can rise while its accuracy still improves) and a checkpoint every epoch.
        model, history, _ = train_model(args, build_model, data, data.train, data.valid, work,
                                        monitor=args.monitor)
        model.save(work / "model.keras")

        # Evaluation on the test split, against the bag-of-words baseline.
        test = make_dataset(data.ids["test"], batch_size=args.batch_size, shuffle=False)
        probabilities = model.predict(test, verbose=0)
        predicted = probabilities.argmax(axis=-1)
        scores = classification_scores(y["test"], predicted, labels=range(len(classes)))
        baseline = bag_of_words_baseline(frames["train"]["text"], y["train"],
                                         frames["test"]["text"], y["test"])
        metrics = {
            "accuracy": scores["accuracy"], "f1": scores["f1"],
            "baseline_accuracy": baseline,
            "confusion_matrix": scores["confusion_matrix"], "classes": classes,
            "test_examples": len(predicted), "vocab_size": len(vocab),
            "epochs_trained": len(history),
            "best_val_loss": float(history["val_loss"].min()),
        }
        write_json(work / "metrics.json", metrics)
        plot_history(history, work / "loss.png")
        plot_confusion(scores["confusion_matrix"], classes, work / "confusion.png")
        pd.DataFrame({
            "sentence": frames["test"]["text"].to_numpy(),
            "gold": np.asarray(classes)[y["test"]],
            "predicted": np.asarray(classes)[predicted],
            "confidence": probabilities.max(axis=-1).round(4),
        }).head(200).to_csv(work / "predictions.csv", index=False)
        if args.verbose:
            print(f"test accuracy {scores['accuracy']:.4f} (bag-of-words baseline "
                  f"{baseline:.4f}); outputs in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
