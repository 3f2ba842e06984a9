"""benchmarks/real_data.py: a tiny sentiment run on (a slice of) the real SST-2, and the skip path."""

import importlib.util
import shutil
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("real_data", ROOT / "benchmarks" / "real_data.py")
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
    assert "ud_english_lines" in capsys.readouterr().out


def test_recipe_flags():
    benchmark = load_benchmark()
    args = benchmark.parse_args(["--only", "translation", "--budget-minutes", "2",
                                 "--extra", "--units 32", "--extra", "translation:--beam-size 8",
                                 "--extra", "tagging:--depth 2"])
    argv = benchmark.recipe_argv(benchmark.TASKS["translation"], args)
    assert argv[argv.index("--max-seconds") + 1] == "120"
    assert argv[-4:] == ["--units", "32", "--beam-size", "8"]
    assert "--depth" not in argv and argv[argv.index("--verbose") + 1] == "0"
    with pytest.raises(SystemExit):
        benchmark.parse_args(["--only", "sentiment,parsing"])


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
    assert table.loc["tagging", "result"] == "skipped"
    assert "recipe failed" in capsys.readouterr().out
