"""Dependency trees: the CoNLL-U reader (heads and relations) and a padded batch encoder.

`read_dependencies` reads each sentence's words, heads (CoNLL-U's HEAD: 1-based, 0 for
the root) and relations (DEPREL), and checks that the heads form a tree.
`encode_dependencies` turns a batch of sentences into the arrays the relation models
read, all in word order: the heads, the tree bottom-up (each word's dependents and the
words of each height, for a bottom-up `TreeLSTM`), the tree top-down (each word's head
as its one "child" and the words of each depth, for a top-down `TreeLSTM`) and the
head -> dependent edges (for `GatedGraph`). Nothing recurses, so deep trees are fine.

Example:

>>> batch = encode_dependencies([(["dogs", "bark", "."], [2, 0, 2])], lambda word: 2)
>>> batch.heads.tolist(), batch.up_levels.tolist(), batch.down_levels.tolist()
([[1, -1, 1]], [[[0, 2], [1, -1]]], [[[1, -1], [0, 2]]])
"""

from dataclasses import dataclass

import numpy as np

from seqtasks.data.batching import Padding
from seqtasks.data.readers import CONLLU_FIELDS, _read_sentences, _require
from seqtasks.errors import DataError

_HEAD, _DEPREL = CONLLU_FIELDS.index("head"), CONLLU_FIELDS.index("deprel")


def tree_depths(heads):
    """Each word's depth (the root's 0) for 1-based `heads` (0: the root), or a
    message saying why they are not a tree: a head out of range, no root, a cycle.

    >>> tree_depths([2, 0, 2]), tree_depths([2, 1])
    ([1, 0, 1], 'no root (no word has head 0)')
    """
    size = len(heads)
    bad = next((k for k, head in enumerate(heads, start=1) if not 0 <= head <= size), None)
    if bad is not None:
        return f"word {bad} has head {heads[bad - 1]}, outside 0-{size}"
    if 0 not in heads:
        return "no root (no word has head 0)"
    depths = [None] * size
    for start in range(size):
        path, on_path, word = [], set(), start
        while word >= 0 and depths[word] is None:
            if word in on_path:
                return f"the heads form a cycle through word {word + 1}"
            path.append(word)
            on_path.add(word)
            word = heads[word] - 1
        depth = -1 if word < 0 else depths[word]
        for word in reversed(path):
            depth += 1
            depths[word] = depth
    return depths


def check_heads(heads, path=None, line=None):
    """The depths of `tree_depths`, or its message as a DataError at `path`:`line`."""
    depths = tree_depths(heads)
    if isinstance(depths, str):
        raise DataError(depths, path=path, line=line)
    return depths


def read_dependencies(path):
    """Reads a CoNLL-U file's dependency trees.

    Comments, multiword-token ranges (``1-2``) and empty nodes (``8.1``) are skipped, as
    in `seqtasks.data.readers.read_conllu`. A DataError names the line of a non-integer
    head or an empty relation, and the sentence's first word for heads that are not a
    tree (a head outside 0..words, no root, a cycle).

    Returns:
        A list of ``(words, heads, relations)``, heads 1-based (0 for the root).

    Example:

    >>> words, heads, relations = read_dependencies("en_ewt-ud-dev.conllu")[0]  # doctest: +SKIP
    >>> words[:3], heads[:3], relations[:3]  # doctest: +SKIP
    (['From', 'the', 'AP'], [3, 3, 4], ['case', 'det', 'obl'])
    """

    def parse_line(number, line):
        if line.startswith("#"):
            return None
        fields = line.split("\t")
        if len(fields) != len(CONLLU_FIELDS):
            raise DataError(f"found {len(fields)} tab-separated fields, CoNLL-U needs "
                            f"{len(CONLLU_FIELDS)}", path=path, line=number)
        if "-" in fields[0] or "." in fields[0]:
            return None
        try:
            head = int(fields[_HEAD])
        except ValueError:
            raise DataError(f"head {fields[_HEAD]!r} is not an integer", path=path,
                            line=number) from None
        relation = _require(fields[_DEPREL], "deprel", path, number)
        return _require(fields[1], "form", path, number), (head, relation, number)

    sentences = []
    for words, rows in _read_sentences(path, parse_line):
        heads, relations, lines = map(list, zip(*rows))
        check_heads(heads, path, lines[0])
        sentences.append((words, heads, relations))
    return sentences


def conllu_lines(words, heads, relations):
    """A sentence as CoNLL-U lines, only ID, FORM, HEAD and DEPREL filled (else ``_``).

    >>> conllu_lines(["hi"], [0], ["root"])
    '1\\thi\\t_\\t_\\t_\\t_\\t0\\troot\\t_\\t_\\n'
    """
    return "".join(f"{k}\t{word}\t_\t_\t_\t_\t{head}\t{relation}\t_\t_\n"
                   for k, (word, head, relation) in enumerate(zip(words, heads, relations),
                                                              start=1))


@dataclass(frozen=True)
class DependencyBatch:
    """B sentences as padded int32 arrays in word order (see `encode_dependencies`); T is
    the longest sentence, C the most dependents of a word, H the most heights of a tree
    (its height + 1), D the most depths, W the most words of one height or depth.

    Attributes:
        words: (B, T) word ids, 0 for padding.
        heads: (B, T) each word's head, 0-based within its sentence; -1 for the root
            and padding.
        up_children: (B, T, C) each word's dependents, -1 padded.
        up_levels: (B, H, W) the words of each height (leaves 0), -1 padded.
        down_children: (B, T, 1) each word's head as its one child (-1: root, padding).
        down_levels: (B, D, W) the words of each depth (the root 0), -1 padded.
        edges: (B, T, 3) row i ``(head, i, 0)`` for each non-root word i, else -1s.
        labels: (B, T) relation ids, -1 for padding (and without relations).
        mask: (B, T) bool, True at the words.

    ``PADDING`` (`pad_batch`'s): -1 in the index arrays (0 in the others), the level arrays
    padded like the words.
    """

    PADDING = Padding({name: -1 for name in ("heads", "up_children", "up_levels",
                                             "down_children", "down_levels", "edges")},
                      like={"up_levels": "words", "down_levels": "words"})

    words: np.ndarray
    heads: np.ndarray
    up_children: np.ndarray
    up_levels: np.ndarray
    down_children: np.ndarray
    down_levels: np.ndarray
    edges: np.ndarray
    labels: np.ndarray
    mask: np.ndarray


def _groups(values):
    """The indices of each value 0..max(values), in order: ``[[i: values[i] == v]]``."""
    groups = [[] for _ in range(max(values) + 1)]
    for i, value in enumerate(values):
        groups[value].append(i)
    return groups


def _heights(heads, depths):
    """Each word's height (leaves 0) from 0-based `heads` (-1: root), deepest first."""
    heights = [0] * len(heads)
    for word in sorted(range(len(heads)), key=lambda k: -depths[k]):
        if heads[word] >= 0:
            heights[heads[word]] = max(heights[heads[word]], heights[word] + 1)
    return heights


def _fill(rows, width, groups_of):
    """A (B, rows, width) -1 padded array of each sentence's lists of indices."""
    array = np.full((len(groups_of), rows, width), -1, "int32")
    for b, groups in enumerate(groups_of):
        for k, group in enumerate(groups):
            array[b, k, :len(group)] = group
    return array


def encode_dependencies(sentences, word_id, relation_id=None):
    """Encodes ``(words, heads[, relations])`` sentences into a `DependencyBatch`.

    Args:
        sentences: a non-empty list; heads 1-based with 0 for the root (CoNLL-U's), and
            relations only read when `relation_id` is given.
        word_id: a callable from a word to its id (never 0).
        relation_id: a callable from a relation to its id; None: labels all -1.

    Raises:
        DataError: heads that do not form a tree (see `tree_depths`).

    Example:

    >>> batch = encode_dependencies([(["a", "b"], [0, 1], ["root", "obj"])], {"a": 2, "b": 3}.get,
    ...                             {"root": 0, "obj": 1}.get)
    >>> batch.up_children.tolist(), batch.edges.tolist(), batch.labels.tolist()
    ([[[1], [-1]]], [[[-1, -1, -1], [0, 1, 0]]], [[0, 1]])
    """
    if not sentences:
        raise DataError("no sentences to encode")
    count, size = len(sentences), max(len(sentence[0]) for sentence in sentences)
    heads = np.full((count, size), -1, "int32")
    words = np.zeros((count, size), "int32")
    labels = np.full((count, size), -1, "int32")
    mask = np.zeros((count, size), bool)
    children_of, heights_of, depths_of = [], [], []
    for b, sentence in enumerate(sentences):
        depths = check_heads(sentence[1])
        local = [head - 1 for head in sentence[1]]
        length = len(local)
        heads[b, :length] = local
        words[b, :length] = [word_id(word) for word in sentence[0]]
        if relation_id is not None:
            labels[b, :length] = [relation_id(relation) for relation in sentence[2]]
        mask[b, :length] = True
        children = [[] for _ in range(length)]
        for word, head in enumerate(local):
            if head >= 0:
                children[head].append(word)
        children_of.append(children)
        heights_of.append(_groups(_heights(local, depths)))
        depths_of.append(_groups(depths))
    most = max(1, max(len(kids) for children in children_of for kids in children))
    up_children = np.full((count, size, most), -1, "int32")
    for b, children in enumerate(children_of):
        for word, kids in enumerate(children):
            up_children[b, word, :len(kids)] = kids
    width = max(len(group) for groups in heights_of + depths_of for group in groups)
    edges = np.full((count, size, 3), -1, "int32")
    dependent = heads >= 0
    edges[dependent] = np.stack([heads[dependent], np.nonzero(dependent)[1],
                                 np.zeros(dependent.sum(), "int32")], axis=-1)
    return DependencyBatch(
        words, heads, up_children,
        _fill(max(map(len, heights_of)), width, heights_of),
        heads[..., None].copy(),
        _fill(max(map(len, depths_of)), width, depths_of),
        edges, labels, mask)
