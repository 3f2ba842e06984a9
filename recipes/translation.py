"""Translation with an attentional encoder-decoder, decoded greedily and by beam search.

A bidirectional recurrent encoder reads the source; the decoder starts from the
encoder's final states (through a Dense "bridge") and, at every step, attends over all
encoder outputs: Luong's multiplicative attention by default, Bahdanau's additive one
with ``--attention bahdanau``. It is trained with teacher forcing (the decoder reads
``<bos> + target`` and predicts ``target + <eos>``) and decoded incrementally, one step
per output token, greedily and by beam search.

The embedded data turns human-written dates into ISO dates, character by character.
``--data DIR`` takes TSV files of ``source<TAB>target`` lines, or line-aligned files like
Multi30k's ``train.en``/``train.de`` with ``--source-lang en --target-lang de`` (use
``--tokens word`` there).

    python recipes/translation.py --out runs/dates
    python recipes/translation.py --data ../shared/data/multi30k --source-lang en \\
        --target-lang de --tokens word --units 256 --embedding-dim 256 --max-seconds 300

`seqtasks run translation` runs the same steps (`seqtasks.tasks.runner.run_task`); the
run folder loads back with ``seqtasks.load(OUT).predict(["March 3rd, 2001"])``.
"""

import sys

from seqtasks.distribute import distribution_scope
from seqtasks.errors import exit_code
from seqtasks.runs import save_run
from seqtasks.tasks import translation
from seqtasks.tasks.config import parse_config
from seqtasks.tasks.runner import start_run, train, training_summary


def main(argv=None):
    # ## Settings: `translation.Config` holds every default; flags change them.
    config = parse_config(translation, argv)

    with start_run(translation, config) as work:
        # ## Data: read the sentence pairs, drop training pairs over --max-length, fit
        # both sides' tokens on train, and batch by length for teacher forcing.
        data = translation.prepare(config)

        # ## Model: bidirectional encoder -> bridged states -> recurrent decoder that
        # attends over the encoder outputs -> softmax, as `translation.build` makes it.
        with distribution_scope(config.distribute):  # a no-op unless --distribute
            model = translation.build(config, data)  # compiled; --embeddings start the words

        # ## Training: checkpoints every epoch, early stopping on the validation loss.
        history = train(model, data, config, work)

        # ## Evaluation on the test split: BLEU and exact match, greedy and beam search.
        metrics = {**translation.evaluate(model, data, config),
                   **training_summary(history)}

        # ## The run folder: model, preprocessing, config, metrics, plots, translations.
        save_run(work, translation.NAME, model, data.preprocessor, config, metrics)
        translation.report(model, data, config, metrics, history, work)
    return 0


if __name__ == "__main__":
    sys.exit(exit_code(main, prog="recipes/translation.py"))
