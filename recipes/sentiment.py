"""Sentiment classification with a recurrent network (many-to-one).

Each sentence is split into words, each word becomes a learned vector (an `Embedding`
that masks the padding), and a recurrent layer reads the vectors in order. Only its
final state (or, with ``--pooling max``, the max over its outputs), a fixed-size
summary of the whole sentence, goes to a softmax classifier: many inputs, one output.

The embedded dataset is built so that word order matters: negation scopes over
intensified adjectives ("not at all disappointing") and contrast clauses ("although the
plot was dull , the acting is superb"). A bag-of-words model (tf-idf of uni- and bigrams
with logistic regression, trained on the same split) is reported beside it.

    python recipes/sentiment.py --out runs/sentiment
    python recipes/sentiment.py --data ../shared/data/sst2 --out runs/sst2

`seqtasks run sentiment` runs the same steps (`seqtasks.tasks.runner.run_task`); the
run folder loads back with ``seqtasks.load(OUT).predict(["a superb film"])``.
"""

import sys

from seqtasks.data.embeddings import use_pretrained
from seqtasks.distribute import distribution_scope
from seqtasks.errors import exit_code
from seqtasks.models.classifier import build_classifier
from seqtasks.runs import save_run
from seqtasks.tasks import sentiment
from seqtasks.tasks.config import parse_config
from seqtasks.tasks.runner import start_run, train, training_summary
from seqtasks.training import make_optimizer


def main(argv=None):
    # ## Settings: `sentiment.Config` holds every default; flags change them.
    config = parse_config(sentiment, argv)

    with start_run(sentiment, config) as work:
        # ## Data: read the splits, fit the words and labels on train, batch by length.
        data = sentiment.prepare(config)

        # ## Model: Embedding(mask_zero) -> recurrent stack -> last state (or max over
        # the outputs) -> Dropout -> softmax, as `sentiment.build` makes it.
        with distribution_scope(config.distribute):  # a no-op unless --distribute
            model = build_classifier(
                vocab_size=len(data.preprocessor.vocab),
                num_classes=len(data.preprocessor.classes),
                embedding_dim=config.embedding_dim,
                cell=config.cell, units=config.units, depth=config.depth,
                bidirectional=config.bidirectional, dropout=config.dropout,
                pooling=config.pooling, word_dropout=config.word_dropout, seed=config.seed,
            )
            # Pretrained word vectors (--embeddings FILE) start the words they have.
            use_pretrained(model.get_layer("embedding"), config.embeddings,
                           data.preprocessor.vocab, config.verbose)
            model.compile(optimizer=make_optimizer(config.learning_rate, config.clipnorm,
                                                   config.ema),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])

        # ## Training: checkpoints every epoch, early stopping on validation accuracy.
        history = train(model, data, config, work)

        # ## Evaluation on the test split, against the bag-of-words baseline.
        metrics = {**sentiment.evaluate(model, data, config), **training_summary(history)}

        # ## The run folder: model, preprocessing, config, metrics, plots, predictions.
        save_run(work, sentiment.NAME, model, data.preprocessor, config, metrics)
        sentiment.report(model, data, config, metrics, history, work)
    return 0


if __name__ == "__main__":
    sys.exit(exit_code(main, prog="recipes/sentiment.py"))
