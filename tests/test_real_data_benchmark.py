"""benchmarks/real_data.py: a tiny sentiment run on (a slice of) the real SST-2, a tiny tagging
run with its feature-CRF peer (sklearn-crfsuite stubbed), the skip path; benchmarks/feature_crf.py:
its features and scores."""

import importlib.util
import shutil
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def load_benchmark(name="real_data"):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sst2_slice(tmp_path):
    """A data root whose sst2/ holds the real dev and test files and the first 3,000 train
    phrases: the recipe always fits its tf-idf baseline on all of train (~10 s for 67k)."""
    source = DATA / "sst2"
    if not source.is_dir():
        pytest.skip(f"real data not found at {source}")
    folder = tmp_path / "data" / "sst2"
    folder.mkdir(parents=True)
    for name in ("dev.tsv", "test.tsv", "SOURCE.md"):
        shutil.copy(source / name, folder / name)
    with open(source / "train.tsv", encoding="utf-8") as f:
        head = [next(f) for _ in range(3001)]  # header + 3,000 phrases
    (folder / "train.tsv").write_text("".join(head), encoding="utf-8")
    return folder.parent


@pytest.mark.e2e
def test_sentiment_smoke_writes_results(sst2_slice, tmp_path, capsys):
    benchmark = load_benchmark()
    out = tmp_path / "out"
    code = benchmark.main(["--only", "sentiment", "--budget-minutes", "0.03", "--smoke",
                           "--extra", "sentiment:--min-freq 1", "--data-root", str(sst2_slice),
                           "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "results.csv")
    assert list(table.columns) == benchmark.COLUMNS
    assert len(table) == 1
    row = table.iloc[0]
    assert row["task"] == "sentiment"
    assert row["result"] in ("pass", "below target")
    assert 0.0 <= row["score"] <= 1.0 and 0.5 < row["baseline"] <= 1.0
    assert row["reference_source"].endswith("sst2/SOURCE.md")
    assert (out / "sentiment" / "metrics.json").is_file()
    printed = capsys.readouterr().out
    assert "sentiment" in printed and "results.csv" in printed


def test_missing_data_root_skips_cleanly(tmp_path, capsys):
    code = load_benchmark().main(["--data-root", "/nonexistent", "--out", str(tmp_path / "o")])
    assert code == 0
    assert "skipped" in capsys.readouterr().out
    assert not (tmp_path / "o").exists()


def test_missing_task_folder_is_skipped(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    code = load_benchmark().main(["--only", "tagging", "--data-root", str(tmp_path / "data"),
                                  "--out", str(tmp_path / "o")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "ud_english_ewt" in printed and "ud_english_lines" in printed


def test_recipes_run_with_their_defaults():
    """Only the data, run folder, budget and output flags (and translation's languages);
    --extra and --only take a row or a recipe name."""
    benchmark = load_benchmark()
    args = benchmark.parse_args(["--only", "translation,tagging", "--budget-minutes", "2",
                                 "--extra", "--units 32", "--extra", "translation:--beam-size 8",
                                 "--extra", "tagging:--depth 2",
                                 "--extra", "tagging-ewt:--min-freq 1"])
    assert args.only == ["translation", "tagging-ewt", "tagging-lines"]
    argv = benchmark.recipe_argv(benchmark.TASKS["translation"], args)
    flags = [flag for flag in argv if flag.startswith("--")]
    assert flags == ["--data", "--source-lang", "--target-lang", "--out", "--max-seconds",
                     "--verbose", "--units", "--beam-size"]
    assert argv[argv.index("--max-seconds") + 1] == "120"
    assert argv[argv.index("--source-lang") + 1: argv.index("--out")] == [
        "en", "--target-lang", "de"]
    assert argv[-4:] == ["--units", "32", "--beam-size", "8"]
    assert argv[argv.index("--verbose") + 1] == "0"
    ewt = benchmark.recipe_argv(benchmark.TASKS["tagging-ewt"], args)
    lines = benchmark.recipe_argv(benchmark.TASKS["tagging-lines"], args)
    assert ewt[-6:] == ["--units", "32", "--depth", "2", "--min-freq", "1"]
    assert lines[-4:] == ["--units", "32", "--depth", "2"]
    assert ewt[1].endswith("ud_english_ewt") and lines[1].endswith("ud_english_lines")
    default = benchmark.parse_args([])
    assert default.only == list(benchmark.TASKS) and default.budget_minutes == 10
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--only", "sentiment,parsing"])


def test_targets():
    tasks = load_benchmark().TASKS
    assert tasks["tagging-ewt"].passes(0.951, 0.944)
    assert not tasks["tagging-ewt"].passes(0.949, 0.90)  # below the threshold
    assert not tasks["tagging-lines"].passes(0.965, 0.965)  # not above the CRF
    assert tasks["sentiment"].passes(0.87, 0.855) and not tasks["sentiment"].passes(0.87, 0.86)
    assert tasks["translation"].passes(33.0, None) and not tasks["translation"].passes(32.9, None)
    assert tasks["generation"].passes(1.54, None) and not tasks["generation"].passes(1.55, None)


def test_failing_recipe_is_reported_and_the_others_run(tmp_path, capsys):
    """A task that rejects its settings (generation is never bidirectional) becomes a
    'recipe failed' row; a task without data is still listed, as skipped."""
    root = tmp_path / "data"
    (root / "tinyshakespeare").mkdir(parents=True)
    (root / "tinyshakespeare" / "input.txt").write_text("To be, or not to be.\n" * 50)
    out = tmp_path / "out"
    code = load_benchmark().main(["--only", "generation,tagging", "--data-root", str(root),
                                  "--out", str(out), "--extra", "generation:--bidirectional"])
    assert code == 1
    table = pd.read_csv(out / "results.csv").set_index("task")
    assert table.loc["generation", "result"] == "recipe failed"
    assert "bidirectional" in table.loc["generation", "note"]
    assert list(table.loc[["tagging-ewt", "tagging-lines"], "result"]) == ["skipped"] * 2
    assert "recipe failed" in capsys.readouterr().out


class MostFrequentTagCRF:
    """A stand-in for sklearn_crfsuite.CRF: each word's most frequent training tag (the
    lower-cased word is the `word` feature), NOUN for words it has not seen."""

    def __init__(self, **options):
        self.options = options

    def fit(self, features, tags):
        counts = {}
        for sentence, row in zip(features, tags):
            for word, tag in zip(sentence, row):
                counts.setdefault(word["word"], {}).setdefault(tag, 0)
                counts[word["word"]][tag] += 1
        self.best = {word: max(tags, key=tags.get) for word, tags in counts.items()}

    def predict(self, features):
        return [[self.best.get(word["word"], "NOUN") for word in sentence]
                for sentence in features]


@pytest.fixture
def stub_crfsuite(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn_crfsuite",
                        types.SimpleNamespace(CRF=MostFrequentTagCRF))


TRAIN = [(["the", "dog", "runs"], ["DET", "NOUN", "VERB"]),
         (["a", "cat", "runs"], ["DET", "NOUN", "VERB"]),
         (["the", "run"], ["DET", "NOUN"])]
TEST = [(["the", "cat", "sleeps"], ["DET", "NOUN", "VERB"]),
        (["Birds", "run"], ["NOUN", "VERB"])]


def test_train_and_score(stub_crfsuite):
    features = load_benchmark("feature_crf")
    result = features.train_and_score(TRAIN, TEST, iterations=3)
    assert result["accuracy"] == pytest.approx(3 / 5)  # sleeps, run miss
    assert result["oov_rate"] == pytest.approx(2 / 5)  # sleeps, Birds
    assert result["oov_accuracy"] == pytest.approx(1 / 2)
    assert result["sentences"] == 2 and result["seconds"] >= 0


def test_missing_crfsuite_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn_crfsuite", None)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[benchmark\]'"):
        load_benchmark("feature_crf").train_and_score(TRAIN, TRAIN)


def write_conllu(path, sentences):
    with open(path, "w", encoding="utf-8") as file:
        for tokens, tags in sentences:
            for number, (token, tag) in enumerate(zip(tokens, tags), start=1):
                file.write(f"{number}\t{token}\t_\t{tag}\t_\t_\t0\t_\t_\t_\n")
            file.write("\n")


def test_tagging_rows_have_the_crf_peer(stub_crfsuite, monkeypatch, tmp_path, capsys):
    folder = tmp_path / "data" / "ud_english_lines"
    folder.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        sentences = TRAIN * 20 if split == "train" else TEST
        write_conllu(folder / f"en_lines-ud-{split}.conllu", sentences)
    out = tmp_path / "out"
    benchmark = load_benchmark()  # the recipe itself is tested elsewhere; here only the row
    monkeypatch.setattr(benchmark, "run_recipe", lambda task, argv: (
        {"accuracy": 0.8, "oov_accuracy": 0.5, "oov_rate": 0.1, "epochs": 1}, None))
    code = benchmark.main(["--only", "tagging", "--smoke", "--budget-minutes", "0.03",
                           "--data-root", str(tmp_path / "data"), "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "results.csv").set_index("task")
    assert table.loc["tagging-ewt", "result"] == "skipped"
    row = table.loc["tagging-lines"]
    assert row["baseline"] == pytest.approx(3 / 5)  # as in test_train_and_score
    assert row["baseline_system"].startswith("feature CRF")
    assert row["result"] in ("pass", "below target") and 0 <= row["oov_accuracy"] <= 1
    assert "feature CRF: accuracy on words unseen in training" in row["note"]
    assert "oov" in capsys.readouterr().out


def test_tagging_without_crfsuite_has_no_baseline(monkeypatch, tmp_path):
    benchmark = load_benchmark()
    monkeypatch.setitem(sys.modules, "sklearn_crfsuite", None)
    monkeypatch.setattr(benchmark, "run_recipe", lambda task, argv: ({"accuracy": 0.99}, None))
    folder = tmp_path / "ud_english_ewt"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        write_conllu(folder / f"en_ewt-ud-{split}.conllu", TRAIN)
    args = benchmark.parse_args(["--only", "tagging-ewt", "--data-root", str(tmp_path)])
    row = benchmark.row_for(benchmark.TASKS["tagging-ewt"], args)
    assert row["result"] == "no baseline" and row["baseline"] is None
    assert "pip install -e '.[benchmark]'" in row["note"]
