"""Everything between files and model tensors: text, readers, splits, batching, datasets.

Modules: `text` (tokenizers, `Vocabulary`), `readers` (CSV/TSV, CoNLL, CoNLL-U,
parallel, plain text -> `DataError(file, line)`), `splits` (finding and holding out
train/valid/test), `batching` (padding, bucketing, tf.data, language-model windows),
`trees` (bracketed trees -> `DataError(file, line)` with the column; padded batches of
trees), `embedded` (the default datasets), `synthetic` and `synthetic_trees` (their
generators), `memory` (long-memory tasks: the adding problem, the copy task), `embeddings`
(pretrained word vectors for a vocabulary).

>>> from seqtasks.data.text import Vocabulary
>>> len(Vocabulary.build([["a", "b", "a"]]))
6
"""
