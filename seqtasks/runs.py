"""Run folders that are never half-written: build in ``OUT.partial``, move into place at the end.

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

from seqtasks.errors import ConfigError


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
    """Writes `data` as indented JSON; non-finite floats become null (valid JSON)."""

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    Path(path).write_text(json.dumps(clean(data), indent=2, ensure_ascii=False) + "\n")
