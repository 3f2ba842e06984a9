"""Dependency trees: the CoNLL-U reader's errors at file:line and the batch encoder's arrays
on hand-made sentences."""

import re

import pytest

from seqtasks.data.dependencies import (check_heads, conllu_lines, encode_dependencies,
                                        read_dependencies, tree_depths)
from seqtasks.errors import DataError

# "the dog saw a cat ." and "cats sleep".
SENTENCES = [(["the", "dog", "saw", "a", "cat", "."], [2, 3, 0, 5, 3, 3],
              ["det", "nsubj", "root", "det", "obj", "punct"]),
             (["cats", "sleep"], [2, 0], ["nsubj", "root"])]
IDS = {word: k for k, word in enumerate(["the", "dog", "saw", "a", "cat", ".", "cats",
                                         "sleep"], start=2)}
RELATIONS = {"det": 0, "nsubj": 1, "root": 2, "obj": 3, "punct": 4}


def row(k, word, head, relation="dep", id_=None):
    return f"{id_ or k}\t{word}\t_\t_\t_\t_\t{head}\t{relation}\t_\t_\n"


def write(tmp_path, text):
    path = tmp_path / "trees.conllu"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_words_heads_and_relations_skipping_comments_ranges_and_empty_nodes(tmp_path):
    text = ("# sent_id = 1\n" + "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n" + row(1, "do", 0, "root")
            + row(2, "n't", 1, "advmod") + "1.1\tgone\t_\t_\t_\t_\t_\t_\t_\t_\n\n"
            + "".join(conllu_lines(*SENTENCES[1])))
    assert read_dependencies(write(tmp_path, text)) == [
        (["do", "n't"], [0, 1], ["root", "advmod"]), SENTENCES[1]]


@pytest.mark.parametrize("lines, message", [
    ([row(1, "a", "x")], ":1: head 'x' is not an integer"),
    (["# c\n", row(1, "a", 0), row(2, "b", 7)], ":2: word 2 has head 7, outside 0-2"),
    (["\n", row(1, "a", 2), row(2, "b", 1)], ":2: no root (no word has head 0)"),
    ([row(1, "a", 0), "\n", row(1, "b", 3), row(2, "c", 1), row(3, "d", 2), row(4, "e", 0)],
     ":3: the heads form a cycle through word"),
    ([row(1, "a", 0), row(2, "b", 1, relation="")], ":2: empty deprel"),
])
def test_errors_name_the_file_and_line(tmp_path, lines, message):
    with pytest.raises(DataError, match=re.escape(message)) as error:
        read_dependencies(write(tmp_path, "".join(lines)))
    assert str(error.value).startswith(str(tmp_path / "trees.conllu"))


def test_depths_without_recursion_on_a_deep_chain():
    chain = [0] + list(range(1, 5000))  # word k+1 hangs from word k
    assert check_heads(chain)[-1] == 4999
    assert tree_depths([0, 3, 2]) == "the heads form a cycle through word 2"
    with pytest.raises(DataError, match=re.escape("input:3: no root (no word has head 0)")):
        check_heads([2, 1], path="input", line=3)


def test_the_batch_arrays_of_two_sentences():
    batch = encode_dependencies(SENTENCES, IDS.get, RELATIONS.get)
    assert batch.words.tolist() == [[2, 3, 4, 5, 6, 7], [8, 9, 0, 0, 0, 0]]
    assert batch.heads.tolist() == [[1, 2, -1, 4, 2, 2], [1, -1, -1, -1, -1, -1]]
    assert batch.labels.tolist() == [[0, 1, 2, 0, 3, 4], [1, 2, -1, -1, -1, -1]]
    assert batch.mask.sum(axis=1).tolist() == [6, 2]
    # Dependents: "saw" has dog, cat and "."; C is the most dependents (3).
    assert batch.up_children[0].tolist() == [[-1] * 3, [0, -1, -1], [1, 4, 5], [-1] * 3,
                                             [3, -1, -1], [-1] * 3]
    assert batch.up_children[1, :2].tolist() == [[-1] * 3, [0, -1, -1]]
    # Heights: leaves the, a, . and cats; then dog, cat and sleep; then saw.
    assert batch.up_levels.tolist() == [[[0, 3, 5], [1, 4, -1], [2, -1, -1]],
                                        [[0, -1, -1], [1, -1, -1], [-1, -1, -1]]]
    # Top-down: each word's one child is its head; depths from the root.
    assert batch.down_children[..., 0].tolist() == batch.heads.tolist()
    assert batch.down_levels.tolist() == [[[2, -1, -1], [1, 4, 5], [0, 3, -1]],
                                          [[1, -1, -1], [0, -1, -1], [-1, -1, -1]]]
    assert batch.edges[0].tolist() == [[1, 0, 0], [2, 1, 0], [-1, -1, -1], [4, 3, 0],
                                       [2, 4, 0], [2, 5, 0]]
    assert batch.edges[1].tolist() == [[1, 0, 0]] + [[-1, -1, -1]] * 5
    assert {array.dtype.name for array in (batch.words, batch.up_levels, batch.edges)} == {
        "int32"}


def test_without_relations_labels_are_minus_one_and_a_lone_word_has_a_child_column():
    batch = encode_dependencies([(["hi"], [0])], lambda word: 5)
    assert batch.labels.tolist() == [[-1]] and batch.up_children.shape == (1, 1, 1)
    assert batch.up_levels.tolist() == [[[0]]] and batch.edges.tolist() == [[[-1, -1, -1]]]
    with pytest.raises(DataError, match="cycle"):
        encode_dependencies([(["a", "b", "c"], [0, 3, 2])], IDS.get)
