"""Search spaces and `seqtasks tune` errors: everything checked before any training."""

import json

import keras_tuner
import pytest

from seqtasks.cli import main
from seqtasks.errors import ConfigError
from seqtasks.tuning.hypermodels import (GenerationHyperModel, SentimentHyperModel,
                                         TaggingHyperModel, TranslationHyperModel,
                                         recipe_arguments)
from seqtasks.tuning.space import declare, normalize, parse_text, resolve


def test_text_specs_become_values_choices_and_ranges():
    assert normalize("cell", "gru") == {"values": ["gru"]}
    assert normalize("units", "32,64,32") == {"values": [32, 64]}
    assert normalize("bidirectional", "true,false") == {"values": [True, False]}
    assert normalize("dropout", "0:0.5:0.1") == {"min": 0.0, "max": 0.5, "sampling": "linear",
                                                 "step": 0.1}
    assert normalize("learning_rate", "1e-4:1e-2") == {"min": 1e-4, "max": 1e-2,
                                                       "sampling": "log"}
    assert normalize("depth", {"min": 1, "max": 3}) == {"min": 1, "max": 3, "sampling": "linear"}
    assert normalize("units", {"values": [8]}) == {"values": [8]}  # canonical form is stable
    assert parse_text("a,b") == ["a", "b"]


@pytest.mark.parametrize("name, spec, message", [
    ("units", "eight", "'eight' is not an integer"),
    ("units", "0", "must be positive"),
    ("dropout", "1.0", "must be in [0, 1)"),
    ("bidirectional", "maybe", "not true or false"),
    ("learning_rate", "1e-2:1e-4", "above max"),
    ("learning_rate", "0:1e-2", "must be positive"),
    ("dropout", "0:0.5:-1", "step must be > 0"),
    ("cell", "0:1", "needs a numeric"),
    ("units", {"min": 1}, "a range has keys"),
    ("units", [], "at least one value"),
    ("colour", "red", "not a hyperparameter"),
])
def test_bad_specs_are_one_line_config_errors(name, spec, message):
    with pytest.raises(ConfigError) as error:
        normalize(name, spec, choices=None)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_recipes_have_their_own_spaces():
    assert SentimentHyperModel.resolve_space({})["bidirectional"] == {"values": [False, True]}
    # A language model reads left to right; the translator's encoder is bidirectional.
    assert "bidirectional" not in GenerationHyperModel.resolve_space({})
    with pytest.raises(ConfigError, match="allows only False"):
        GenerationHyperModel.resolve_space({"bidirectional": [True, False]})
    assert TranslationHyperModel.resolve_space({"attention": "bahdanau,luong"})["attention"] == {
        "values": ["bahdanau", "luong"]}
    with pytest.raises(ConfigError, match="not a hyperparameter this recipe can search"):
        SentimentHyperModel.resolve_space({"attention": "luong"})
    assert SentimentHyperModel.resolve_space({"pooling": "last,max"})["pooling"] == {
        "values": ["last", "max"]}
    with pytest.raises(ConfigError, match="not one of"):
        SentimentHyperModel.resolve_space({"pooling": "mean"})
    assert TaggingHyperModel.resolve_space({"cell": "tdnn"})["cell"] == {"values": ["tdnn"]}
    with pytest.raises(ConfigError, match="not one of"):
        SentimentHyperModel.resolve_space({"cell": "tdnn"})
    with pytest.raises(ConfigError, match="reports loss, val_loss"):
        GenerationHyperModel.check_objective("val_accuracy")


def test_declared_values_start_from_the_recipe_defaults():
    hp = keras_tuner.HyperParameters()
    space = resolve({"units": [32, 64, 128], "learning_rate": "1e-4:1e-2",
                     "bidirectional": [False, True], "depth": 2}, {}, {})
    values = {name: declare(hp, name, spec, default)
              for (name, spec), default in zip(space.items(), (64, 3e-3, True, 1))}
    assert values == {"units": 64, "learning_rate": 3e-3, "bidirectional": True, "depth": 2}
    assert type(hp.get("bidirectional")) is bool


def test_recipe_arguments_use_the_recipe_parser():
    args = recipe_arguments("generation", ["--max-chars", "500"])
    assert args.max_chars == 500 and args.units == 256  # the recipe's own default
    with pytest.raises(ConfigError, match="unrecognized arguments: --bogus"):
        recipe_arguments("sentiment", ["--bogus"])
    with pytest.raises(ConfigError, match="--max-chars"):
        recipe_arguments("generation", ["--max-chars", "0"])


@pytest.mark.parametrize("argv, message", [
    (["--units", "abc"], "units: 'abc' is not an integer"),
    (["--tuner", "annealing"], "argument --tuner: invalid choice"),
    (["--max-trials", "0"], "must be a positive integer"),
    (["--objective", "val_bleu"], "--objective 'val_bleu'"),
    (["--attention", "luong"], "unrecognized arguments: --attention luong"),
    (["--embedding-dims", "4"], "unrecognized arguments: --embedding-dims"),
    (["--space", "missing.json"], "missing.json: cannot read the space file"),
])
def test_bad_tune_flags_are_one_line_and_exit_code_2(argv, message, tmp_path, capsys,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["tune", "sentiment", "--out", "search", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seqtasks: error:") and "\n" not in err and message in err, err
    assert not (tmp_path / "search").exists()


def test_bad_space_files_are_one_line_errors(tmp_path, capsys):
    cases = {"not-json.json": "{units: [8]", "list.json": "[8]",
             "bad-value.json": json.dumps({"units": [8, -1]})}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        assert main(["tune", "tagging", "--space", str(tmp_path / name),
                     "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and (name in err or "units: -1" in err), err


def test_a_folder_is_resumed_only_with_the_same_settings(tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("not a search")
    assert main(["tune", "sentiment", "--out", str(other)]) == 2
    assert "is not a search folder" in capsys.readouterr().err

    search = tmp_path / "search"
    search.mkdir()
    (search / "search.json").write_text(json.dumps({"recipe": "sentiment", "tuner": "grid"}))
    assert main(["tune", "sentiment", "--out", str(search), "--units", "8"]) == 2
    err = capsys.readouterr().err.strip()
    assert "other settings (tuner, objective, space" in err and "--overwrite" in err
