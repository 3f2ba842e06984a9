"""Synthetic sentiment trees whose labels are composed bottom-up, for the trees task.

Each example is a binarised constituency tree in the Stanford Sentiment Treebank's
bracketed form, a sentiment label 0-4 on every node (2 neutral). A node's score
(label - 2, from -2 to 2) is a function of its children's, so the sentence's label is
only known by composing its phrases in their tree:

* intensifiers (``very good``: +1 -> +2) and downtoners (``fairly awful``: -2 -> -1);
* negation scoped over an adjective phrase (``not very good``: -1; ``not awful``: +1);
* ``and`` adds the clauses' scores (clipped to [-2, 2]);
* contrast: in ``X but Y`` and ``although X , Y`` the second clause decides.

A bag of words sees "good", "not" and "awful" but not which of them scopes over which.

Example:

>>> print(make_trees(1, seed=3)[0])
(1 (2 (2 this) (2 pacing)) (1 (2 is) (1 bland)))
"""

import random

# Adjectives by score.
_ADJECTIVES = {
    2: ("superb", "brilliant", "wonderful", "masterful", "stunning"),
    1: ("good", "nice", "pleasant", "solid", "decent", "charming"),
    0: ("ordinary", "average", "standard", "typical"),
    -1: ("dull", "weak", "bland", "flat", "tired", "messy"),
    -2: ("awful", "dreadful", "terrible", "horrible", "painful"),
}
_INTENSIFIERS = ("very", "truly", "really", "remarkably")
_DOWNTONERS = ("fairly", "somewhat", "rather")
_NEGATIONS = ("not", "never", "hardly")
_NOUNS = ("film", "plot", "acting", "script", "ending", "cast", "score", "dialogue",
          "pacing", "story", "music", "direction")
_DETERMINERS = ("the", "its", "this")
_COPULAS = ("is", "was", "seems", "felt")
_NEUTRAL = 0
_SENTENCE_SHAPES = ("clause", "clause", "and", "but", "although")


def _sign(score):
    return (score > 0) - (score < 0)


def intensify(score):
    """``very X``: one step further from neutral, at most 2."""
    return _sign(score) * min(2, abs(score) + 1)


def downtone(score):
    """``fairly X``: one step towards neutral, never past it (0 stays 0)."""
    return _sign(score) if abs(score) == 2 else score


def negate(score):
    """``not X``: the other side, mildly (``not brilliant``: -1; ``not awful``: +1)."""
    return -_sign(score)


def combine(first, second):
    """``X and Y``: the scores added, clipped to [-2, 2]."""
    return max(-2, min(2, first + second))


class _Node:
    """A scored node: a word, or a pair of children."""

    def __init__(self, score, word=None, children=()):
        self.score, self.word, self.children = score, word, children

    def __str__(self):
        label = self.score + 2
        if self.word is not None:
            return f"({label} {self.word})"
        return f"({label} {' '.join(str(child) for child in self.children)})"


def _leaf(word, score=_NEUTRAL):
    return _Node(score, word=word)


def _pair(score, left, right):
    return _Node(score, children=(left, right))


def _adjective_phrase(rng):
    """An adjective, maybe intensified or toned down, maybe negated."""
    score = rng.choice(sorted(_ADJECTIVES))
    phrase = _leaf(rng.choice(_ADJECTIVES[score]), score)
    modifier = rng.random()
    if modifier < 0.3:
        phrase = _pair(intensify(phrase.score), _leaf(rng.choice(_INTENSIFIERS)), phrase)
    elif modifier < 0.45:
        phrase = _pair(downtone(phrase.score), _leaf(rng.choice(_DOWNTONERS)), phrase)
    if rng.random() < 0.35:
        phrase = _pair(negate(phrase.score), _leaf(rng.choice(_NEGATIONS)), phrase)
    return phrase


def _clause(rng):
    """``(the film) (was (not (very good)))``: its score is the predicate's."""
    subject = _pair(_NEUTRAL, _leaf(rng.choice(_DETERMINERS)), _leaf(rng.choice(_NOUNS)))
    adjective = _adjective_phrase(rng)
    predicate = _pair(adjective.score, _leaf(rng.choice(_COPULAS)), adjective)
    return _pair(predicate.score, subject, predicate)


def _sentence(rng):
    shape = rng.choice(_SENTENCE_SHAPES)
    first = _clause(rng)
    if shape == "clause":
        return first
    second = _clause(rng)
    if shape == "and":
        joined = _pair(second.score, _leaf("and"), second)
        return _pair(combine(first.score, second.score), first, joined)
    if shape == "but":
        contrast = _pair(second.score, _leaf("but"), second)
        return _pair(second.score, first, contrast)
    conceded = _pair(first.score, _leaf("although"), first)
    main = _pair(second.score, _leaf(","), second)
    return _pair(second.score, conceded, main)


def make_trees(n, seed):
    """Returns `n` distinct bracketed trees (strings), shuffled.

    Example:

    >>> trees = make_trees(50, seed=0)
    >>> len(set(trees)), trees[0].startswith("(")
    (50, True)
    """
    rng = random.Random(seed)
    trees, seen = [], set()
    while len(trees) < n:
        text = str(_sentence(rng))
        if text not in seen:
            seen.add(text)
            trees.append(text)
    rng.shuffle(trees)
    return trees
