"""Hyperparameter search of the recipes with keras-tuner (`seqtasks tune NAME`).

>>> from seqtasks.tuning import search
>>> frame = search("sentiment", space={"units": [16, 32], "depth": [1, 2]},
...                max_trials=4, epochs=2, out="runs/tune-sentiment")  # doctest: +SKIP
>>> frame.head()  # doctest: +SKIP

Modules: `space` (what may be searched and how it is written), `hypermodels` (one
`keras_tuner.HyperModel` per recipe), `tuners` (keras-tuner's tuners, recording each
trial), `results` (trials.csv, the plot, the summary), `search` (the whole search),
`command` (the command line).
"""

from seqtasks.tuning.hypermodels import HYPERMODELS, RecipeHyperModel
from seqtasks.tuning.results import read_trials
from seqtasks.tuning.search import SearchStopped, search

__all__ = ["HYPERMODELS", "RecipeHyperModel", "SearchStopped", "read_trials", "search"]
