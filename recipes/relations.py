"""Dependency relations given the gold tree: a sequence, a tree and a graph model.

A dependency tree says which word each word hangs from; the relation says how
(``nsubj``, ``obj``, ``amod``, ...). Given the gold heads, the model labels every arc
from the pair ``[word ; head]`` of states, computed one of three ways: a BiLSTM reads the
sentence left to right and back (``--model sequence``), Tree-LSTMs compose each word
from its dependents and then from its head (``--model tree``, the default), or a gated
graph network passes messages along the arcs both ways for a few steps (``--model
graph``). All three see which side of its head a word is on.

The embedded sentences give the same word different relations by its head's side and
kind (``nsubj``/``obj``, ``amod``/``advmod``, ``obl``/``nmod``).

    python recipes/relations.py --out runs/relations
    python recipes/relations.py --model graph --steps 4 --out runs/relations-graph
    python recipes/relations.py --data ../shared/data/ud_english_ewt --max-seconds 600

`seqtasks run relations` runs the same steps (`seqtasks.tasks.runner.run_task`); the run
folder loads back with ``seqtasks.load(OUT).predict([(["dogs", "bark"], [2, 0])])``, and
``seqtasks predict OUT FILE.conllu --format conllu`` labels a CoNLL-U file's arcs.
"""

import sys

from seqtasks.distribute import distribution_scope
from seqtasks.errors import exit_code
from seqtasks.runs import save_run
from seqtasks.tasks import relations
from seqtasks.tasks.config import parse_config
from seqtasks.tasks.runner import start_run, train, training_summary


def main(argv=None):
    # ## Settings: `relations.Config` holds every default; flags change them.
    config = parse_config(relations, argv)

    with start_run(relations, config) as work:
        # ## Data: read the CoNLL-U trees, fit the words and relations on train, batch
        # sentences of similar lengths with their trees as arrays.
        data = relations.prepare(config)

        # ## Model: word and head-offset embeddings -> BiLSTM, Tree-LSTMs or gated
        # graph -> [word ; head] -> softmax over the relations at every word.
        with distribution_scope(config.distribute):  # a no-op unless --distribute
            model = relations.build(config, data)

        # ## Training: checkpoints every epoch, early stopping on validation accuracy.
        history = train(model, data, config, work)

        # ## Evaluation: accuracy over all test words and per frequent relation.
        metrics = {**relations.evaluate(model, data, config), **training_summary(history)}

        # ## The run folder: model, preprocessing, config, metrics, plots, predictions.
        save_run(work, relations.NAME, model, data.preprocessor, config, metrics)
        relations.report(model, data, config, metrics, history, work)
    return 0


if __name__ == "__main__":
    sys.exit(exit_code(main, prog="recipes/relations.py"))
