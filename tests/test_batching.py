import numpy as np
import pytest

from seqtasks.data.batching import (LengthBatches, SequentialBatches, WindowBatches,
                                    length_groups, lm_random_batches, lm_sequential_batches,
                                    pad)
from seqtasks.errors import ConfigError

SEQUENCES = [[5, 6, 7], [8], [9, 10, 11, 12, 13], [14, 15]]


def test_pad_post_and_truncate():
    padded = pad(SEQUENCES, maxlen=3)
    assert padded.dtype == np.int32
    assert padded.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 11], [14, 15, 0]]
    assert pad(SEQUENCES, maxlen=2, truncating="pre", padding="pre", value=-1).tolist() == [
        [6, 7],
        [-1, 8],
        [12, 13],
        [14, 15],
    ]


def test_length_groups_in_evaluation_sort_by_length():
    groups = length_groups([len(s) for s in SEQUENCES], batch_size=2)
    assert groups == [[1, 3], [0, 2]]


def test_length_groups_in_training_cover_every_index_once_and_change_per_call():
    lengths = np.random.default_rng(0).integers(1, 50, 1000)
    rng = np.random.default_rng(3)
    first, second = length_groups(lengths, 16, rng), length_groups(lengths, 16, rng)
    for groups in (first, second):
        assert sorted(k for group in groups for k in group) == list(range(1000))
        assert all(len(group) <= 16 for group in groups)
    assert first != second
    spread = np.mean([np.ptp(lengths[group]) for group in first])
    assert spread < 10, "batches should hold similar lengths (random ones spread ~45)"


def test_length_batches_are_reproducible_and_reshuffled_each_epoch():
    sequences = [[1] * n for n in range(1, 40)]
    labels = list(range(39))

    def encode(examples):
        return pad([s for s, _ in examples]), np.array([y for _, y in examples])

    def epoch(batches):
        return [batches[i][1].tolist() for i in range(len(batches))]

    one = LengthBatches(list(zip(sequences, labels)), encode, [len(s) for s in sequences], 8,
                        seed=1)
    two = LengthBatches(list(zip(sequences, labels)), encode, [len(s) for s in sequences], 8,
                        seed=1)
    assert len(one) == 5 and epoch(one) == epoch(two)
    before = epoch(one)
    one.on_epoch_end()
    assert epoch(one) != before
    assert sorted(y for batch in epoch(one) for y in batch) == labels


def test_length_batches_reject_no_examples_and_mismatched_lengths():
    with pytest.raises(ConfigError, match="no examples"):
        LengthBatches([], pad, [], 2)
    with pytest.raises(ConfigError, match="lengths"):
        LengthBatches([[1]], pad, [1, 2], 2)


@pytest.mark.parametrize("batcher", [lm_random_batches, lm_sequential_batches])
def test_lm_targets_are_inputs_shifted_by_one(batcher):
    stream = np.arange(1000) * 3
    x, y = batcher(stream, seq_len=7, batch_size=4, seed=5)
    assert x.dtype == y.dtype == np.int32
    assert x.shape == y.shape and x.shape[1] == 7 and x.shape[0] % 4 == 0
    assert (y == x + 3).all()
    assert x.shape[0] * 7 > 1000 - 7 * 4 - 7


@pytest.mark.parametrize("batcher", [lm_random_batches, lm_sequential_batches])
def test_lm_batches_depend_only_on_seed(batcher):
    stream = np.arange(500)
    x1, y1 = batcher(stream, 5, 4, seed=1)
    x2, y2 = batcher(stream, 5, 4, seed=1)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    starts = {int(batcher(stream, 5, 4, seed=seed)[0][0, 0]) for seed in range(10)}
    assert len(starts) > 1


def test_lm_random_batches_use_each_subsequence_once():
    x, _ = lm_random_batches(np.arange(1000), seq_len=10, batch_size=8, seed=0)
    starts = np.sort(x[:, 0])
    assert len(set(starts.tolist())) == len(starts)
    assert (np.diff(starts) % 10 == 0).all()
    assert not (x[:, 0] == starts).all(), "subsequences should be shuffled"


def test_lm_sequential_batches_continue_row_by_row():
    batch_size, seq_len = 3, 4
    x, y = lm_sequential_batches(np.arange(100), seq_len, batch_size, seed=7)
    batches = x.reshape(-1, batch_size, seq_len)
    assert len(batches) > 1
    for k in range(len(batches) - 1):
        for b in range(batch_size):
            assert batches[k + 1, b, 0] == batches[k, b, -1] + 1
    rows = batches.transpose(1, 0, 2).reshape(batch_size, -1)
    for row in rows:
        assert (np.diff(row) == 1).all()
    assert (y.reshape(-1, batch_size, seq_len)[:, :, -1] == batches[:, :, -1] + 1).all()


@pytest.mark.parametrize("batcher", [lm_random_batches, lm_sequential_batches])
def test_lm_batches_reject_a_too_short_stream(batcher):
    with pytest.raises(ConfigError, match="too few"):
        batcher(np.arange(20), seq_len=5, batch_size=4)
    x, _ = batcher(np.arange(25), seq_len=5, batch_size=4, seed=4)
    assert x.shape == (4, 5)


def epoch_of(batches):
    return [batches[i][0].tolist() for i in range(len(batches))]


def test_window_batches_are_redrawn_every_epoch_with_the_same_length():
    batches = WindowBatches(np.arange(1000) % 97, seq_len=10, batch_size=4, seed=2)
    first = epoch_of(batches)
    lengths = set()
    for _ in range(5):
        batches.on_epoch_end()
        lengths.add(len(batches))
        assert all(len(batches[i][0]) == 4 for i in range(len(batches)))
    assert lengths == {len(first)} and epoch_of(batches) != first
    fixed = WindowBatches(np.arange(1000) % 97, 10, 4, seed=2, redraw=False)
    before = epoch_of(fixed)
    fixed.on_epoch_end()
    assert epoch_of(fixed) == before


@pytest.mark.parametrize("kind", [WindowBatches, SequentialBatches])
def test_stream_batches_of_the_shortest_stream_hold_one_batch(kind):
    for seed in range(5):  # every start offset leaves one batch
        assert len(kind(np.arange(25), seq_len=5, batch_size=4, seed=seed)) == 1


def test_sequential_batches_continue_each_other_the_same_every_epoch():
    batches = SequentialBatches(np.arange(200), seq_len=5, batch_size=3, seed=1)
    first = epoch_of(batches)
    for (x, y), (next_x, _) in zip(batches, list(batches)[1:]):
        assert (next_x[:, 0] == x[:, -1] + 1).all() and (y == x + 1).all()
    batches.on_epoch_end()
    assert epoch_of(batches) == first
