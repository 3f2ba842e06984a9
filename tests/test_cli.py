"""The `seqtasks` command line: help everywhere, subcommands run, bad input is one line, exit 2."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqtasks.cli import main
from seqtasks.tasks import TASK_NAMES

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--epochs", "1", "--units", "4", "--embedding-dim", "4", "--batch-size", "16",
        "--min-freq", "1", "--verbose", "0"]


def command(*args, stdin=None):
    """Runs ``python -m seqtasks ARGS`` in a fresh process, as a user would."""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "seqtasks", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("argv", [
    [], ["run"], ["tune"], ["predict"], ["corpus"], ["diagnose", "gradients"],
    *([verb, name] for verb in ("run", "tune") for name in TASK_NAMES),
])
def test_every_help_exits_0_and_shows_defaults(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and out.startswith("usage:")
    if argv[:1] in (["run"], ["tune"]) and len(argv) == 2:
        assert "--units" in out and "(default:" in out and "--data" in out


@pytest.mark.slow
def test_python_dash_m_seqtasks_runs_quietly():
    result = command("--help")
    assert result.returncode == 0 and "predict" in result.stdout
    assert result.stderr == ""


def test_bad_flag_values_are_one_line_and_exit_code_2(capsys):
    for argv in (["diagnose", "gradients", "--length", "0"], ["run", "sentiment", "--units", "0"],
                 ["run", "sentiment", "--dropout", "1.5"], ["run", "sentiment", "--bogus"],
                 ["predict", "somewhere", "--beam-size", "x"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        err = capsys.readouterr().err.strip()
        assert exit_info.value.code == 2 and "\n" not in err and "error:" in err, argv


def test_unknown_cell_is_one_line_and_exit_code_2(tmp_path, capsys):
    code = main(["diagnose", "gradients", "--cell", "bogus", "--out", str(tmp_path / "g")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "unknown cell 'bogus'" in err
    assert not (tmp_path / "g").exists()


def test_diagnose_gradients_writes_its_outputs(tmp_path, capsys):
    # No training steps (the default is 200): the measurements after training are
    # tests/test_diagnostics.py's.
    out = tmp_path / "grads"
    code = main(["diagnose", "gradients", "--cell", "elman,gru", "--length", "8",
                 "--units", "4", "--train-steps", "0", "--out", str(out)])
    assert code == 0
    ratios = json.loads((out / "decay_ratios.json").read_text())
    assert {"elman", "gru"} <= set(ratios) and set(ratios["gru"]) == {"init"}
    assert (out / "gradient_flow.png").stat().st_size > 1000


def test_corpus_reports_vocabulary_zipf_and_perplexity(tmp_path, capsys):
    text = tmp_path / "text.txt"
    words = [f"w{int(1000 / k)}" for k in range(1, 400)]
    text.write_text(" ".join(words * 5) + "\n", encoding="utf-8")
    assert main(["corpus", str(text), "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "Zipf alpha" in out and "held-out perplexity" in out
    report = json.loads((tmp_path / "c" / "corpus.json").read_text())
    assert report["tokens"] == len(words) * 5 and report["coverage"] == 1.0
    assert [row["order"] for row in report["zipf"]] == [1, 2, 3]
    assert [row["order"] for row in report["ngram"]] == [1, 2, 3]
    # The text repeats itself: higher orders predict the held-out part far better.
    perplexities = [row["held_out_perplexity"] for row in report["ngram"]]
    assert perplexities[2] < 1.5 < 5 < perplexities[0]
    assert (tmp_path / "c" / "zipf.png").stat().st_size > 1000
    assert main(["corpus", str(tmp_path / "missing.txt")]) == 2


def test_predict_from_a_missing_run_is_one_line_and_exit_code_2(tmp_path, capsys):
    for argv in (["predict", str(tmp_path / "nothing"), "-"],
                 ["generate", "--model", str(tmp_path / "nothing"), "--prompt", "a"],
                 ["translate", "--model", str(tmp_path / "nothing"), "x"]):
        code = main(argv)
        err = capsys.readouterr().err.strip()
        assert code == 2 and "\n" not in err and "nothing" in err, argv


@pytest.mark.e2e
@pytest.mark.slow
def test_run_then_predict_in_fresh_processes_prints_csv_without_log_noise(tmp_path):
    run = tmp_path / "run"
    trained = command("run", "sentiment", "--out", str(run), *TINY[:-1],
                      "1")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "cuda" not in trained.stderr.lower() and "I0000" not in trained.stderr
    output = trained.stdout + trained.stderr
    assert "ran out of data" not in output and "Unknown" not in output
    steps = -(-6000 // 16)  # the embedded training reviews in batches of 16
    assert f"{steps}/{steps}" in output  # the first epoch knows its step count
    assert "fitting the bag-of-words baseline: done" in output
    predicted = command("predict", str(run), "-", stdin="a superb film\nthe plot was dull\n")
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    rows = list(csv.DictReader(io.StringIO(predicted.stdout)))
    assert [row["text"] for row in rows] == ["a superb film", "the plot was dull"]
    assert all(row["label"] in ("0", "1") and 0.5 <= float(row["probability"]) <= 1
               for row in rows)
    assert predicted.stderr == ""
