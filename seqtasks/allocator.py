"""`keep_freed_memory`: glibc malloc settings that spare TensorFlow's CPU tensors a page
fault on every fresh page.

TensorFlow allocates CPU tensors with malloc. The first time a `tf.data` generator runs,
TensorFlow (2.21) sets glibc's trim threshold to 128 KiB (its log line: "Memory patch
applied: M_TRIM_THRESHOLD=128 kb was set"). Setting it also freezes glibc's mmap
threshold at 128 KiB, so from then on every tensor over 128 KiB is a fresh ``mmap``,
unmapped again when freed, whose pages fault in anew on first touch; on the 2-core
machine seqtasks is measured on that is about 3.6 s per GB. `keep_freed_memory` makes
glibc serve large blocks from its heap (``M_MMAP_MAX`` 0) and keep up to 1 GiB of freed
memory for reuse (``M_TRIM_THRESHOLD``): a Tree-LSTM training epoch on 400 SST trees
then takes 0.73 s instead of 2.05 s (`benchmarks/tree_batching.py`). The price: the
process's resident memory stays near its peak instead of shrinking after it.

`seqtasks.data.batching.tf_dataset` calls it at the start of every pass, after
TensorFlow's own setting. ``SEQTASKS_KEEP_FREED_MEMORY=0`` in the environment turns it
off; off glibc (macOS, Windows, musl) it does nothing.

Example:

>>> keep_freed_memory() in (True, False)
True
"""

import ctypes
import os

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_MAX = -4
KEPT_BYTES = 1 << 30
SWITCH = "SEQTASKS_KEEP_FREED_MEMORY"


def keep_freed_memory():
    """Sets glibc's ``M_MMAP_MAX`` to 0 and ``M_TRIM_THRESHOLD`` to 1 GiB for this
    process; returns whether it did (False off glibc or with ``SEQTASKS_KEEP_FREED_MEMORY=0``)."""
    if os.environ.get(SWITCH, "1") == "0":
        return False
    process = ctypes.CDLL(None)
    if not hasattr(process, "gnu_get_libc_version"):
        return False
    return bool(process.mallopt(M_MMAP_MAX, 0)) and bool(
        process.mallopt(M_TRIM_THRESHOLD, KEPT_BYTES))
