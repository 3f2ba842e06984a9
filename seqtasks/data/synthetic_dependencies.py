"""Synthetic dependency trees whose relations follow from the tree, for the relations task.

Each example is a sentence with a gold head and a Universal Dependencies relation
(DEPREL) for every word. The same word gets different relations depending on where its
head is and what kind of word the head is, so a model must read the tree (or the
sentence around the head) to label it:

* a noun is ``nsubj`` before its verb, ``obj`` after it, ``compound`` before another
  noun, ``conj`` after ``and`` (the relation is then the coordination's, not the
  clause's) and ``nmod`` or ``obl`` inside a prepositional phrase;
* a prepositional phrase after an object attaches to the verb (``obl``) or to the noun
  (``nmod``): the words are the same, only the head differs;
* ``fast``, ``early``, ``late``, ``hard``, ... are ``amod`` of a noun and ``advmod`` of
  a verb;
* ``that`` is the ``mark`` of a clausal complement (``ccomp``) of ``said``, ``knew``...;
  ``det``, ``case``, ``cc``, ``aux``, ``punct`` and ``root`` complete the set.

Example:

>>> words, heads, relations = make_dependencies(1, seed=1)[0]
>>> len(words) == len(heads) == len(relations), relations.count("root")
(True, 1)
"""

import random

_NOUNS = ("dog", "cat", "teacher", "child", "farmer", "car", "train", "bird", "student",
          "doctor", "house", "river", "letter", "ball", "garden", "school", "horse", "city")
_DETERMINERS = ("the", "a", "this", "every", "my", "our")
_ADJECTIVES = ("big", "small", "old", "red", "young", "happy", "quiet", "new")
# Adjectives and adverbs alike: amod of a noun, advmod of a verb.
_FLAT = ("fast", "early", "late", "hard", "daily", "straight", "high", "long")
_INTENSIFIERS = ("very", "really", "quite")
_TRANSITIVE = ("saw", "liked", "chased", "found", "watched", "helped", "called", "followed")
_INTRANSITIVE = ("ran", "slept", "arrived", "waited", "worked", "jumped", "left")
_SAYING = ("said", "knew", "thought", "heard")
_AUXILIARIES = ("will", "can", "may", "must")
_PREPOSITIONS = ("in", "on", "near", "with", "behind", "from")
_CONJUNCTIONS = ("and", "or")


class _Word:
    """A word of a sentence under construction; `head` is another `_Word` or None."""

    def __init__(self, form, relation="dep", head=None):
        self.form, self.relation, self.head = form, relation, head


def _noun_phrase(rng, depth=0):
    """``([words], head word)``: [det] [adjective] [compound] noun [PP] [and NP]."""
    noun = _Word(rng.choice(_NOUNS))
    words = []
    if rng.random() < 0.85:
        words.append(_Word(rng.choice(_DETERMINERS), "det", noun))
    if rng.random() < 0.3:
        adjective = _Word(rng.choice(_FLAT if rng.random() < 0.5 else _ADJECTIVES), "amod", noun)
        if rng.random() < 0.25:
            words.append(_Word(rng.choice(_INTENSIFIERS), "advmod", adjective))
        words.append(adjective)
    if rng.random() < 0.12:
        words.append(_Word(rng.choice(_NOUNS), "compound", noun))
    words.append(noun)
    if depth == 0 and rng.random() < 0.08:
        words += _coordinated(rng, noun, lambda: _noun_phrase(rng, depth + 1))
    return words, noun


def _coordinated(rng, first, make):
    """``and X``: X's head is the ``conj`` of `first`, ``and`` the ``cc`` of X's head."""
    words, head = make()
    head.relation, head.head = "conj", first
    return [_Word(rng.choice(_CONJUNCTIONS), "cc", head)] + words


def _prepositional(rng, head, relation):
    """``in the garden``: the noun is `relation` (obl or nmod) of `head`."""
    words, noun = _noun_phrase(rng, depth=1)
    noun.relation, noun.head = relation, head
    return [_Word(rng.choice(_PREPOSITIONS), "case", noun)] + words


def _argument(words, noun, relation, verb):
    noun.relation, noun.head = relation, verb
    return words


def _clause(rng, depth=0):
    """``([words], verb)``: subject [aux] verb [object [PP]] [flat adverb] [that clause]."""
    kind = rng.random()
    if depth == 0 and kind < 0.15:
        verb = _Word(rng.choice(_SAYING))
    elif kind < 0.6:
        verb = _Word(rng.choice(_TRANSITIVE))
    else:
        verb = _Word(rng.choice(_INTRANSITIVE))
    words = _argument(*_noun_phrase(rng), "nsubj", verb)
    if rng.random() < 0.2:
        words.append(_Word(rng.choice(_AUXILIARIES), "aux", verb))
    words.append(verb)
    if verb.form in _SAYING:
        complement, inner = _clause(rng, depth + 1)
        inner.relation, inner.head = "ccomp", verb
        return words + [_Word("that", "mark", inner)] + complement, verb
    if verb.form in _TRANSITIVE:
        phrase, noun = _noun_phrase(rng)
        words += _argument(phrase, noun, "obj", verb)
        if rng.random() < 0.3:  # the same words attach to the noun or to the verb
            attached, relation = (noun, "nmod") if rng.random() < 0.5 else (verb, "obl")
            words += _prepositional(rng, attached, relation)
    elif rng.random() < 0.35:
        words += _prepositional(rng, verb, "obl")
    if rng.random() < 0.25:
        words.append(_Word(rng.choice(_FLAT), "advmod", verb))
    if depth == 0 and rng.random() < 0.08:
        words += _coordinated(rng, verb, lambda: _clause(rng, depth + 1))
    return words, verb


def _sentence(rng):
    """``(words, heads, relations)``: heads 1-based, 0 for the root."""
    words, verb = _clause(rng)
    verb.relation = "root"
    words.append(_Word(".", "punct", verb))
    position = {id(word): k for k, word in enumerate(words, start=1)}
    return ([word.form for word in words],
            [0 if word.head is None else position[id(word.head)] for word in words],
            [word.relation for word in words])


def make_dependencies(n, seed):
    """Returns `n` sentences with distinct words, ``(words, heads, relations)`` each
    (heads 1-based, 0 for the root, as in CoNLL-U), shuffled.

    Example:

    >>> sentences = make_dependencies(30, seed=0)
    >>> len({" ".join(words) for words, _, _ in sentences})
    30
    """
    rng = random.Random(seed)
    sentences, seen = [], set()
    while len(sentences) < n:
        sentence = _sentence(rng)
        text = " ".join(sentence[0])
        if text not in seen:
            seen.add(text)
            sentences.append(sentence)
    rng.shuffle(sentences)
    return sentences

