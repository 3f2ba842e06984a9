"""Every task's run folder loads in a fresh process that imports only keras and seqtasks."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import seqtasks
from seqtasks.cli import main as cli
from seqtasks.data.embedded import embedded_path
from seqtasks.tasks import TASK_NAMES, get_task
from seqtasks.tasks.runner import run_task

ROOT = Path(__file__).resolve().parents[1]
TINY = {"epochs": 1, "units": 8, "embedding_dim": 8, "verbose": 0, "max_seconds": 10.0}
# Per task: settings that keep the run to seconds (one tagger, one Tree-LSTM: the mixtures
# are the tasks' own tests'), and the inputs to predict.
SETTINGS = {
    "sentiment": ({"min_freq": 1, "batch_size": 64}, ["a superb film", "the plot was dull"]),
    "tagging": ({"batch_size": 64, "members": 1, "features": False},
                ["Jordan Smith smiled", "on monday , Austin residents voted"]),
    "generation": ({"max_chars": 6000, "seq_len": 16, "batch_size": 8, "sample_length": 10},
                   ["The "]),
    "translation": ({"batch_size": 64}, ["the 3rd of March 2021", "5 May 1999"]),
    "trees": ({"batch_size": 64, "baseline": "none", "members": 1},
              ["((the film) (was (not good)))", "(3 (2 a) (4 superb))"]),
    "relations": ({"batch_size": 64, "model": "graph"},
                  [(["the", "dog", "saw", "a", "cat", "."], [2, 3, 0, 5, 3, 3]),
                   (["cats", "sleep"], [2, 0])]),
}
OPTIONS = {"generation": {"length": 12, "temperature": 0.0}, "translation": {"beam_size": 2}}

FRESH = """
import json, sys
import keras
import seqtasks

for run, inputs, options in json.loads(sys.argv[1]):
    keras.saving.load_model(run + "/model.keras", safe_mode=True)
    print(json.dumps(seqtasks.load(run).predict(inputs, **options)))
"""


# Tasks trained on the first examples of their embedded splits (an epoch of the full files
# runs into the time budget, and evaluating them takes longer still; the tasks' own tests
# run on the full files): dataset, file suffix, blank-line-separated examples (else one a
# line), examples in train (a quarter of that in valid and test); a CSV file keeps its
# header. Generation reads the first max_chars of its text.
SMALL = {"sentiment": ("sentiment", ".csv", False, 256),
         "tagging": ("tagging", ".conll", True, 200),
         "translation": ("dates", ".tsv", False, 256),
         "trees": ("trees", ".txt", False, 200),
         "relations": ("dependencies", ".conllu", True, 150)}


def small_data(name, folder):
    dataset, suffix, blocks, count = SMALL[name]
    separator = "\n\n" if blocks else "\n"
    folder.mkdir()
    for split in ("train", "valid", "test"):
        text = embedded_path(dataset, split).read_text(encoding="utf-8")
        examples = text.strip("\n").split(separator)
        header = [examples.pop(0)] if suffix == ".csv" else []
        kept = examples[:count if split == "train" else count // 4]
        (folder / f"{split}{suffix}").write_text(separator.join(header + kept) + "\n",
                                                encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    for name in TASK_NAMES:
        task = get_task(name)
        settings, _ = SETTINGS[name]
        if name in SMALL:
            settings = {**settings, "data": small_data(name, folder / f"{name}-data")}
        run_task(task, task.Config(**TINY, **settings, out=folder / name))
    return folder


@pytest.mark.e2e
@pytest.mark.slow
def test_each_run_loads_with_safe_mode_in_a_fresh_process_and_predicts_the_same(runs):
    jobs = [(str(runs / name), SETTINGS[name][1], OPTIONS.get(name, {})) for name in TASK_NAMES]
    result = subprocess.run([sys.executable, "-c", FRESH, json.dumps(jobs)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    fresh = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(fresh) == len(TASK_NAMES)
    for (run, inputs, options), predicted in zip(jobs, fresh):
        here = json.loads(json.dumps(seqtasks.load(run).predict(inputs, **options)))
        assert predicted == here, run
        assert len(predicted) == len(inputs)


@pytest.mark.e2e
def test_every_run_folder_has_the_same_layout(runs):
    for name in TASK_NAMES:
        folder = runs / name
        for file in ("model.keras", "preprocessing.json", "config.json", "metrics.json",
                     "history.csv", "loss.png"):
            assert (folder / file).stat().st_size > 0, (name, file)
        config = json.loads((folder / "config.json").read_text())
        assert config["task"] == name and config["config"]["epochs"] == 1
        assert json.loads((folder / "preprocessing.json").read_text())["task"] == name
        assert len(pd.read_csv(folder / "history.csv")) == 1
        assert list(folder.glob("predictions.*")) or list(folder.glob("samples.*")) or \
            list(folder.glob("translations.*")), name
        assert not (folder / "backup").exists()


@pytest.mark.slow
def test_import_seqtasks_registers_every_serializable_class():
    names = sorted({name for path in (ROOT / "seqtasks").rglob("*.py")
                    for name in re.findall(r"register_keras_serializable\([^)]*\)\s*\nclass (\w+)",
                                           path.read_text(encoding="utf-8"))})
    assert len(names) >= 10
    check = ("import keras, seqtasks, sys; missing = [n for n in sys.argv[1:] if "
             "keras.saving.get_registered_object('seqtasks>' + n) is None]; print(missing)")
    result = subprocess.run([sys.executable, "-c", check, *names], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


@pytest.mark.e2e
def test_predict_tags_the_sentences_of_a_conllu_file(runs, tmp_path, capsys):
    conllu = tmp_path / "in.conllu"
    conllu.write_text("# sent_id = 1\n1-2\tJordan's\t_\t_\t_\t_\t_\t_\t_\t_\n"
                      "1\tJordan\tJordan\tPROPN\t_\t_\t0\troot\t_\t_\n"
                      "2\t's\t's\tPART\t_\t_\t1\tcase\t_\t_\n\n"
                      "1\tvoted\tvote\tVERB\t_\t_\t0\troot\t_\t_\n\n", encoding="utf-8")
    assert cli(["predict", str(runs / "tagging"), str(conllu), "--format", "conllu"]) == 0
    blocks = capsys.readouterr().out.strip("\n").split("\n\n")
    assert [[line.split("\t")[0] for line in block.splitlines()] for block in blocks] == [
        ["Jordan", "'s"], ["voted"]]
    assert cli(["predict", str(runs / "tagging"), "-", "--format", "conllu"]) == 2


@pytest.mark.e2e
def test_predict_labels_the_arcs_of_a_conllu_file(runs, tmp_path, capsys):
    conllu = tmp_path / "in.conllu"
    conllu.write_text("# text = dogs bark\n1\tdogs\t_\t_\t_\t_\t2\t_\t_\t_\n"
                      "2\tbark\t_\t_\t_\t_\t0\t_\t_\t_\n\n", encoding="utf-8")
    capsys.readouterr()
    assert cli(["predict", str(runs / "relations"), str(conllu), "--format", "conllu"]) == 0
    printed = capsys.readouterr().out
    [labelled] = seqtasks.load(runs / "relations").predict([(["dogs", "bark"], [2, 0])])
    assert printed == "".join(f"{w}\t{h}\t{r}\n" for w, h, r in labelled) + "\n"
    assert [(w, h) for w, h, _ in labelled] == [("dogs", 2), ("bark", 0)]
