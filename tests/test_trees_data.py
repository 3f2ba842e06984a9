"""The bracketed-tree reader (every bad input located by file, line and column) and the
padded post-order batch encoding of trees."""

import numpy as np
import pytest

from seqtasks.data.trees import Tree, TreeBatch, encode_trees, parse_tree, read_trees
from seqtasks.errors import ConfigError, DataError

SST = "(3 (2 (2 The) (2 Rock)) (4 (2 is) (4 great)))"
VOCAB = {"The": 2, "Rock": 3, "is": 4, "great": 5}


def leaf(label, word):
    return Tree(label, word=word)


def test_parse_a_labelled_tree():
    tree = parse_tree(SST)
    assert tree == Tree(3, (Tree(2, (leaf(2, "The"), leaf(2, "Rock"))),
                            Tree(4, (leaf(2, "is"), leaf(4, "great")))))
    assert tree.words() == ["The", "Rock", "is", "great"]
    assert [node.label for node in tree.postorder()] == [2, 2, 2, 2, 4, 4, 3]
    assert tree.leaves()[0] == leaf(2, "The")
    assert (tree.size(), tree.height()) == (7, 2)


def test_words_hold_any_character_but_space_and_brackets():
    tree = parse_tree("(2\t(1 -LRB-)  (3 naïve,co-op's...) (2 -RRB-) )")
    assert tree.words() == ["-LRB-", "naïve,co-op's...", "-RRB-"]
    assert parse_tree("(10 2002)") == leaf(10, "2002")
    # SST's train.txt:4342 keeps a no-break space inside one word.
    assert parse_tree("(2 8\xa01\\/2)") == leaf(2, "8\xa01\\/2")


def test_unlabelled_trees_take_bare_or_bracketed_words():
    tree = parse_tree("((The Rock) (is great))", labels=False)
    assert tree == parse_tree("(((The) (Rock)) ((is) (great)))", labels=False)
    assert tree.words() == ["The", "Rock", "is", "great"]
    assert {node.label for node in tree.postorder()} == {None}
    assert parse_tree("(2 a)", labels=False).words() == ["2", "a"]  # numbers are words
    assert parse_tree("(a)", labels=False) == Tree(word="a")


BAD = [
    ("(2 a))", True, 6, "unbalanced brackets: ')' with no open '('"),
    ("(3 (2 a) (2 b)", True, 1, "unbalanced brackets: '(' with no matching ')'"),
    ("(3 (2 a) (2 b", True, 10, "unbalanced brackets: '(' with no matching ')'"),
    ("((2 a) (2 b))", True, 1, "missing label"),
    ("(3 (2 a) ((2 b) (2 c)))", True, 10, "missing label"),
    ("()", True, 1, "missing label"),
    ("(x (2 a))", True, 2, "the label must be a non-negative integer, found 'x'"),
    ("(2.5 a)", True, 2, "the label must be a non-negative integer, found '2.5'"),
    ("(-1 a)", True, 2, "found '-1'"),
    ("(3 (2 ) (2 a))", True, 7, "empty leaf: a word must follow the label"),
    ("(2 a b)", True, 6, "a second word in a leaf: 'b'"),
    ("(2 (1 a) b)", True, 10, "a word beside child nodes: 'b'"),
    ("(2 a (1 b))", True, 6, "a child node beside a word"),
    ("(2 a) (2 b)", True, 7, "text after the tree: '('"),
    ("(2 a) b", True, 7, "text after the tree: 'b'"),
    ("a (2 b)", True, 1, "expected '(' to start the tree, found 'a'"),
    (")", True, 1, "expected '(' to start the tree, found ')'"),
    ("", True, 1, "empty line"),
    ("  \t ", True, 1, "empty line"),
    ("(a ())", False, 4, "empty brackets '()'"),
    ("(a (b)", False, 1, "unbalanced brackets: '(' with no matching ')'"),
]


@pytest.mark.parametrize("text, labels, column, message", BAD)
def test_parse_errors_name_line_and_column(text, labels, column, message):
    with pytest.raises(DataError) as error:
        parse_tree(text, path="train.txt", line=12, labels=labels)
    assert str(error.value).startswith(f"train.txt:12: column {column}: ")
    assert message in str(error.value)


def test_read_trees(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(f"{SST}\r\n(1 (0 bad) (2 -LRB-film-RRB-))\n(4 fine)\n", encoding="utf-8")
    trees = read_trees(path)
    assert [tree.label for tree in trees] == [3, 1, 4]
    assert trees[1].words() == ["bad", "-LRB-film-RRB-"]
    assert trees[2] == leaf(4, "fine")
    path.write_text("((a b) c)\n", encoding="utf-8")
    assert read_trees(path, labels=False)[0].words() == ["a", "b", "c"]


@pytest.mark.parametrize("content, where", [
    (f"{SST}\n(2 (1 a) (2 b)\n", "2: column 1: unbalanced brackets"),
    (f"{SST}\n\n(2 a)\n", "2: column 1: empty line"),
    (f"{SST}\n(2 a)\n\n", "3: column 1: empty line"),
    ("(2 a)\n(x b)\n", "2: column 2: the label must be"),
])
def test_read_trees_errors_name_file_line_and_column(tmp_path, content, where):
    path = tmp_path / "train.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match="^" + str(path) + ":" + where):
        read_trees(path)


@pytest.mark.parametrize("content, message", [(None, "file not found"), ("", "file is empty"),
                                              ("\n \n", "file is empty")])
def test_read_trees_needs_a_non_empty_file(tmp_path, content, message):
    path = tmp_path / "trees.txt"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_trees(path)


def dependency_tree():
    """A tree whose internal nodes carry words, one with three children."""
    rock = Tree(None, (leaf(2, "is"),), word="Rock")
    return Tree(4, (leaf(2, "The"), rock, leaf(3, "Rock")), word="great")


def test_encode_a_batch_of_different_shapes():
    batch = encode_trees([parse_tree(SST), leaf(1, "great"), dependency_tree()], VOCAB.get)
    assert isinstance(batch, TreeBatch)
    empty = [-1, -1, -1]
    np.testing.assert_array_equal(batch.tokens, [[2, 3, 0, 4, 5, 0, 0],
                                                 [5, 0, 0, 0, 0, 0, 0],
                                                 [2, 4, 3, 3, 5, 0, 0]])
    np.testing.assert_array_equal(batch.labels, [[2, 2, 2, 2, 4, 4, 3],
                                                 [1, -1, -1, -1, -1, -1, -1],
                                                 [2, 2, -1, 3, 4, -1, -1]])
    np.testing.assert_array_equal(batch.children, [
        [empty, empty, [0, 1, -1], empty, empty, [3, 4, -1], [2, 5, -1]],
        [empty] * 7,
        [empty, empty, [1, -1, -1], empty, [0, 2, 3], empty, empty],
    ])
    np.testing.assert_array_equal(batch.levels, [
        [[0, 1, 3, 4], [2, 5, -1, -1], [6, -1, -1, -1]],
        [[0, -1, -1, -1], [-1] * 4, [-1] * 4],
        [[0, 1, 3, -1], [2, -1, -1, -1], [4, -1, -1, -1]],
    ])
    np.testing.assert_array_equal(batch.node_mask, np.arange(7) < np.array([[7], [1], [5]]))
    np.testing.assert_array_equal(batch.root_index, [6, 0, 4])
    for array in (batch.tokens, batch.children, batch.levels, batch.labels, batch.root_index):
        assert array.dtype == np.int32
    assert batch.node_mask.dtype == bool


def test_encode_a_single_leaf():
    batch = encode_trees([leaf(0, "The")], VOCAB.get)
    assert batch.tokens.tolist() == [[2]] and batch.labels.tolist() == [[0]]
    assert batch.children.tolist() == [[[-1]]] and batch.levels.tolist() == [[[0]]]
    assert batch.node_mask.tolist() == [[True]] and batch.root_index.tolist() == [0]


def test_max_children_sets_the_width():
    batch = encode_trees([parse_tree(SST)], VOCAB.get, max_children=3)
    assert batch.children.shape == (1, 7, 3)
    assert batch.children[0, 6].tolist() == [2, 5, -1]
    with pytest.raises(DataError, match="a node has 3 children, more than max_children=2"):
        encode_trees([dependency_tree()], VOCAB.get, max_children=2)
    with pytest.raises(ConfigError, match="max_children"):
        encode_trees([dependency_tree()], VOCAB.get, max_children=0)
    with pytest.raises(DataError, match="no trees"):
        encode_trees([], VOCAB.get)


def test_deep_trees_need_no_recursion():
    depth = 3000
    text = "(1 " * depth + "(0 a)" + ")" * depth
    tree = parse_tree(text)
    assert (tree.size(), tree.height(), tree.words()) == (depth + 1, depth, ["a"])
    batch = encode_trees([tree], {"a": 1}.get)
    assert batch.levels.shape == (1, depth + 1, 1)
    assert batch.levels[0, :, 0].tolist() == list(range(depth + 1))
