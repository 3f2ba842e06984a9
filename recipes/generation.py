"""Character-level text generation with a recurrent language model (one-to-many).

The model reads text one character at a time and predicts the next character at every
step (an Embedding, ``--depth`` recurrent layers, a softmax over the characters). It is
trained with truncated backpropagation through time on windows of ``--seq-len``
characters: random windows redrawn every epoch (``--batching random``), or the text cut
into ``--batch-size`` rows read in order by a stateful model that carries its state
from one batch to the next (``--batching sequential``). It then generates one-to-many:
from a prompt, sample a character, feed it back, repeat; a step model over the same
layers carries the recurrent state, so each new character costs one step.

Data: CPython's documentation text by default (about 465,000 characters), or ``--data
FILE``, a plain UTF-8 text file (e.g. tinyshakespeare's input.txt): the first 90% for
training, the last 10% for validation. The validation text is scored whole, the state
carried through it, beside a 5-gram count model fitted on the training text.

    python recipes/generation.py --out runs/generation
    python recipes/generation.py --batching sequential --out runs/generation-sequential

`seqtasks run generation` runs the same steps (`seqtasks.tasks.runner.run_task`); the
run folder loads back with ``seqtasks.load(OUT).predict(["def "], length=200)``.
"""

import sys

from seqtasks.errors import exit_code
from seqtasks.runs import save_run
from seqtasks.tasks import generation
from seqtasks.tasks.config import parse_config
from seqtasks.tasks.runner import build, start_run, train, training_summary


def main(argv=None):
    # ## Settings: `generation.Config` holds every default; flags change them.
    config = parse_config(generation, argv)

    with start_run(generation, config) as work:
        # ## Data: the text split 90/10, as character ids, cut into random windows
        # (or into rows that continue each other, for --batching sequential).
        data = generation.prepare(config)

        # ## Model: Embedding -> recurrent layers that return their sequences AND
        # states -> Dense logits over the characters. The explicit states let the same
        # layers be rewired into a one-step generator; with sequential batching the
        # layers are stateful and their states are reset at the start of every epoch.
        model = build(generation, config, data)

        # ## Training: checkpoints every epoch, early stopping on the validation loss,
        # within --max-seconds.
        history = train(model, data, config, work)

        # ## Evaluation: the whole validation text, against the n-gram baseline.
        metrics = {**generation.evaluate(model, data, config), **training_summary(history)}

        # ## The run folder: model, preprocessing, config, metrics, loss.png,
        # context.png (the loss by position in a window) and samples.txt.
        save_run(work, generation.NAME, model, data.preprocessor, config, metrics)
        generation.report(model, data, config, metrics, history, work)
    return 0


if __name__ == "__main__":
    sys.exit(exit_code(main, prog="recipes/generation.py"))
