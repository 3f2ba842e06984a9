"""Search spaces, the HyperModel and `seqtasks tune` errors: everything checked before any
training, against the task's Config."""

import dataclasses
import json
import types

import keras_tuner
import pytest

from seqtasks.errors import ConfigError
from seqtasks.tasks import sentiment
from seqtasks.tasks.config import TaskConfig, like, setting
from seqtasks.tuning import TaskHyperModel, command, search
from seqtasks.tuning.hypermodels import check_objective
from seqtasks.tuning.space import Parameter, declare, parse_text, task_space
from seqtasks.tuning.tuners import TUNERS, make_tuner


@dataclasses.dataclass
class ToyConfig(TaskConfig):
    units: int = like("units", 20)
    bidirectional: bool = like("bidirectional", True)
    attention: str = setting("luong", "attention score", choices=("luong", "bahdanau"))


# A task whose architecture is always bidirectional and that searches its attention;
# `build` hands back the config it was given.
TOY = types.SimpleNamespace(
    NAME="toy", Config=ToyConfig, SEARCHABLE=("attention",), FIXED={"bidirectional": True},
    OBJECTIVE="val_loss", METRICS=("loss",), build=lambda config, data: config)


def sentiment_parameter(name):
    return Parameter.of(sentiment.Config, name)


def test_text_specs_become_values_choices_and_ranges():
    def normalize(name, spec):
        return sentiment_parameter(name).normalize(spec)

    assert normalize("cell", "gru") == {"values": ["gru"]}
    assert normalize("units", "32,64,32") == {"values": [32, 64]}
    assert normalize("bidirectional", "true,False") == {"values": [True, False]}
    assert normalize("dropout", "0:0.5:0.1") == {"min": 0.0, "max": 0.5, "sampling": "linear",
                                                 "step": 0.1}
    assert normalize("learning_rate", "1e-4:1e-2") == {"min": 1e-4, "max": 1e-2,
                                                       "sampling": "log"}
    assert normalize("depth", {"min": 1, "max": 3}) == {"min": 1, "max": 3, "sampling": "linear"}
    assert normalize("units", {"values": [8]}) == {"values": [8]}  # canonical form is stable
    assert normalize("clipnorm", [1, 5]) == {"values": [1.0, 5.0]}
    assert parse_text("a,b") == ["a", "b"]


@pytest.mark.parametrize("name, spec, message", [
    ("units", "eight", "'eight' is not an integer"),
    ("units", "0", "units must be a positive integer, got 0"),  # the Config field's check
    ("dropout", "1.0", "dropout must be in [0, 1)"),
    ("bidirectional", "maybe", "not true or false"),
    ("learning_rate", "1e-2:1e-4", "above max"),
    ("learning_rate", "0:1e-2", "learning_rate must be a positive number"),
    ("learning_rate", "inf", "not a finite number"),
    ("dropout", "0:0.5:-1", "step must be > 0"),
    ("cell", "0:1", "needs a numeric"),
    ("cell", "tdnn", "cell must be one of"),  # the Config field's choices
    ("pooling", "mean", "pooling must be one of last, max"),
    ("units", {"min": 1}, "a range has keys"),
    ("units", [], "at least one value"),
])
def test_bad_specs_are_one_line_config_errors(name, spec, message):
    with pytest.raises(ConfigError) as error:
        sentiment_parameter(name).normalize(spec)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_task_searches_the_shared_settings_and_its_own_less_what_it_fixes():
    space = task_space(sentiment)
    assert list(space) == ["cell", "depth", "bidirectional", "dropout", "learning_rate", "units"]
    assert space["units"] == {"values": [75, 150, 300]}  # around the task's default, 150
    assert task_space(sentiment, {"pooling": "last,max"})["pooling"] == {"values": ["last", "max"]}
    with pytest.raises(ConfigError, match="'colour' is not a hyperparameter sentiment can search"):
        task_space(sentiment, {"colour": "red"})

    toy = task_space(TOY, {"attention": "bahdanau,luong"})
    assert "bidirectional" not in toy and toy["units"] == {"values": [10, 20, 40]}
    assert toy["attention"] == {"values": ["bahdanau", "luong"]}
    with pytest.raises(ConfigError, match=r"'bidirectional' .* \(it is always True\)"):
        task_space(TOY, {"bidirectional": [True, False]})
    with pytest.raises(ConfigError, match="'attention' is not a hyperparameter sentiment"):
        task_space(sentiment, {"attention": "luong"})


def test_the_objective_is_one_of_the_task_metrics():
    assert check_objective(sentiment) == "val_accuracy"
    assert check_objective(TOY, "loss") == "loss"
    with pytest.raises(ConfigError, match="the toy model reports loss, val_loss"):
        check_objective(TOY, "val_accuracy")


def test_declared_values_start_from_the_config_values():
    hp = keras_tuner.HyperParameters()
    space = task_space(sentiment, {"units": [32, 64, 128], "learning_rate": "1e-4:1e-2",
                                   "bidirectional": [False, True], "depth": 2})
    defaults = {"units": 64, "learning_rate": 3e-3, "bidirectional": True, "depth": 1}
    values = {name: declare(hp, name, space[name], default)
              for name, default in defaults.items()}
    assert values == {"units": 64, "learning_rate": 3e-3, "bidirectional": True, "depth": 2}
    assert type(hp.get("bidirectional")) is bool


def test_a_trial_builds_the_task_with_its_values_in_the_config():
    hypermodel = TaskHyperModel(TOY, ToyConfig(dropout=0.3), data=None,
                                space={"units": [8, 20], "attention": "luong,bahdanau"})
    hp = keras_tuner.HyperParameters()
    config = hypermodel.build(hp)
    assert (config.units, config.attention, config.dropout) == (20, "luong", 0.3)
    assert hp.values["units"] == 20 and hp.values["cell"] == "lstm"
    hp.values.update(units=8, attention="bahdanau", cell="gru")
    config = hypermodel.build(hp)
    assert (config.units, config.attention, config.cell) == (8, "bahdanau", "gru")
    assert hypermodel.objective == "val_loss"


@pytest.mark.parametrize("kind", TUNERS)
def test_every_tuner_is_made_over_the_task_space(kind, tmp_path):
    hypermodel = TaskHyperModel(TOY, ToyConfig(), data=None, space={"units": [4, 8]})
    tuner = make_tuner(kind, hypermodel, "val_loss", max_trials=2, epochs=3, seed=0,
                       out=tmp_path)
    assert tuner.oracle.max_trials == 2 and tuner.oracle.objective.direction == "min"
    assert tuner.oracle.get_space().get("units") == 4  # the first value, where it starts


def test_the_tune_flags_are_the_search_the_space_and_the_task_config(monkeypatch):
    text = command.build_parser("sentiment").format_help()
    for flag in ("--tuner", "--max-trials", "--units SPEC", "--learning-rate SPEC",
                 "--pooling", "--min-freq", "--embedding-dim", "--max-seconds"):
        assert flag in text, flag
    assert "(default: 75,150,300)" in text and "(default: val_accuracy)" in text
    assert "--monitor" not in text and "--resume" not in text
    usage = text.split("\n\n")[0]
    assert text.count("(default:") == usage.count("[--")  # every flag shows its default
    # No time budget per trial unless asked (the task's own default is for a single run).
    assert command.build_parser("sentiment").parse_args([]).max_seconds is None

    monkeypatch.setattr(command, "get_task", lambda name: TOY)
    text = command.build_parser("toy").format_help()
    assert "--bidirectional" not in text  # the toy task fixes it
    assert "--attention {luong,bahdanau}" in text


@pytest.mark.parametrize("argv, message", [
    (["--units", "abc"], "units: 'abc' is not an integer"),
    (["--cell", "lstm,tdnn"], "cell must be one of"),
    (["--tuner", "annealing"], "argument --tuner: invalid choice"),
    (["--max-trials", "0"], "argument --max-trials: expected a positive integer, got '0'"),
    (["--objective", "val_bleu"], "argument --objective: invalid choice: 'val_bleu'"),
    (["--attention", "luong"], "unrecognized arguments: --attention luong"),
    (["--embedding-dims", "4"], "unrecognized arguments: --embedding-dims"),
    (["--monitor", "val_loss"], "unrecognized arguments: --monitor"),
    (["--space", "missing.json"], "missing.json: cannot read the space file"),
    (["--batch-size", "0"], "argument --batch-size: must be a positive integer"),
])
def test_bad_tune_flags_are_one_line_and_exit_code_2(argv, message, tmp_path, capsys,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        command.main("sentiment", ["--out", "search", *argv])
    assert exit.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seqtasks tune sentiment: error:") and "\n" not in err, err
    assert message in err, err
    assert not (tmp_path / "search").exists()


def test_bad_space_files_are_one_line_errors(tmp_path, capsys):
    cases = {"not-json.json": "{units: [8]", "list.json": "[8]",
             "bad-value.json": json.dumps({"units": [8, -1]})}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(SystemExit):
            command.main("sentiment", ["--space", str(tmp_path / name),
                                       "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and (name in err or "got -1" in err), err
    assert not (tmp_path / "out").exists()


def test_a_folder_is_resumed_only_with_the_same_settings(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("not a search")
    with pytest.raises(ConfigError, match="is not a search folder"):
        command.main("sentiment", ["--out", str(other)])

    search = tmp_path / "search"
    search.mkdir()
    (search / "search.json").write_text(json.dumps({"task": "sentiment", "tuner": "grid"}))
    with pytest.raises(ConfigError) as error:
        command.main("sentiment", ["--out", str(search), "--units", "8"])
    assert "other settings (tuner, objective, space" in str(error.value)
    assert "--overwrite" in str(error.value)


def test_the_config_must_be_the_task_config(tmp_path):
    with pytest.raises(ConfigError, match="config must be a sentiment.Config, got ToyConfig"):
        search("sentiment", ToyConfig(), out=tmp_path / "search")
