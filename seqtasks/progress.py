"""Progress lines for the phases of a run that take more than a few seconds.

>>> with phase("fitting the baseline"):
...     pass
fitting the baseline ...
fitting the baseline: done in 0.0 s
"""

import contextlib
import time


@contextlib.contextmanager
def phase(what, verbose=True):
    """Prints ``WHAT ...`` before the block and ``WHAT: done in N s`` after it (when
    `verbose`), so a long evaluation or decoding never looks like a hang."""
    if verbose:
        print(f"{what} ...", flush=True)
    started = time.monotonic()
    yield
    if verbose:
        print(f"{what}: done in {time.monotonic() - started:.1f} s", flush=True)
