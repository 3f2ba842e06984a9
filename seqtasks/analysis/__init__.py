"""Looking at data and models: corpus statistics (Zipf), n-gram language models,
bag-of-words baselines and the gradient-flow diagnostics.

>>> from seqtasks.analysis.ngram import NGramLanguageModel
>>> round(NGramLanguageModel(1).fit([1, 2, 1]).cross_entropy([1]), 3) > 0
True
"""
