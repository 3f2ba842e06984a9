"""The `seqtasks` command line: subcommands run, bad input is one line and exit code 2."""

import io
import json

import pytest

from seqtasks.cli import main


def test_diagnose_gradients_writes_its_outputs(tmp_path, capsys):
    out = tmp_path / "grads"
    code = main(["diagnose", "gradients", "--cell", "elman,gru", "--length", "8",
                 "--units", "4", "--train-steps", "2", "--out", str(out)])
    assert code == 0
    ratios = json.loads((out / "decay_ratios.json").read_text())
    assert {"elman", "gru"} <= set(ratios)
    assert (out / "gradient_flow.png").stat().st_size > 1000
    assert "decay_ratios" not in capsys.readouterr().err


def test_unknown_cell_is_one_line_and_exit_code_2(tmp_path, capsys):
    code = main(["diagnose", "gradients", "--cell", "bogus", "--out", str(tmp_path / "g")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "unknown cell 'bogus'" in err
    assert not (tmp_path / "g").exists()


def test_bad_flag_values_exit_with_code_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["diagnose", "gradients", "--length", "0"])
    assert exit_info.value.code == 2
    assert "--length" in capsys.readouterr().err


def test_demo_trains_and_reports(capsys):
    assert main(["demo", "--cells", "gru", "--epochs", "1", "--samples", "128"]) == 0
    out = capsys.readouterr().out
    results = json.loads(out[out.rindex("\n{") + 1:])
    assert set(results) == {"gru"}
    assert 0.0 <= results["gru"]["val_accuracy"] <= 1.0


def test_generate_continues_a_prompt_from_a_trained_run(tmp_path, capsys):
    run = tmp_path / "gen"
    assert main(["run", "generation", "--max-chars", "6000", "--units", "8", "--epochs", "1", "--batch-size", "8",
                 "--seq-len", "16", "--sample-length", "20",
                 "--verbose", "0", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["generate", "--model", str(run), "--prompt", "The ", "--length", "30",
                 "--temperature", "0.5", "--seed", "1"]) == 0
    text = capsys.readouterr().out.rstrip("\n")
    assert text.startswith("The ") and len(text) == 4 + 30


def test_generate_from_a_missing_run_is_one_line_and_exit_code_2(tmp_path, capsys):
    code = main(["generate", "--model", str(tmp_path / "nothing"), "--prompt", "a"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "nothing" in err


def test_translate_reads_arguments_and_stdin(tmp_path, capsys, monkeypatch):
    from test_recipe_translation import TINY, write_dates

    run = tmp_path / "run"
    data = write_dates(tmp_path / "dates")
    assert main(["run", "translation", "--data", str(data), "--out", str(run), *TINY]) == 0
    capsys.readouterr()
    assert main(["translate", "--model", str(run), "--beam-size", "2",
                 "the 3rd of March 2021", "5 May 1999"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("1 June 2000\n"))
    assert main(["translate", "--model", str(run)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["translate", "--model", str(tmp_path / "missing"), "x"]) == 2
