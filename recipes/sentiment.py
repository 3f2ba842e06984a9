"""Sentiment classification with a recurrent network (many-to-one).

Each sentence is split into words, each word becomes a learned vector (an `Embedding`
that masks the padding), and a recurrent layer reads the vectors in order. Only its
final state (or, with ``--pooling max``, the max over its outputs), a fixed-size
summary of the whole sentence, goes to a softmax classifier: many inputs, one output.

The embedded dataset is built so that word order matters: negation scopes over
intensified adjectives ("not at all disappointing") and contrast clauses ("although the
plot was dull , the acting is superb"). A linear model of the words and word pairs is
trained after it and mixed in as far as the validation loss says it helps. A bag-of-words
model (tf-idf of uni- and bigrams with logistic regression, trained on the same split) is
reported beside it.

    python recipes/sentiment.py --out runs/sentiment
    python recipes/sentiment.py --data ../shared/data/sst2 --out runs/sst2

`seqtasks run sentiment` runs the same steps (`seqtasks.tasks.runner.run_task`); the
run folder loads back with ``seqtasks.load(OUT).predict(["a superb film"])``.
"""

import sys

from seqtasks.distribute import distribution_scope
from seqtasks.errors import exit_code
from seqtasks.runs import save_run
from seqtasks.tasks import sentiment
from seqtasks.tasks.config import parse_config
from seqtasks.tasks.runner import start_run, train, training_summary


def main(argv=None):
    # ## Settings: `sentiment.Config` holds every default; flags change them.
    config = parse_config(sentiment, argv)

    with start_run(sentiment, config) as work:
        # ## Data: read the splits, fit the words and labels on train, batch by length.
        data = sentiment.prepare(config)

        # ## Model: Embedding(mask_zero) -> recurrent stack -> last state (or max over
        # the outputs) -> Dropout -> softmax, as `sentiment.build` makes it.
        with distribution_scope(config.distribute):  # a no-op unless --distribute
            model = sentiment.build(config, data)  # compiled; --embeddings start the words

        # ## Training: checkpoints every epoch, early stopping on validation accuracy.
        history = train(model, data, config, work)

        # ## A bag of n-grams beside it: a linear model of the words and word pairs, trained
        # on the same batches, its probabilities mixed with the recurrent classifier's
        # with the weight the validation loss prefers (`--no-ngrams`: not trained).
        model = sentiment.finish(model, data, config, work, history)

        # ## Evaluation on the test split, against the bag-of-words baseline.
        metrics = {**sentiment.evaluate(model, data, config), **training_summary(history)}

        # ## The run folder: model, preprocessing, config, metrics, plots, predictions.
        save_run(work, sentiment.NAME, model, data.preprocessor, config, metrics)
        sentiment.report(model, data, config, metrics, history, work)
    return 0


if __name__ == "__main__":
    sys.exit(exit_code(main, prog="recipes/sentiment.py"))
