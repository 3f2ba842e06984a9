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

    python recipes/tagging.py --out runs/tagging
    python recipes/tagging.py --no-bidirectional --out runs/tagging-uni
    python recipes/tagging.py --data ../shared/data/ud_english_lines --max-seconds 240

`seqtasks run tagging` runs the same steps (`seqtasks.tasks.runner.run_task`); the run
folder loads back with ``seqtasks.load(OUT).predict(["Jordan told reporters"])``.
"""

import sys

from seqtasks.distribute import distribution_scope
from seqtasks.errors import exit_code
from seqtasks.runs import save_run
from seqtasks.tasks import tagging
from seqtasks.tasks.config import parse_config
from seqtasks.tasks.runner import start_run, train, training_summary


def main(argv=None):
    # ## Settings: `tagging.Config` holds every default; flags change them.
    config = parse_config(tagging, argv)

    with start_run(tagging, config) as work:
        # ## Data: read the splits, fit the words, characters and tags on train, batch
        # sentences of similar lengths.
        data = tagging.prepare(config)

        # ## Model: word embeddings (+ character features) -> recurrent stack -> a CRF
        # over the tag potentials of every word (`tagging.build`). Padded steps carry the
        # embedding's mask to the output, out of the loss and the accuracy.
        with distribution_scope(config.distribute):  # a no-op unless --distribute
            model = tagging.build(config, data)  # compiled; --embeddings start the words

        # ## Training: checkpoints every epoch, early stopping on validation accuracy.
        history = train(model, data, config, work)

        # ## A feature tagger (a linear CRF over hashed spelling and neighbouring words;
        # --no-features skips it), more taggers while the time budget lasts (seeds
        # SEED+1, ...; --members), and one tagger that averages their tag scores and CRF
        # transitions, the feature tagger's weight chosen on the validation sentences.
        model = tagging.finish(model, data, config, work, history)

        # ## Evaluation on the test split: token accuracy, entity F1, unknown words.
        metrics = {**tagging.evaluate(model, data, config), **training_summary(history)}

        # ## The run folder: model, preprocessing, config, metrics, plots, predictions.
        save_run(work, tagging.NAME, model, data.preprocessor, config, metrics)
        tagging.report(model, data, config, metrics, history, work)
    return 0


if __name__ == "__main__":
    sys.exit(exit_code(main, prog="recipes/tagging.py"))
