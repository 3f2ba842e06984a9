"""More models like a trained one, from other seeds, while the time budget allows.

Tasks whose `finish` averages several trained models (tagging, trees) call
`train_members` after training the first: it builds and trains the task's model again
with seeds ``config.seed + 1``, ``config.seed + 2``, ... (at most ``config.members`` in
all), each in ``work/members/K``, and starts another only while the time left of
``config.max_seconds`` is at least the longest training so far.

>>> from seqtasks.tasks import runner, trees
>>> work = Path("runs/tmp")
>>> config = trees.Config(epochs=1, units=8, members=2)
>>> data = trees.prepare(config)  # doctest: +SKIP
>>> first = trees.build(config, data)  # doctest: +SKIP
>>> seconds = runner.train(first, data, config, work).attrs["seconds"]  # doctest: +SKIP
>>> models = train_members(trees.build, first, data, config, work, seconds)  # doctest: +SKIP
>>> [model.name for model in models]  # doctest: +SKIP
['tree_classifier', 'tree_classifier_1']
"""

from pathlib import Path

import keras

from seqtasks.distribute import any_worker, distribution_scope
from seqtasks.progress import phase
from seqtasks.tasks.runner import train


def train_members(build, first, data, config, work, first_seconds, spent=0.0, noun="model"):
    """``[first, member 1, ...]``: `first` (trained in `first_seconds`) and the members
    trained here (``build(config, data)``, the task's compiled model, with the next
    seeds; named ``{first.name}_K``), while ``config.max_seconds`` less the time of all
    of them and `spent` seconds of other training is at least the longest of them (no
    budget: ``config.members`` in all).
    A multi-worker run's workers measure their own times: all go on, or none."""
    models, seconds = [first], [first_seconds]
    strategy = getattr(first, "distribute_strategy", None)
    for k in range(1, config.members):
        left = config.max_seconds and config.max_seconds - sum(seconds) - spent
        if left is not None and any_worker(strategy, left < max(seconds)):
            break
        member_config = config.replace(seed=config.seed + k, max_seconds=left)
        keras.utils.set_random_seed(member_config.seed)
        with distribution_scope(config.distribute):
            member = build(member_config, data)
        member.name = f"{first.name}_{k}"
        folder = Path(work) / "members" / str(k)
        folder.mkdir(parents=True, exist_ok=True)
        with phase(f"training {noun} {k + 1} of at most {config.members}", config.verbose):
            seconds.append(train(member, data, member_config, folder).attrs["seconds"])
        models.append(member)
    return models
