import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqtasks.errors import ConfigError, DataError
from seqtasks.data.text import CharTokenizer, Vocabulary, WordTokenizer, tokenizer_from_config

plain_tokens = st.lists(st.text(alphabet="abcxyz", min_size=1, max_size=4), max_size=20)


@given(st.text())
def test_char_tokenizer_round_trip(text):
    tokenizer = CharTokenizer()
    assert tokenizer.detokenize(tokenizer.tokenize(text)) == text


def test_char_tokenizer_lower():
    assert CharTokenizer(lower=True).tokenize("Ab") == ["a", "b"]


def test_word_tokenizer_splits_words_numbers_and_punctuation():
    tokens = WordTokenizer().tokenize("Don't stop: the well-known 3.5% rise (1,000 $)!")
    assert tokens == [
        "don't",
        "stop",
        ":",
        "the",
        "well-known",
        "3.5",
        "%",
        "rise",
        "(",
        "1,000",
        "$",
        ")",
        "!",
    ]


def test_word_tokenizer_keeps_case_when_asked():
    assert WordTokenizer(lower=False).tokenize("New York") == ["New", "York"]


def test_word_tokenizer_detokenize_attaches_punctuation():
    tokens = ["hello", ",", "world", "(", "really", ")", "!"]
    assert WordTokenizer().detokenize(tokens) == "hello, world (really)!"


@given(st.text())
def test_word_tokenizer_detokenize_then_tokenize_gives_the_same_tokens(text):
    tokenizer = WordTokenizer()
    tokens = tokenizer.tokenize(text)
    assert tokenizer.tokenize(tokenizer.detokenize(tokens)) == tokens


@pytest.mark.parametrize(
    "tokenizer", [CharTokenizer(lower=True), WordTokenizer(lower=False, pattern=r"\S+")]
)
def test_tokenizer_config_survives_json(tokenizer):
    config = json.loads(json.dumps(tokenizer.get_config()))
    restored = tokenizer_from_config(config)
    assert type(restored) is type(tokenizer)
    assert restored.get_config() == tokenizer.get_config()
    assert restored.tokenize("Ab  C") == tokenizer.tokenize("Ab  C")
    assert type(tokenizer).from_config(config).get_config() == tokenizer.get_config()


def test_tokenizer_from_config_rejects_unknown_class():
    with pytest.raises(ConfigError, match="BPETokenizer"):
        tokenizer_from_config({"class_name": "BPETokenizer", "config": {}})


def test_vocabulary_orders_by_frequency_then_alphabetically():
    vocab = Vocabulary.build([["b", "c", "a"], ["c", "b", "d"], ["c"]])
    assert vocab.tokens == ["<pad>", "<unk>", "<bos>", "<eos>", "c", "b", "a", "d"]
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)


def test_vocabulary_min_freq_and_max_size():
    token_lists = [["a"] * 3 + ["b"] * 2 + ["c"]]
    assert Vocabulary.build(token_lists, min_freq=2).tokens[4:] == ["a", "b"]
    assert Vocabulary.build(token_lists, max_size=5).tokens == [
        "<pad>",
        "<unk>",
        "<bos>",
        "<eos>",
        "a",
    ]
    with pytest.raises(ConfigError, match="max_size"):
        Vocabulary.build(token_lists, max_size=3)


def test_vocabulary_maps_unknown_tokens_to_unk():
    vocab = Vocabulary.build([["a"]])
    assert vocab.encode(["a", "zzz"]) == [4, vocab.unk_id]
    assert "a" in vocab and "zzz" not in vocab
    assert vocab.token_to_id("zzz") == 1 and vocab.id_to_token(4) == "a"
    assert len(vocab) == 5


def test_vocabulary_bos_eos_and_decode_strips_special_tokens():
    vocab = Vocabulary.build([["a", "b"]])
    ids = vocab.encode(["a", "q"], add_bos=True, add_eos=True) + [vocab.pad_id] * 2
    assert ids == [2, 4, 1, 3, 0, 0]
    assert vocab.decode(ids) == ["a", "<unk>"]
    assert vocab.decode(ids, strip_special=False) == [
        "<bos>",
        "a",
        "<unk>",
        "<eos>",
        "<pad>",
        "<pad>",
    ]


def test_tag_vocabulary_without_unk_rejects_unknown_tags():
    vocab = Vocabulary.build([["NOUN", "VERB", "NOUN"]], reserved=("<pad>",))
    assert vocab.tokens == ["<pad>", "NOUN", "VERB"]
    assert vocab.unk_id is None and vocab.bos_id is None
    with pytest.raises(DataError, match="unknown token 'ADJ'"):
        vocab.encode(["NOUN", "ADJ"])
    with pytest.raises(ConfigError, match="<bos>"):
        vocab.encode(["NOUN"], add_bos=True)


def test_decode_rejects_out_of_range_ids():
    with pytest.raises(DataError, match="id 9 is outside"):
        Vocabulary.build([["a"]]).decode([9])


def test_vocabulary_rejects_duplicates_and_misplaced_reserved_tokens():
    with pytest.raises(ConfigError, match="duplicate"):
        Vocabulary(["<pad>", "a", "a"], reserved=("<pad>",))
    with pytest.raises(ConfigError, match="reserved"):
        Vocabulary(["a", "<pad>"], reserved=("<pad>",))


@given(st.lists(plain_tokens, min_size=1, max_size=5))
def test_vocabulary_decode_inverts_encode(token_lists):
    vocab = Vocabulary.build(token_lists)
    for tokens in token_lists:
        assert vocab.decode(vocab.encode(tokens, add_bos=True, add_eos=True)) == tokens


@given(
    st.lists(plain_tokens, max_size=5),
    st.sampled_from([("<pad>",), ("<pad>", "<unk>", "<bos>", "<eos>")]),
)
def test_vocabulary_save_load_round_trip(tmp_path_factory, token_lists, reserved):
    path = tmp_path_factory.mktemp("vocab") / "vocab.json"
    vocab = Vocabulary.build(token_lists, reserved=reserved)
    vocab.save(path)
    loaded = Vocabulary.load(path)
    assert loaded.tokens == vocab.tokens
    assert loaded.reserved == vocab.reserved


def test_vocabulary_save_load_keeps_non_ascii_tokens(tmp_path):
    vocab = Vocabulary.build([["Männer", "lädt", "’"]])
    vocab.save(tmp_path / "v.json")
    assert Vocabulary.load(tmp_path / "v.json").encode(["lädt"]) == vocab.encode(["lädt"])


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"reserved": ["<pad>"], "tokens": ["<pad>", "a",', "not valid JSON"),
        ('["<pad>", "a"]', "expected a JSON object"),
        ('{"reserved": ["<pad>"], "tokens": ["<pad>", 3]}', "expected a JSON object"),
        ('{"reserved": ["<pad>"], "tokens": ["a", "<pad>"]}', "reserved"),
        ('{"reserved": [], "tokens": ["a", "a"]}', "duplicate"),
    ],
)
def test_vocabulary_load_rejects_malformed_files(tmp_path, content, message):
    path = tmp_path / "vocab.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as info:
        Vocabulary.load(path)
    assert str(path) in str(info.value)


def test_vocabulary_load_names_line_of_json_syntax_error(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text('{"reserved": [],\n "tokens": ["a" "b"]}', encoding="utf-8")
    with pytest.raises(DataError) as info:
        Vocabulary.load(path)
    assert str(info.value).startswith(f"{path}:2: not valid JSON")


def test_vocabulary_load_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found") as info:
        Vocabulary.load(tmp_path / "nope.json")
    assert "nope.json" in str(info.value)
