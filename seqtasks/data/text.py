"""Tokenizers and a vocabulary that maps tokens to integer ids.

Example:

>>> tokenizer = WordTokenizer()
>>> tokens = tokenizer.tokenize("The cat sat. The end!")
>>> tokens
['the', 'cat', 'sat', '.', 'the', 'end', '!']
>>> vocab = Vocabulary.build([tokens])
>>> vocab.encode(["the", "dog"])
[4, 1]
"""

import collections
import json
import re

from seqtasks.data.readers import read_text
from seqtasks.errors import ConfigError, DataError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
DEFAULT_RESERVED = (PAD, UNK, BOS, EOS)

# Numbers with decimal or thousands separators ("3.14", "1,000"), words with internal
# apostrophes or hyphens ("don't", "well-known"), then any other non-space character
# (punctuation) as a token of its own.
DEFAULT_WORD_PATTERN = r"\d+(?:[.,]\d+)+|\w+(?:['’-]\w+)*|[^\w\s]"

_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}])")
_NO_SPACE_AFTER = re.compile(r"([(\[{]) ")


class _Tokenizer:
    """Shared JSON (de)serialization: `get_config()` names the class and its arguments."""

    def get_config(self):
        """A JSON-ready dict that `from_config` and `tokenizer_from_config` accept."""
        return {"class_name": type(self).__name__, "config": self._arguments()}

    @classmethod
    def from_config(cls, config):
        return cls(**config["config"])


class CharTokenizer(_Tokenizer):
    """Splits text into single characters; `detokenize` is its exact inverse.

    Args:
        lower: lower-case the text before splitting.

    Example:

    >>> CharTokenizer().tokenize("Hi!")
    ['H', 'i', '!']
    >>> CharTokenizer().detokenize(['H', 'i', '!'])
    'Hi!'
    """

    def __init__(self, lower=False):
        self.lower = lower

    def tokenize(self, text):
        return list(text.lower() if self.lower else text)

    def detokenize(self, tokens):
        return "".join(tokens)

    def _arguments(self):
        return {"lower": self.lower}


class WordTokenizer(_Tokenizer):
    """Splits text into words, numbers and punctuation marks with a regular expression.

    `detokenize` joins tokens with single spaces, except before closing punctuation
    and after opening brackets; it does not restore the original spacing or case.

    Args:
        lower: lower-case the text before splitting.
        pattern: a regular expression; each match is a token.

    Example:

    >>> tokenizer = WordTokenizer()
    >>> tokenizer.tokenize("It's well-known (since 1,000 B.C.)!")
    ["it's", 'well-known', '(', 'since', '1,000', 'b', '.', 'c', '.', ')', '!']
    >>> tokenizer.detokenize(["it's", "fine", ",", "ok", "."])
    "it's fine, ok."
    """

    def __init__(self, lower=True, pattern=DEFAULT_WORD_PATTERN):
        self.lower = lower
        self.pattern = pattern
        self._regex = re.compile(pattern)

    def tokenize(self, text):
        return self._regex.findall(text.lower() if self.lower else text)

    def detokenize(self, tokens):
        text = " ".join(tokens)
        return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text))

    def _arguments(self):
        return {"lower": self.lower, "pattern": self.pattern}


_TOKENIZERS = {cls.__name__: cls for cls in (CharTokenizer, WordTokenizer)}


def tokenizer_from_config(config):
    """Rebuilds a tokenizer from the dict its `get_config()` returned.

    Example:

    >>> tokenizer_from_config(WordTokenizer(lower=False).get_config()).lower
    False
    """
    name = config.get("class_name")
    if name not in _TOKENIZERS:
        raise ConfigError(f"unknown tokenizer {name!r}; expected one of {sorted(_TOKENIZERS)}")
    return _TOKENIZERS[name].from_config(config)


class Vocabulary:
    """A bidirectional token <-> id mapping with reserved tokens at the lowest ids.

    Usually made with `Vocabulary.build`. The `pad_id`, `unk_id`, `bos_id` and `eos_id`
    properties give the ids of `"<pad>"`, `"<unk>"`, `"<bos>"` and `"<eos>"`, or None for
    one that is not reserved. Without `"<unk>"`, encoding an unknown token is an error,
    which suits tag vocabularies.

    Args:
        tokens: every token, in id order; the first `len(reserved)` must be `reserved`.
        reserved: the special tokens.

    Example:

    >>> vocab = Vocabulary(["<pad>", "<unk>", "a", "b"], reserved=("<pad>", "<unk>"))
    >>> vocab.encode(["b", "z"]), vocab.decode([3, 0, 0])
    ([3, 1], ['b'])
    """

    def __init__(self, tokens, reserved=DEFAULT_RESERVED):
        tokens, reserved = list(tokens), tuple(reserved)
        if tuple(tokens[: len(reserved)]) != reserved:
            raise ConfigError(f"the first tokens must be the reserved ones {list(reserved)}")
        self._id_of = {token: i for i, token in enumerate(tokens)}
        if len(self._id_of) != len(tokens):
            duplicates = sorted(t for t, n in collections.Counter(tokens).items() if n > 1)
            raise ConfigError(f"duplicate tokens in vocabulary: {duplicates[:5]}")
        self._tokens = tokens
        self.reserved = reserved

    @classmethod
    def build(cls, token_lists, min_freq=1, max_size=None, reserved=DEFAULT_RESERVED):
        """Counts tokens and keeps the most frequent ones.

        Tokens are ordered by decreasing frequency, ties alphabetically, after the
        reserved tokens.

        Args:
            token_lists: an iterable of token lists (e.g. tokenized sentences).
            min_freq: drop tokens seen fewer times than this.
            max_size: the largest vocabulary size, reserved tokens included.
            reserved: the special tokens, given ids 0, 1, ... in this order.

        Example:

        >>> vocab = Vocabulary.build([["b", "a"], ["a", "c"]], reserved=("<pad>",))
        >>> vocab.id_to_token(1), len(vocab)
        ('a', 4)
        """
        if max_size is not None and max_size < len(reserved):
            raise ConfigError(
                f"max_size={max_size} leaves no room for the reserved tokens {list(reserved)}"
            )
        counts = collections.Counter(token for tokens in token_lists for token in tokens)
        kept = sorted(
            (
                token
                for token, count in counts.items()
                if count >= min_freq and token not in reserved
            ),
            key=lambda token: (-counts[token], token),
        )
        if max_size is not None:
            kept = kept[: max_size - len(reserved)]
        return cls(list(reserved) + kept, reserved=reserved)

    def __len__(self):
        return len(self._tokens)

    def __contains__(self, token):
        return token in self._id_of

    @property
    def tokens(self):
        """All tokens in id order (a copy)."""
        return list(self._tokens)

    @property
    def pad_id(self):
        return self._id_of.get(PAD)

    @property
    def unk_id(self):
        return self._id_of.get(UNK)

    @property
    def bos_id(self):
        return self._id_of.get(BOS)

    @property
    def eos_id(self):
        return self._id_of.get(EOS)

    def token_to_id(self, token):
        """The id of `token`: `unk_id` if unknown, or a DataError without `"<unk>"`."""
        if token in self._id_of:
            return self._id_of[token]
        if self.unk_id is None:
            raise DataError(f"unknown token {token!r} (this vocabulary has no {UNK})")
        return self.unk_id

    def id_to_token(self, token_id):
        if not 0 <= token_id < len(self._tokens):
            raise DataError(f"id {token_id} is outside the vocabulary (size {len(self._tokens)})")
        return self._tokens[token_id]

    def encode(self, tokens, add_bos=False, add_eos=False):
        """Maps tokens to ids, optionally wrapped in `"<bos>"` ... `"<eos>"`.

        Example:

        >>> Vocabulary.build([["hi"]]).encode(["hi", "you"], add_bos=True, add_eos=True)
        [2, 4, 1, 3]
        """
        ids = [self.token_to_id(token) for token in tokens]
        if add_bos:
            ids.insert(0, self._special_id(BOS))
        if add_eos:
            ids.append(self._special_id(EOS))
        return ids

    def decode(self, ids, strip_special=True):
        """Maps ids back to tokens; drops reserved tokens other than `"<unk>"` by default.

        Example:

        >>> Vocabulary.build([["hi"]]).decode([2, 4, 1, 3, 0, 0])
        ['hi', '<unk>']
        """
        tokens = [self.id_to_token(int(i)) for i in ids]
        if strip_special:
            dropped = set(self.reserved) - {UNK}
            tokens = [token for token in tokens if token not in dropped]
        return tokens

    def get_config(self):
        """The vocabulary as a JSON-ready dict (`from_config` reads it back)."""
        return {"reserved": list(self.reserved), "tokens": list(self._tokens)}

    @classmethod
    def from_config(cls, config, path=None):
        """The vocabulary of a `get_config` dict; a DataError (naming `path`) if malformed.

        Example:

        >>> vocab = Vocabulary.build([["a"]])
        >>> Vocabulary.from_config(vocab.get_config()).tokens == vocab.tokens
        True
        """
        if not (
            isinstance(config, dict)
            and all(isinstance(config.get(key), list) for key in ("reserved", "tokens"))
            and all(isinstance(token, str) for token in config["reserved"] + config["tokens"])
        ):
            raise DataError(
                'expected a JSON object {"reserved": [strings], "tokens": [strings]}', path=path
            )
        try:
            return cls(config["tokens"], reserved=config["reserved"])
        except ConfigError as err:
            raise DataError(str(err), path=path) from None

    def save(self, path):
        """Writes the vocabulary as JSON.

        Example:

        >>> vocab = Vocabulary.build([["a"]])
        >>> vocab.save("vocab.json")
        >>> Vocabulary.load("vocab.json").tokens == vocab.tokens
        True
        """
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.get_config(), f, ensure_ascii=False, indent=0)
            f.write("\n")

    @classmethod
    def load(cls, path):
        """Reads a vocabulary written by `save`; a DataError names the file if it is malformed."""
        try:
            data = json.loads(read_text(path))
        except json.JSONDecodeError as err:
            raise DataError(f"not valid JSON: {err.msg}", path=path, line=err.lineno) from None
        return cls.from_config(data, path=path)

    def _special_id(self, token):
        if token not in self._id_of:
            raise ConfigError(
                f"this vocabulary has no {token} token; reserved tokens are {list(self.reserved)}"
            )
        return self._id_of[token]
