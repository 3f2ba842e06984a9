"""The run folder: one format for every task, written atomically and read back by `load_run`.

A finished run folder holds

- ``model.keras``: the trained Keras model (every layer registered by ``import seqtasks``),
- ``preprocessing.json``: the task's fitted preprocessor (tokenizers, vocabularies, label
  sets): raw text in, model inputs out, and model outputs back to text,
- ``config.json``: ``{"task": NAME, "config": {every setting}}`` (unset values are null),
- ``metrics.json``, ``history.csv`` (one row per epoch), plots (``loss.png``, ...) and a
  sample of predictions on the test split (``predictions.*``).

A run is built in ``OUT.partial`` and moved into place when it has finished
(`RunFolder`), so an existing good ``OUT`` is never half-overwritten. In a multi-worker
run only the chief does; the other workers write to a temporary folder (`ScratchFolder`).

Example:

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> with RunFolder(out) as work:
...     _ = (work / "metrics.json").write_text("{}")
>>> sorted(p.name for p in out.iterdir())
['metrics.json']
"""

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

from seqtasks.errors import ConfigError, DataError

MODEL, PREPROCESSING, CONFIG, METRICS, HISTORY = (
    "model.keras", "preprocessing.json", "config.json", "metrics.json", "history.csv")


class RunFolder:
    """A context manager that yields the work folder and publishes it on success.

    While a run is going, its files live in ``OUT.partial`` (next to ``OUT``), so an
    existing good ``OUT`` stays untouched until the new run has finished. On a clean
    exit the old ``OUT`` is replaced; on an exception the partial folder stays, so
    ``resume=True`` can continue it (its checkpoints are inside).

    Args:
        out: the folder the finished run will be in.
        resume: continue the interrupted run in ``OUT.partial`` instead of starting over.
    """

    def __init__(self, out, resume=False):
        self.out = Path(out)
        self.work = self.out.with_name(self.out.name + ".partial")
        self.resume = resume

    def __enter__(self):
        if self.resume and not self.work.is_dir():
            raise ConfigError(f"--resume: no interrupted run to continue at {self.work}")
        if not self.resume and self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True, exist_ok=True)
        return self.work

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.publish()
        elif not self.resume and not (self.work / "backup").is_dir():
            shutil.rmtree(self.work, ignore_errors=True)  # nothing there to resume
        return False

    def publish(self):
        """Moves the finished work folder to OUT, replacing an older run there."""
        old = self.out.with_name(self.out.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        if self.out.exists():
            self.out.rename(old)
        self.work.rename(self.out)
        if old.exists():
            shutil.rmtree(old)


class ScratchFolder:
    """A `RunFolder` stand-in that yields a temporary folder and removes it at the end.

    The workers of a multi-worker run other than the chief write there (every worker
    runs the same steps, saving included, but only the chief keeps its files). With
    `resume` it starts from a copy of the checkpoints in the chief's ``OUT.partial``, so
    every worker continues from the same epoch (the workers must share that folder's
    file system).

    >>> with ScratchFolder("runs/sentiment") as work:
    ...     _ = (work / "metrics.json").write_text("{}")
    >>> work.exists()
    False
    """

    def __init__(self, out, resume=False):
        self.chief_work = RunFolder(out).work
        self.resume = resume

    def __enter__(self):
        if self.resume and not self.chief_work.is_dir():
            raise ConfigError(f"--resume: no interrupted run to continue at {self.chief_work} "
                              f"(the other workers resume from the chief's, on a shared file "
                              f"system)")
        self.temporary = tempfile.TemporaryDirectory(prefix="seqtasks-worker-")
        work = Path(self.temporary.name)
        if self.resume and (self.chief_work / "backup").is_dir():
            shutil.copytree(self.chief_work / "backup", work / "backup")
        return work

    def __exit__(self, exc_type, exc, tb):
        self.temporary.cleanup()
        return False


def write_atomically(path, write):
    """Calls ``write(file)`` on a temporary file beside `path`, then renames it into place.

    A kill or an error midway leaves the previous `path` whole (and no temporary file
    after an error).
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as f:
            write(f)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path, data):
    """Writes `data` as indented JSON (see `json_text`)."""
    Path(path).write_text(json_text(data), encoding="utf-8")


def json_text(data):
    """`data` as indented JSON text; non-finite floats become null (valid JSON)."""

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
            return clean(value.item())  # NumPy scalars
        return value

    return json.dumps(clean(data), indent=2, ensure_ascii=False) + "\n"


def save_run(folder, task, model, preprocessor, config, metrics=None, history=None):
    """Writes the files every run folder has into `folder` (a `RunFolder`'s work folder).

    Args:
        task: the task's name ("sentiment", ...).
        model: the trained Keras model.
        preprocessor: the task's fitted preprocessor (it has ``get_config()``).
        config: the task's config (a `seqtasks.tasks.config.TaskConfig`).
        metrics: the metrics dict (optional).
        history: the training history as a DataFrame, when it is not already in
            ``history.csv`` (optional).
    """
    folder = Path(folder)
    model.save(folder / MODEL)
    write_json(folder / PREPROCESSING, {"task": task, "preprocessor": preprocessor.get_config()})
    write_json(folder / CONFIG, {"task": task, "config": config.to_json()})
    if metrics is not None:
        write_json(folder / METRICS, metrics)
    if history is not None:
        history.to_csv(folder / HISTORY, index=False)


def read_json(path):
    """The JSON in `path`; a DataError naming the file when it is missing or malformed."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("no such file", path=path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read it: {error}", path=path) from None
    except json.JSONDecodeError as error:
        raise DataError(f"not valid JSON: {error.msg}", path=path, line=error.lineno) from None


def read_run_files(folder):
    """``(task name, preprocessing dict, config dict)`` of a finished run folder.

    Raises `DataError` naming the folder when it is not one (no model, or files missing).
    """
    folder = Path(folder)
    if not (folder / MODEL).is_file():
        raise DataError(f"no {MODEL} here: not a finished run folder", path=folder)
    preprocessing, config = read_json(folder / PREPROCESSING), read_json(folder / CONFIG)
    for path, data, key in ((PREPROCESSING, preprocessing, "preprocessor"),
                            (CONFIG, config, "config")):
        if not isinstance(data, dict) or not isinstance(data.get(key), dict) or "task" not in data:
            raise DataError(f'expected a JSON object {{"task": ..., "{key}": {{...}}}}',
                            path=folder / path)
    if preprocessing["task"] != config["task"]:
        raise DataError(f"{PREPROCESSING} is for task {preprocessing['task']!r} but "
                        f"{CONFIG} for {config['task']!r}", path=folder)
    return config["task"], preprocessing["preprocessor"], config["config"]
