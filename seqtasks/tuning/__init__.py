"""Hyperparameter search of any task with keras-tuner (`seqtasks tune NAME`).

>>> from seqtasks.tasks import sentiment
>>> from seqtasks.tuning import search
>>> frame = search("sentiment", sentiment.Config(epochs=2, max_seconds=None),
...                space={"units": [16, 32], "depth": [1, 2]}, max_trials=4,
...                out="runs/tune-sentiment")  # doctest: +SKIP
>>> frame.head()  # doctest: +SKIP

Modules: `space` (what may be searched and how it is written), `hypermodels` (the
`keras_tuner.HyperModel` of any task), `tuners` (keras-tuner's tuners, recording each
trial), `results` (trials.csv, the plot, the summary), `search` (the whole search),
`command` (the command line).
"""

from seqtasks.tuning.hypermodels import TaskHyperModel
from seqtasks.tuning.results import read_trials
from seqtasks.tuning.search import SearchStopped, search

__all__ = ["SearchStopped", "TaskHyperModel", "read_trials", "search"]
