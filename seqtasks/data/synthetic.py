"""Deterministic synthetic datasets on which the choice of architecture matters.

Each generator takes a size and a seed, draws from its own `random.Random` (no global
state) and returns that many *distinct* examples:

* `make_sentiment`: short reviews whose label depends on word order and scope
  (negation over intensified adjectives, contrast clauses), so a bag of uni- and bigrams
  falls well short of a recurrent model.
* `make_tagging`: BIO entity tags where an ambiguous name ("Jordan", "Austin") is only
  resolved by the words that come *after* it, so a bidirectional tagger wins.
* `make_dates`: human-written dates in many surface forms, paired with ISO dates.
* `make_trees` (`seqtasks.data.synthetic_trees`): sentiment trees whose node labels are
  composed bottom-up (negation scope, intensifiers, contrast).
* `make_dependencies` (`seqtasks.data.synthetic_dependencies`): dependency trees whose
  relations depend on the head's side and kind (nsubj/obj, amod/advmod, obl/nmod).
* `pydoc_text`: the English documentation text that ships with CPython, for
  character-level generation.

`write_embedded` writes the train/valid/test files shipped in the repository's `data/`
folder (see `data/README.md`).

Example:

>>> make_sentiment(2, seed=0) == make_sentiment(2, seed=0)
True
>>> tokens, tags = make_tagging(1, seed=0)[0]
>>> len(tokens) == len(tags)
True
>>> source, target = make_dates(1, seed=0)[0]
>>> len(target)
10
"""

import csv
import datetime
import random
from pathlib import Path

from seqtasks.data.dependencies import conllu_lines
from seqtasks.data.synthetic_dependencies import make_dependencies
from seqtasks.data.synthetic_trees import make_trees
from seqtasks.errors import ConfigError


def _distinct(n, make_one, key):
    """Calls `make_one(i)` until it has given `n` examples with distinct `key`s."""
    examples = {}
    attempts = 0
    while len(examples) < n and attempts < 20 * n + 1000:
        example = make_one(len(examples))
        examples.setdefault(key(example), example)
        attempts += 1
    if len(examples) < n:
        raise ConfigError(f"n={n}: could not draw that many distinct examples")
    return list(examples.values())


# ---------------------------------------------------------------------------------------
# Sentiment: the label is the polarity of the deciding clause (the one after "but" or
# "yet", before "even though", ...); a clause's polarity is that of its adjective or verb,
# flipped by a negation ("not very good") and again by a denial ("i would not say ...").
# Positive and negative reviews are built from the same words in the same proportions,
# contrast clauses pair a positive with a negative clause, and negations mostly reach
# their word across a modifier, so neither single words nor bigrams carry the label.

_ASPECTS = (
    # films
    ("acting", "plot", "script", "soundtrack", "ending", "dialogue", "pacing", "cast",
     "story", "humour", "villain", "finale"),
    # restaurants
    ("food", "service", "pasta", "dessert", "staff", "wine", "menu", "soup", "atmosphere",
     "bread", "pizza", "coffee"),
    # gadgets
    ("battery", "screen", "design", "keyboard", "speaker", "camera", "charger", "case",
     "software", "price", "manual", "display"),
)
_POSITIVE_ADJECTIVES = ("good", "great", "excellent", "brilliant", "charming", "delightful",
                        "superb", "lovely", "clever", "solid", "impressive", "enjoyable",
                        "wonderful", "pleasant")
_NEGATIVE_ADJECTIVES = ("bad", "dull", "boring", "awful", "poor", "bland", "weak",
                        "terrible", "slow", "clumsy", "mediocre", "disappointing",
                        "forgettable", "annoying")
_POSITIVE_VERBS = ("liked", "loved", "enjoyed", "adored", "appreciated", "admired")
_NEGATIVE_VERBS = ("hated", "disliked", "resented", "loathed", "despised", "regretted")
_NEGATION_RATE = 0.3
_DENIAL_RATE = 0.1
_MODIFIERS = ("very", "really", "truly", "extremely", "remarkably", "incredibly",
              "somewhat", "rather", "slightly", "fairly")
_VERB_ADVERBS = ("really", "truly", "particularly", "actually", "genuinely", "always")
# An adjective's negation is mostly followed by a modifier ("not very good"), so that
# the bigram next to the adjective is the same with and without the negation.
_NEGATIONS_WITH_MODIFIER = ("was not", "is not", "was never", "did not seem", "never seemed",
                            "never felt", "did not look")
_NEGATIONS_BARE = ("was not at all", "was far from", "is by no means", "was hardly",
                   "is not exactly")
_COPULAS = ("was", "is", "seemed", "felt", "looked")
_VERB_NEGATIONS = ("never", "hardly ever", "rarely", "seldom")
# A denial flips the clause after it, which may itself be negated.
_DENIALS = ("it is not true that", "i would not say", "nobody could claim")
_OPENERS = ("honestly ,", "overall ,", "to be fair ,", "in my opinion ,", "i have to say",
            "well ,", "frankly ,", "i think")


def _article(word):
    return "an" if word[0] in "aeiou" else "a"


def _adjective_clause(rng, noun, positive_word, negated):
    adjective = rng.choice(_POSITIVE_ADJECTIVES if positive_word else _NEGATIVE_ADJECTIVES)
    modifier = rng.choice(_MODIFIERS) + " "
    if not negated:
        verb = rng.choice(_COPULAS) + " "
        modifier = modifier if rng.random() < 0.6 else ""
    elif rng.random() < 0.75:
        verb = rng.choice(_NEGATIONS_WITH_MODIFIER) + " "
    else:
        verb, modifier = rng.choice(_NEGATIONS_BARE) + " ", ""
    if rng.random() < 0.7:
        return f"the {noun} {verb}{modifier}{adjective}"
    phrase = f"{modifier}{adjective} {noun}"
    return f"{rng.choice(('it', 'this', 'that'))} {verb}{_article(phrase)} {phrase}"


def _verb_clause(rng, noun, positive_word, negated):
    verb = rng.choice(_POSITIVE_VERBS if positive_word else _NEGATIVE_VERBS)
    adverb = rng.choice(_VERB_ADVERBS) + " " if rng.random() < 0.5 else ""
    negation = rng.choice(_VERB_NEGATIONS) + " " if negated else ""
    return f"i {negation}{adverb}{verb} the {noun}"


def _clause(rng, noun, positive):
    """A clause about `noun` whose polarity is `positive`."""
    denied = rng.random() < _DENIAL_RATE
    negated = rng.random() < _NEGATION_RATE
    make = _adjective_clause if rng.random() < 0.75 else _verb_clause
    clause = make(rng, noun, positive ^ negated ^ denied, negated)
    return f"{rng.choice(_DENIALS)} {clause}" if denied else clause


# Repeats make a shape more likely: 3 single clauses, 2 agreeing and 6 contrasting pairs.
_SHAPES = (
    "{deciding}", "{deciding}", "{deciding}", "{deciding} and {agreeing}",
    "{deciding} and {agreeing}", "{other} but {deciding}", "{other} , yet {deciding}",
    "although {other} , {deciding}", "while {other} , {deciding}",
    "{deciding} even though {other}", "{deciding} , although {other}",
)


def _review(rng, positive):
    """A review of 5 to 25 tokens whose polarity is `positive`."""
    while True:
        nouns = rng.sample(rng.choice(_ASPECTS), 2)
        text = rng.choice(_SHAPES).format(
            deciding=_clause(rng, nouns[0], positive),
            agreeing=_clause(rng, nouns[1], positive),
            other=_clause(rng, nouns[1], not positive),
        )
        if rng.random() < 0.3:
            text = f"{rng.choice(_OPENERS)} {text}"
        if 5 <= len(text.split()) <= 25:
            return text


def make_sentiment(n, seed):
    """Returns `n` distinct `(sentence, label)` pairs, label 1 for a positive review.

    Sentences are lower-case, space-separated tokens (punctuation included). Half the
    labels are 1.

    Example:

    >>> [label for _, label in make_sentiment(4, seed=1)].count(1)
    2
    """
    rng = random.Random(seed)
    examples = _distinct(n, lambda i: (_review(rng, i % 2 == 1), i % 2), key=lambda e: e[0])
    rng.shuffle(examples)
    return examples


# ---------------------------------------------------------------------------------------
# Tagging: an ambiguous name is a person, a place or a company with equal chance, and the
# words after it (a surname, "Motors", "spoke", "shares fell", "is a city") decide which.
# Some second entities are told by the words before them instead ("in", "the firm").

_AMBIGUOUS_NAMES = ("Jordan", "Washington", "Austin", "Florence", "Georgia", "Sydney",
                    "Chelsea", "Virginia", "Dallas", "Lincoln", "Ford", "Morgan", "Jackson",
                    "Houston", "Paris", "Madison", "Phoenix", "Orlando", "Denver",
                    "Victoria", "Charlotte", "Savannah", "Aurora", "Regina", "Troy",
                    "Logan", "Camden", "Chester", "Warren", "Shelby")
_FIRST_NAMES = ("Anna", "Omar", "Mei", "Lars", "Priya", "Tomas", "Fatima", "Kenji")
_SURNAMES = ("Smith", "Brown", "Patel", "Garcia", "Nguyen", "Kowalski", "Okafor", "Larsen",
             "Rossi", "Tanaka")
_SUFFIXES = {
    "PER": _SURNAMES,
    "ORG": ("Motors", "Bank", "Airlines", "Group", "Labs", "Foods", "Energy", "Media"),
    "LOC": ("City", "Valley", "Bay", "Heights", "Springs", "County"),
}
_RIGHT_CUES = {
    "PER": ("spoke", "told reporters", "wrote a letter", "smiled", "laughed", "thanked the fans",
            "gave a speech", "was born"),
    "ORG": ("shares fell", "shares rose", "reported profits", "hired staff",
            "announced a merger", "cut jobs", "opened a factory", "sold its stake"),
    "LOC": ("is a city", "lies on the coast", "residents voted", "saw heavy rain",
            "hosted the festival", "is beautiful in spring", "has a new stadium",
            "flooded again"),
}
_LEFT_CUES = {
    "PER": ("with his friend", "with her colleague", "next to the actor"),
    "ORG": ("after a deal with the company", "after talks with the firm"),
    "LOC": ("in", "near", "in the town of"),
}
_NEUTRAL_STARTS = ("", "yesterday ,", "on monday ,", "last year ,", "as expected ,",
                   "meanwhile ,", "according to the report ,", "then")
_KINDS = ("PER", "ORG", "LOC")


def _entity(rng, kind):
    """An entity's `(token, tag)` pairs: an ambiguous name, often with a telling suffix."""
    if kind == "PER" and rng.random() < 0.2:
        words = [rng.choice(_FIRST_NAMES), rng.choice(_AMBIGUOUS_NAMES)]
    elif rng.random() < 0.5:
        words = [rng.choice(_AMBIGUOUS_NAMES), rng.choice(_SUFFIXES[kind])]
    else:
        words = [rng.choice(_AMBIGUOUS_NAMES)]
    return [(word, ("B-" if i == 0 else "I-") + kind) for i, word in enumerate(words)]


def _outside(text):
    return [(word, "O") for word in text.split()]


def _cued_entity(rng):
    """An entity followed by the words that tell its kind."""
    kind = rng.choice(_KINDS)
    return _entity(rng, kind) + _outside(rng.choice(_RIGHT_CUES[kind]))


def _tagged_sentence(rng):
    pairs = _outside(rng.choice(_NEUTRAL_STARTS)) + _cued_entity(rng)
    ending = rng.randrange(3)
    if ending == 1:
        pairs += _outside(rng.choice((", and", "after", "before", "while"))) + _cued_entity(rng)
    elif ending == 2:
        kind = rng.choice(_KINDS)
        pairs += _outside(rng.choice(_LEFT_CUES[kind])) + _entity(rng, kind)
    return pairs + _outside(".")


def make_tagging(n, seed):
    """Returns `n` distinct `(tokens, tags)` pairs of lists with BIO tags for PER, ORG, LOC.

    Example:

    >>> tokens, tags = make_tagging(1, seed=3)[0]
    >>> set(tags) <= {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"}
    True
    """
    rng = random.Random(seed)

    def one(_):
        tokens, tags = zip(*_tagged_sentence(rng))
        return list(tokens), list(tags)

    return _distinct(n, one, key=lambda e: tuple(e[0]))


# ---------------------------------------------------------------------------------------
# Dates: one of the surface forms below, then lower or upper case now and then. Numeric
# forms are day-first (03/04/2021 is the 3rd of April); two-digit years 50-99 are 19xx
# and 00-49 are 20xx, matching the range of years, 1950 to 2049.

FIRST_DATE = datetime.date(1950, 1, 1)
LAST_DATE = datetime.date(2049, 12, 31)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ORDINAL_WORDS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth", "twenty-first",
    "twenty-second", "twenty-third", "twenty-fourth", "twenty-fifth", "twenty-sixth",
    "twenty-seventh", "twenty-eighth", "twenty-ninth", "thirtieth", "thirty-first")


def _ordinal(day):
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _date_fields(date):
    month = _MONTHS[date.month - 1]
    weekday = _WEEKDAYS[date.weekday()]
    return {
        "d": date.day, "dd": f"{date.day:02d}", "m": date.month, "mm": f"{date.month:02d}",
        "yyyy": date.year, "yy": f"{date.year % 100:02d}", "Month": month, "Mon": month[:3],
        "Weekday": weekday, "Wkd": weekday[:3], "dth": _ordinal(date.day),
        "dword": _ORDINAL_WORDS[date.day - 1],
    }


# The surface forms of `make_dates`, as `str.format` templates over `_date_fields`.
DATE_TEMPLATES = (
    "{d} {Month} {yyyy}",
    "{Month} {d}, {yyyy}",
    "{dd}/{mm}/{yyyy}",
    "{d}.{m}.{yyyy}",
    "{d}/{m}/{yy}",
    "the {dth} of {Month} {yyyy}",
    "{Month} {dth}, {yyyy}",
    "{dth} {Mon} {yyyy}",
    "{Wkd}, {d} {Mon} {yyyy}",
    "{Weekday} {d} {Month} {yyyy}",
    "{yyyy} {Month} {dth}",
    "{yyyy}/{mm}/{dd}",
    "{yyyy}{mm}{dd}",
    "{d} {Mon} '{yy}",
    "{Mon} {d} {yyyy}",
    "{Mon}. {d}, {yyyy}",
    "{dd}-{Mon}-{yyyy}",
    "the {dword} of {Month} {yyyy}",
    "{Month} the {dword}, {yyyy}",
)


def _human_date(rng, date):
    text = rng.choice(DATE_TEMPLATES).format(**_date_fields(date))
    case = rng.random()
    if case < 0.25:
        return text.lower()
    if case < 0.35:
        return text.upper()
    return text


def make_dates(n, seed):
    """Returns `n` distinct `(human date, ISO date)` pairs, dates from 1950 to 2049.

    Example:

    >>> make_dates(1, seed=0)[0][1] >= "1950-01-01"
    True
    """
    rng = random.Random(seed)
    first, last = FIRST_DATE.toordinal(), LAST_DATE.toordinal()

    def one(_):
        date = datetime.date.fromordinal(rng.randint(first, last))
        return _human_date(rng, date), date.isoformat()

    return _distinct(n, one, key=lambda e: e[0])


# ---------------------------------------------------------------------------------------
# Character-level text.


def pydoc_text():
    """The English documentation text shipped with CPython (`pydoc_data.topics`).

    The topics are joined in sorted key order with blank lines between them; the text
    (about half a million characters) depends on the Python version.

    Example:

    >>> "for" in pydoc_text()
    True
    """
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


# ---------------------------------------------------------------------------------------
# The embedded files.

SPLITS = ("train", "valid", "test")
SPLIT_SIZES = {
    "sentiment": (6000, 1000, 1000),
    "tagging": (4000, 500, 500),
    "dates": (10000, 1000, 1000),
    "trees": (3000, 500, 500),
    "dependencies": (2000, 300, 300),
}
FILE_SUFFIXES = {"sentiment": ".csv", "tagging": ".conll", "dates": ".tsv", "trees": ".txt",
                 "dependencies": ".conllu"}
_SEEDS = {"sentiment": 11, "tagging": 22, "dates": 33, "trees": 44, "dependencies": 55}


def _write_sentiment(path, examples):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["label", "sentence"])
        writer.writerows((label, sentence) for sentence, label in examples)


def _write_tagging(path, examples):
    blocks = ("\n".join(f"{t} {g}" for t, g in zip(tokens, tags)) for tokens, tags in examples)
    Path(path).write_text("\n\n".join(blocks) + "\n", encoding="utf-8", newline="")


def _write_dates(path, examples):
    lines = (f"{source}\t{target}\n" for source, target in examples)
    Path(path).write_text("".join(lines), encoding="utf-8", newline="")


def _write_trees(path, examples):
    Path(path).write_text("".join(f"{tree}\n" for tree in examples), encoding="utf-8",
                          newline="")


def _write_dependencies(path, examples):
    Path(path).write_text("\n".join(conllu_lines(*sentence) for sentence in examples),
                          encoding="utf-8", newline="")


_GENERATORS = {
    "sentiment": (make_sentiment, _write_sentiment),
    "tagging": (make_tagging, _write_tagging),
    "dates": (make_dates, _write_dates),
    "trees": (make_trees, _write_trees),
    "dependencies": (make_dependencies, _write_dependencies),
}


def write_embedded(folder):
    """Writes `<name>/<split><suffix>` for every dataset and split under `folder`.

    The output is byte-for-byte the same on every run, and no example is in two splits.

    Example:

    >>> import tempfile
    >>> folder = write_embedded(tempfile.mkdtemp())
    >>> sorted(p.name for p in (folder / "dates").iterdir())
    ['test.tsv', 'train.tsv', 'valid.tsv']
    """
    folder = Path(folder)
    for name, (make, write) in _GENERATORS.items():
        sizes = SPLIT_SIZES[name]
        examples = make(sum(sizes), seed=_SEEDS[name])
        (folder / name).mkdir(parents=True, exist_ok=True)
        start = 0
        for split, size in zip(SPLITS, sizes):
            write(folder / name / f"{split}{FILE_SUFFIXES[name]}", examples[start:start + size])
            start += size
    return folder
