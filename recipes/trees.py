"""Sentiment over parse trees with a Tree-LSTM (a recursive network).

A recurrent network reads a sentence as a chain; a recursive network reads it as a tree:
each phrase's state is composed from its children's (Tai, Socher & Manning 2015), so
"not" can scope over "very good" and "but" can let its clause decide. Every node has a
label and the model learns from all of them (phrase-level supervision). The Tree-LSTM
runs one height of the whole batch at a time, so a batch costs as many steps as its
tallest tree, not as many as its nodes.

The embedded trees' labels compose bottom-up (negation, intensifiers, contrast). Beside
the tree model, the run trains a BiLSTM over each phrase's words on the same phrases and
a tf-idf bag of words, and reports their root accuracies.

    python recipes/trees.py --out runs/trees
    python recipes/trees.py --data ../shared/data/sst_trees --max-seconds 900 --out runs/sst

`seqtasks run trees` runs the same steps (`seqtasks.tasks.runner.run_task`); the run
folder loads back with ``seqtasks.load(OUT).predict(["((the film) (was (not good)))"])``.
"""

import sys

from seqtasks.distribute import distribution_scope
from seqtasks.errors import exit_code
from seqtasks.runs import save_run
from seqtasks.tasks import trees
from seqtasks.tasks.config import parse_config
from seqtasks.tasks.runner import start_run, train, training_summary


def main(argv=None):
    # ## Settings: `trees.Config` holds every default; flags change them.
    config = parse_config(trees, argv)

    with start_run(trees, config) as work:
        # ## Data: read the bracketed trees, fit the words on train, batch trees of
        # similar sizes; training weighs every labelled node, validation the roots.
        data = trees.prepare(config)

        # ## Model: Embedding -> Tree-LSTM over the tree -> softmax at every node.
        with distribution_scope(config.distribute):  # a no-op unless --distribute
            model = trees.build(config, data)

        # ## Training: checkpoints every epoch, early stopping on the validation roots.
        history = train(model, data, config, work)

        # ## A bag of words of every phrase beside it, trained on the same nodes, its
        # probabilities mixed with the Tree-LSTM's with the weight the validation roots'
        # loss prefers (`--no-words`: not trained).
        model = trees.finish(model, data, config, work, history)

        # ## Evaluation: root, binary and phrase accuracy, beside the BiLSTM and the
        # bag of words trained on the same phrases.
        metrics = {**trees.evaluate(model, data, config), **training_summary(history)}

        # ## The run folder: model, preprocessing, config, metrics, plots, predictions.
        save_run(work, trees.NAME, model, data.preprocessor, config, metrics)
        trees.report(model, data, config, metrics, history, work)
    return 0


if __name__ == "__main__":
    sys.exit(exit_code(main, prog="recipes/trees.py"))
