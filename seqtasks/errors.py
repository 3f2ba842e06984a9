"""Errors that carry a location, so the CLI can print one clear line (`exit_code`).

Example:

>>> err = DataError("bad label 'maybe'", path="train.csv", line=12)
>>> str(err)
"train.csv:12: bad label 'maybe'"
"""


import sys


class SeqtasksError(Exception):
    """Base class of the errors the CLI turns into a one-line message and exit code 2."""


class DataError(SeqtasksError, ValueError):
    """Bad input data, located by file and (1-based) line or byte offset.

    Args:
        message: what is wrong, in a few words.
        path: the file the problem is in (optional).
        line: 1-based line number (optional).
        offset: byte offset, for problems that have no line yet, such as bad UTF-8 (optional).
    """

    def __init__(self, message, path=None, line=None, offset=None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.offset = offset
        super().__init__(self._format())

    def _format(self):
        where = self.path or ""
        if self.line is not None:
            where += f":{self.line}"
        if self.offset is not None:
            where += f" (byte {self.offset})"
        return f"{where}: {self.message}" if where else self.message


class ConfigError(SeqtasksError, ValueError):
    """A bad argument or option value; the message names the argument."""


def exit_code(main, *args, prog="seqtasks"):
    """Calls ``main(*args)``; returns its exit code (0 for None), or 2 after printing a
    `SeqtasksError` as one line ``PROG: error: MESSAGE`` on stderr."""
    try:
        return main(*args) or 0
    except SeqtasksError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
