import platform

import numpy as np

from seqtasks.allocator import SWITCH, keep_freed_memory
from seqtasks.data import batching
from seqtasks.data.batching import LengthBatches, pad, tf_dataset


def test_applies_on_glibc_only(monkeypatch):
    monkeypatch.delenv(SWITCH, raising=False)
    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")


def test_environment_turns_it_off(monkeypatch):
    monkeypatch.setenv(SWITCH, "0")
    assert keep_freed_memory() is False


def test_every_pass_of_a_tf_dataset_keeps_freed_memory(monkeypatch):
    calls = []
    monkeypatch.setattr(batching, "keep_freed_memory", lambda: calls.append(1))
    batches = LengthBatches([[1], [2, 3], [4]], pad, [1, 2, 1], batch_size=2, shuffle=False)
    dataset = tf_dataset(batches)
    for _ in range(2):
        assert sum(np.asarray(x).size for x in dataset) > 0
    assert len(calls) == 2
