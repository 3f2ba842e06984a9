"""The synthetic generators, the embedded files and `embedded_path`."""

import collections
import datetime
import re
from pathlib import Path

import pytest

from seqtasks.data import embedded, synthetic
from seqtasks.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data"
GENERATORS = [synthetic.make_sentiment, synthetic.make_tagging, synthetic.make_dates]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return synthetic.write_embedded(tmp_path_factory.mktemp("embedded"))


def embedded_files(folder):
    return sorted(p.relative_to(folder) for p in folder.glob("*/*.*") if p.suffix != ".py")


@pytest.mark.parametrize("make", GENERATORS)
def test_generators_are_deterministic_and_distinct(make):
    first = make(300, seed=5)
    assert first == make(300, seed=5)
    assert first != make(300, seed=6)
    keys = [str(example[0]) for example in first]
    assert len(set(keys)) == len(keys) == 300


def test_sentiment_labels_are_balanced_and_lengths_bounded():
    examples = synthetic.make_sentiment(1000, seed=0)
    assert sum(label for _, label in examples) == 500
    assert all(5 <= len(sentence.split()) <= 25 for sentence, _ in examples)


def test_sentiment_words_alone_say_little_about_the_label():
    # The design: no frequent word is a strong cue, as "good" would be in real reviews.
    counts = collections.defaultdict(collections.Counter)
    for sentence, label in synthetic.make_sentiment(6000, seed=1):
        for word in set(sentence.split()):
            counts[word][label] += 1
    shares = {w: c[1] / c.total() for w, c in counts.items() if c.total() >= 200}
    assert len(shares) > 50
    assert all(0.3 < share < 0.7 for share in shares.values()), shares


def test_tagging_tags_are_valid_bio():
    kinds = {"PER", "ORG", "LOC"}
    for tokens, tags in synthetic.make_tagging(500, seed=2):
        assert len(tokens) == len(tags) and tags[-1] == "O"
        for previous, tag in zip(["O"] + tags, tags):
            assert tag == "O" or tag[:2] in ("B-", "I-") and tag[2:] in kinds
            if tag.startswith("I-"):
                assert previous[2:] == tag[2:], (tokens, tags)


def test_tagging_first_entities_need_right_context():
    # A sentence's first entity starts after a neutral opening ("yesterday ,"); what
    # precedes it, the name included, is mostly seen with all three kinds of entity.
    kinds_by_prefix = collections.defaultdict(collections.Counter)
    for tokens, tags in synthetic.make_tagging(4000, seed=3):
        start = next(i for i, tag in enumerate(tags) if tag != "O")
        kinds_by_prefix[tuple(tokens[:start + 1])][tags[start]] += 1
    ambiguous = sum(c.total() for c in kinds_by_prefix.values() if len(c) == 3)
    assert ambiguous > 0.85 * 4000
    assert set(kinds_by_prefix[("Jordan",)]) == {"B-PER", "B-ORG", "B-LOC"}


def test_dates_are_valid_iso_and_short():
    for source, target in synthetic.make_dates(3000, seed=4):
        date = datetime.date.fromisoformat(target)
        assert synthetic.FIRST_DATE <= date <= synthetic.LAST_DATE
        assert date.isoformat() == target
        assert len(source) <= 40 and "\t" not in source


def test_numeric_dates_are_day_first():
    numeric = [(s, t) for s, t in synthetic.make_dates(3000, seed=4)
               if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", s)]
    assert len(numeric) > 50
    for source, target in numeric:
        day, month, year = map(int, source.split("/"))
        assert datetime.date(year, month, day).isoformat() == target


FIELD_PATTERNS = {
    "d": r"\d{1,2}", "dd": r"\d\d", "m": r"\d{1,2}", "mm": r"\d\d", "yyyy": r"\d{4}",
    "yy": r"\d\d", "Month": "[a-z]{3,9}", "Mon": "[a-z]{3}", "Weekday": "[a-z]{6,9}",
    "Wkd": "[a-z]{3}", "dth": r"\d{1,2}(st|nd|rd|th)", "dword": "[a-z-]+",
}


def template_regex(template):
    parts = re.split(r"\{(\w+)\}", template)  # literal, field, literal, field, ...
    return "".join(FIELD_PATTERNS[p] if i % 2 else re.escape(p) for i, p in enumerate(parts))


def test_every_date_template_is_used_and_nothing_else():
    assert len(synthetic.DATE_TEMPLATES) >= 15
    regexes = [template_regex(t) for t in synthetic.DATE_TEMPLATES]
    used = collections.Counter()
    for source, _ in synthetic.make_dates(3000, seed=7):
        matches = [r for r in regexes if re.fullmatch(r, source, flags=re.IGNORECASE)]
        assert matches, source
        used.update(matches)
    assert set(used) == set(regexes)


def test_pydoc_text_is_the_python_documentation():
    text = synthetic.pydoc_text()
    assert len(text) > 100_000
    assert "The \"for\" statement" in text
    assert text == synthetic.pydoc_text()


def test_committed_files_equal_freshly_generated_ones(regenerated):
    assert embedded_files(DATA) == embedded_files(regenerated)
    assert len(embedded_files(DATA)) == 15
    for relative in embedded_files(regenerated):
        assert (DATA / relative).read_bytes() == (regenerated / relative).read_bytes(), relative


def test_file_sizes_and_example_counts(regenerated):
    from seqtasks.data.dependencies import read_dependencies
    from seqtasks.data.readers import read_conll, read_labelled_text, read_parallel

    readers = {"sentiment": read_labelled_text, "tagging": read_conll, "dates": read_parallel,
               "trees": lambda path: path.read_text(encoding="utf-8").splitlines(),
               "dependencies": read_dependencies}
    for name, sizes in synthetic.SPLIT_SIZES.items():
        for split, size in zip(synthetic.SPLITS, sizes):
            path = regenerated / name / f"{split}{synthetic.FILE_SUFFIXES[name]}"
            assert path.stat().st_size < (500_000 if name == "dependencies" else 1_000_000)
            assert len(readers[name](path)) == size


def test_splits_share_no_examples(regenerated):
    def keys(name, split):
        text = (regenerated / name / f"{split}{synthetic.FILE_SUFFIXES[name]}").read_text()
        if name == "sentiment":
            return {line.split(",", 1)[1] for line in text.splitlines()[1:]}
        if name in ("tagging", "dependencies"):
            column = 0 if name == "tagging" else 1
            return {" ".join(line.split()[column] for line in block.splitlines())
                    for block in text.strip().split("\n\n")}
        return {line.split("\t")[0] for line in text.splitlines()}

    for name in synthetic.SPLIT_SIZES:
        train, valid, test = (keys(name, split) for split in synthetic.SPLITS)
        assert len(train) == synthetic.SPLIT_SIZES[name][0]
        assert not train & test and not train & valid and not valid & test, name


def test_embedded_path_finds_the_repository_data():
    path = embedded.embedded_path("tagging", "valid")
    assert path == DATA / "tagging" / "valid.conll"
    assert path.is_file()


@pytest.mark.parametrize("name, split, choices", [
    ("poems", "train", "'dates', 'dependencies', 'sentiment', 'tagging', 'trees'"),
    ("dates", "dev", "'train', 'valid', 'test'"),
])
def test_embedded_path_rejects_unknown_names(name, split, choices):
    with pytest.raises(ConfigError, match=choices):
        embedded.embedded_path(name, split)


def test_embedded_path_generates_into_the_cache_once(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "REPOSITORY_DATA", tmp_path / "no-data")
    monkeypatch.setenv("SEQTASKS_CACHE", str(tmp_path / "cache"))
    path = embedded.embedded_path("dates", "test")
    assert path.parent.parent == embedded.cache_folder()
    assert embedded.cache_folder().parent == tmp_path / "cache"
    assert path.read_bytes() == (DATA / "dates" / "test.tsv").read_bytes()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [embedded.cache_folder().name]

    def fail(folder):
        raise AssertionError("regenerated although the cache was there")

    monkeypatch.setattr(embedded, "write_embedded", fail)
    assert embedded.embedded_path("sentiment", "train").is_file()


def test_tree_labels_follow_negation_and_contrast():
    from seqtasks.data.synthetic_trees import _NEGATIONS, make_trees
    from seqtasks.data.trees import parse_tree

    negated = contrasts = 0
    for text in make_trees(300, seed=2):
        for node in parse_tree(text).postorder():
            if len(node.children) != 2:
                continue
            left, right = node.children
            if left.word in _NEGATIONS:  # the other side, mildly
                negated += 1
                side = (right.label > 2) - (right.label < 2)
                assert node.label == 2 - side, text
            if len(right.children) == 2 and right.children[0].word in ("but", ","):
                contrasts += 1  # the clause after the connective decides
                assert node.label == right.children[1].label, text
    assert negated > 50 and contrasts > 50
