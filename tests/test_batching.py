import keras
import numpy as np
import pytest

from seqtasks.data.batching import lm_random_batches, lm_sequential_batches, make_dataset, one_hot, pad
from seqtasks.errors import ConfigError, DataError

SEQUENCES = [[5, 6, 7], [8], [9, 10, 11, 12, 13], [14, 15]]


def batches_of(dataset):
    return [tuple(part.numpy().tolist() for part in batch) for batch in dataset]


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


def test_one_hot_zeroes_padding_so_masking_works():
    vectors = one_hot(pad([[2, 1], [3]]), depth=4)
    assert vectors.dtype == np.float32 and vectors.shape == (2, 2, 4)
    assert vectors[0].tolist() == [[0, 0, 1, 0], [0, 1, 0, 0]]
    assert vectors[1, 1].tolist() == [0, 0, 0, 0]
    mask = keras.layers.Masking(0.0).compute_mask(vectors)
    assert np.asarray(mask).tolist() == [[True, True], [True, False]]


def test_one_hot_keeps_a_length_one_axis():
    assert one_hot([[3]], depth=4).shape == (1, 1, 4)


def test_one_hot_rejects_ids_out_of_range():
    with pytest.raises(ConfigError, match="depth=3"):
        one_hot([1, 3], depth=3)


def test_make_dataset_pads_each_batch_to_its_longest_sequence():
    dataset = make_dataset(SEQUENCES, batch_size=2, shuffle=False)
    batches = [batch.numpy().tolist() for batch in dataset]
    assert batches == [[[5, 6, 7], [8, 0, 0]], [[9, 10, 11, 12, 13], [14, 15, 0, 0, 0]]]


def test_make_dataset_with_one_label_per_sequence():
    x, y = next(iter(make_dataset(SEQUENCES, [1, 0, 1, 1], batch_size=4, shuffle=False)))
    assert x.shape == (4, 5)
    assert y.numpy().tolist() == [1, 0, 1, 1]


def test_make_dataset_pads_tag_sequences_like_inputs():
    tags = [[1] * len(sequence) for sequence in SEQUENCES]
    for x, y in make_dataset(SEQUENCES, tags, batch_size=3, shuffle=True, seed=3):
        assert x.shape == y.shape
        assert ((x.numpy() != 0) == (y.numpy() != 0)).all()


def test_make_dataset_shuffle_is_deterministic_given_seed():
    sequences = [[i + 1] * (i % 7 + 1) for i in range(40)]
    labels = list(range(40))
    first = batches_of(make_dataset(sequences, labels, batch_size=8, seed=1))
    second = batches_of(make_dataset(sequences, labels, batch_size=8, seed=1))
    other = batches_of(make_dataset(sequences, labels, batch_size=8, seed=2))
    assert first == second
    assert first != other
    assert sorted(label for _, y in first for label in y) == labels


def test_make_dataset_buckets_group_similar_lengths():
    sequences = [[1] * n for n in [1, 9, 2, 8, 1, 9, 2, 8]]
    dataset = make_dataset(sequences, list(range(8)), batch_size=2, seed=0, bucket_boundaries=[5])
    batches = batches_of(dataset)
    assert sorted(label for _, y in batches for label in y) == list(range(8))
    for x, _ in batches:
        lengths = [sum(row) for row in x]
        assert max(lengths) < 5 or min(lengths) >= 5
    assert batches == batches_of(
        make_dataset(sequences, list(range(8)), batch_size=2, seed=0, bucket_boundaries=[5])
    )


def test_make_dataset_rejects_target_count_mismatch():
    with pytest.raises(DataError, match="4 input sequences but 3 targets"):
        make_dataset(SEQUENCES, [0, 1, 0])


def test_make_dataset_rejects_tag_count_mismatch():
    tags = [[1, 1, 1], [1], [1, 1, 1, 1], [1, 1]]
    with pytest.raises(DataError, match="sequence 2 has 5 tokens but 4 tags"):
        make_dataset(SEQUENCES, tags)


def test_make_dataset_rejects_no_inputs():
    with pytest.raises(ConfigError, match="empty"):
        make_dataset([])


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
