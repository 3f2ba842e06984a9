"""Trees: the Stanford Sentiment Treebank's bracketed format, and padded batches of trees
for `seqtasks.layers.tree_lstm.TreeLSTM`.

A labelled tree is one line: every node is ``(LABEL child child ...)`` and every leaf
``(LABEL word)``, labels being non-negative integers (SST's sentiment classes 0-4)::

    (3 (2 (2 The) (2 Rock)) (4 (2 is) (4 great)))

Words are runs of any characters but spaces, tabs and brackets (SST writes brackets in
the text as ``-LRB-`` and ``-RRB-``, and keeps a no-break space inside ``8 1/2``). Input to predict has no labels (``labels=False``): a
bracket holds words and bracketed nodes, a bare word is a leaf, and so is a bracket
around one word, so ``((The Rock) (is great))`` and ``(((The) (Rock)) ((is) (great)))``
are the same tree.

`encode_trees` numbers the nodes of each tree in post-order (children before their
parent, the root last) and pads a batch into arrays (`TreeBatch`); the Tree-LSTM walks
them one height at a time. It takes any `Tree`, also one whose internal nodes carry a
word (a dependency tree), and any number of children.

Example:

>>> tree = parse_tree("(3 (2 (2 The) (2 Rock)) (4 (2 is) (4 great)))")
>>> tree.words(), tree.size(), tree.height()
(['The', 'Rock', 'is', 'great'], 7, 2)
>>> batch = encode_trees([tree], {"The": 2, "Rock": 3, "is": 4, "great": 5}.get)
>>> batch.tokens.tolist(), batch.labels.tolist(), batch.root_index.tolist()
([[2, 3, 0, 4, 5, 0, 0]], [[2, 2, 2, 2, 4, 4, 3]], [6])
"""

import re
from dataclasses import dataclass

import numpy as np

from seqtasks.data.batching import Padding
from seqtasks.data.readers import _read_lines
from seqtasks.errors import DataError
from seqtasks.validation import positive_int

_TOKEN = re.compile(r"[()]|[^ \t()]+")
_LABEL = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Tree:
    """A tree node: an integer `label` (None when unlabelled), its `children` (a tuple of
    `Tree`, empty for a leaf) and its `word` (None for the internal nodes of a
    constituency tree).

    Example:

    >>> leaf = Tree(2, word="great")
    >>> tree = Tree(4, (Tree(2, word="is"), leaf))
    >>> tree.leaves()[1] is leaf, tree.size(), tree.height()
    (True, 3, 1)
    """

    label: int | None = None
    children: tuple = ()
    word: str | None = None

    def postorder(self):
        """The nodes, children before their parent (left to right), this node last."""
        return _walk(self)[0]

    def leaves(self):
        """The nodes without children, left to right."""
        return [node for node in self.postorder() if not node.children]

    def words(self):
        """The leaves' words, left to right (a constituency tree's sentence)."""
        return [node.word for node in self.leaves() if node.word is not None]

    def size(self):
        """The number of nodes."""
        return len(self.postorder())

    def height(self):
        """0 for a leaf, else 1 + the largest height of a child."""
        return _walk(self)[2][-1]


def _walk(tree):
    """``(nodes, child_indices, heights)`` in post-order; without recursion, so a tree
    may be deeper than Python's recursion limit."""
    nodes, child_indices, heights = [], [], []
    stack = [(tree, iter(tree.children), [])]
    while stack:
        node, pending, indices = stack[-1]
        child = next(pending, None)
        if child is not None:
            stack.append((child, iter(child.children), []))
            continue
        stack.pop()
        heights.append(1 + max(heights[i] for i in indices) if indices else 0)
        nodes.append(node)
        child_indices.append(indices)
        if stack:
            stack[-1][2].append(len(nodes) - 1)
    return nodes, child_indices, heights


class _Open:
    """A node whose ')' has not come yet: its '(' column, label, word and children."""

    def __init__(self, column, labelled):
        self.column = column
        self.needs_label = labelled
        self.label = None
        self.word = None
        self.items = []


def parse_tree(text, path=None, line=None, labels=True):
    """Parses one bracketed tree (see the module docstring).

    Args:
        text: the tree, e.g. ``"(3 (2 (2 The) (2 Rock)) (4 (2 is) (4 great)))"``.
        path, line: where `text` comes from, for error messages.
        labels: True: every node has a label, a leaf exactly one word. False: no node
            has a label (a number is a word), a bracket holds words and nodes.

    Raises:
        DataError: ``PATH:LINE: column C: ...`` (C 1-based) for an empty line, unbalanced
            brackets, a missing or non-integer label, an empty leaf ``(2 )``, a word
            beside child nodes or a second word in a labelled leaf, or text after the tree.

    Example:

    >>> parse_tree("(4 (2 is) (4 great))").children[1]
    Tree(label=4, children=(), word='great')
    >>> parse_tree("((The Rock) great)", labels=False).words()
    ['The', 'Rock', 'great']
    >>> parse_tree("(2 a))", path="train.txt", line=3)
    Traceback (most recent call last):
    ...
    seqtasks.errors.DataError: train.txt:3: column 6: unbalanced brackets: ')' with no open '('
    """

    def fail(column, message):
        raise DataError(f"column {column}: {message}", path=path, line=line)

    tokens = [(match.group(), match.start() + 1) for match in _TOKEN.finditer(text)]
    if not tokens:
        fail(1, "empty line, expected a tree such as (3 (2 word) (2 word))")
    stack, root = [], None
    for token, column in tokens:
        if root is not None:
            if token == ")":
                fail(column, "unbalanced brackets: ')' with no open '('")
            fail(column, f"text after the tree: {token!r}")
        if not stack and token != "(":
            fail(column, f"expected '(' to start the tree, found {token!r}")
        top = stack[-1] if stack else None
        if top is not None and top.needs_label:
            if token in ("(", ")"):
                fail(top.column, "missing label: a node must start with its integer label")
            if not _LABEL.fullmatch(token):
                fail(column, f"the label must be a non-negative integer, found {token!r}")
            top.label, top.needs_label = int(token), False
        elif token == "(":
            if top is not None and labels and top.word is not None:
                fail(column, "a child node beside a word (a labelled leaf is (LABEL word))")
            stack.append(_Open(column, labels))
        elif token == ")":
            node = _close(stack.pop(), column, labels, fail)
            if stack:
                stack[-1].items.append(node)
            else:
                root = node
        elif not labels:
            top.items.append(token)
        elif top.items:
            fail(column, f"a word beside child nodes: {token!r} (a labelled leaf is (LABEL word))")
        elif top.word is not None:
            fail(column, f"a second word in a leaf: {token!r} (a labelled leaf is (LABEL word))")
        else:
            top.word = token
    if stack:
        fail(stack[-1].column, "unbalanced brackets: '(' with no matching ')'")
    return root


def _close(node, column, labels, fail):
    """The `Tree` of a node whose ')' is at `column`."""
    if labels:
        if node.word is None and not node.items:
            fail(column, "empty leaf: a word must follow the label")
        return Tree(node.label, tuple(node.items), node.word)
    if not node.items:
        fail(node.column, "empty brackets '()'")
    if len(node.items) == 1 and isinstance(node.items[0], str):
        return Tree(word=node.items[0])
    return Tree(children=tuple(item if isinstance(item, Tree) else Tree(word=item)
                               for item in node.items))


def read_trees(path, labels=True):
    """Reads a file of bracketed trees, one per line (`parse_tree` each).

    Every line must hold a tree (no blank lines); the file must exist and be non-empty
    UTF-8, as for the other readers (`seqtasks.data.readers`).

    Example:

    >>> trees = read_trees("sst/train.txt")  # doctest: +SKIP
    >>> len(trees), trees[0].label  # doctest: +SKIP
    (8544, 3)
    """
    return [parse_tree(text, path=path, line=number, labels=labels)
            for number, text in enumerate(_read_lines(path), start=1)]


@dataclass(frozen=True)
class TreeBatch:
    """A batch of B trees as padded arrays (see `encode_trees`); N is the most nodes of a
    tree, C the most children of a node, H the most heights of a tree (its height + 1),
    W the most nodes of one height in one tree. A tree's nodes are numbered in
    post-order, so the root of tree b is node ``root_index[b] = size - 1``.

    Attributes:
        tokens: (B, N) int32, the token id of each node with a word, else 0.
        children: (B, N, C) int32, the indices of each node's children, -1 padded.
        levels: (B, H, W) int32, ``levels[b, h]`` the nodes of height h, -1 padded.
        labels: (B, N) int32, the node labels, -1 for padding and unlabelled nodes.
        node_mask: (B, N) bool, True for the nodes of the tree.
        root_index: (B,) int32, the index of each tree's root.

    ``PADDING`` (`pad_batch`'s): -1 in the index arrays (0 in the others), the levels padded
    like the nodes, buckets stepping by 16 (a tree model's loops run over the real nodes
    only, so padded nodes cost little).
    """

    PADDING = Padding({"children": -1, "levels": -1}, like={"levels": "children"}, step=16)

    tokens: np.ndarray
    children: np.ndarray
    levels: np.ndarray
    labels: np.ndarray
    node_mask: np.ndarray
    root_index: np.ndarray


def encode_trees(trees, token_ids, max_children=None):
    """Encodes trees into the padded arrays of a `TreeBatch`.

    Args:
        trees: a non-empty list of `Tree`; any node with a word gets a token id, so
            dependency trees (words at internal nodes) work too.
        token_ids: a callable from a word to its int id, e.g. a
            `seqtasks.data.text.Vocabulary`'s ``token_to_id``.
        max_children: C, the width of `children` (say 2 for a binary Tree-LSTM whatever
            the batch holds); by default the most children of a node in the batch
            (at least 1).

    Raises:
        DataError: a node has more than `max_children` children.

    Example:

    >>> leaf = Tree(1, word="hi")
    >>> batch = encode_trees([leaf, Tree(0, (leaf, leaf, leaf))], {"hi": 7}.get)
    >>> batch.children[1].tolist()
    [[-1, -1, -1], [-1, -1, -1], [-1, -1, -1], [0, 1, 2]]
    >>> batch.levels.tolist()
    [[[0, -1, -1], [-1, -1, -1]], [[0, 1, 2], [3, -1, -1]]]
    """
    if not trees:
        raise DataError("no trees to encode")
    walks = [_walk(tree) for tree in trees]
    most_children = max(len(indices) for _, kids, _ in walks for indices in kids)
    if max_children is None:
        max_children = max(most_children, 1)
    elif positive_int("max_children", max_children) < most_children:
        raise DataError(f"a node has {most_children} children, more than "
                        f"max_children={max_children}")
    size = max(len(nodes) for nodes, _, _ in walks)
    levels_of = [[[i for i, height in enumerate(heights) if height == h]
                  for h in range(heights[-1] + 1)] for _, _, heights in walks]
    depth = max(len(levels) for levels in levels_of)
    width = max(len(level) for levels in levels_of for level in levels)
    count = len(trees)
    tokens = np.zeros((count, size), "int32")
    children = np.full((count, size, max_children), -1, "int32")
    levels = np.full((count, depth, width), -1, "int32")
    labels = np.full((count, size), -1, "int32")
    node_mask = np.zeros((count, size), bool)
    for b, ((nodes, kids, _), tree_levels) in enumerate(zip(walks, levels_of)):
        node_mask[b, :len(nodes)] = True
        for i, (node, indices) in enumerate(zip(nodes, kids)):
            if node.word is not None:
                tokens[b, i] = token_ids(node.word)
            if node.label is not None:
                labels[b, i] = node.label
            children[b, i, :len(indices)] = indices
        for h, level in enumerate(tree_levels):
            levels[b, h, :len(level)] = level
    root_index = node_mask.sum(axis=1).astype("int32") - 1
    return TreeBatch(tokens, children, levels, labels, node_mask, root_index)
