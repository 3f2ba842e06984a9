"""The fused recurrences on a CPU: what the LSTM and GRU of `tf_fused` (TensorFlow) and
`jax_fused` (JAX) share.

A fused recurrence runs a standard cell over a time-major sequence with a hand-written
backward pass. The forward loop projects each step's inputs (faster on a CPU than one
product over the whole sequence before the loop, on both backends). The backward pass
first computes, for all steps at once, every factor of the step's derivatives that does
not depend on the incoming gradient (large element-wise operations); the backward loop
then only multiplies by these factors and runs the recurrent matrix product (a loop step
costs a few operations, which is what matters on a CPU, where each operation of a loop
step has a fixed cost); the gradients of the kernel, recurrent kernel, bias and inputs
are then one large matrix product each, over the rows of many steps at once (all of
them, or a span at a time: `tf_fused`), instead of a small one per step. A cell's
equations (`fused_lstm.LSTM`, `fused_gru.GRU`) are written in `keras.ops`, so they run
on either backend; each backend module supplies the scans and the custom gradient.

A cell is an object with:

- ``saved_blocks``: the width, in units, of what a step saves for the backward pass;
- ``gradient_blocks``: the width, in units, of what a backward step outputs;
- ``project(inputs, kernel, bias)``: the projected inputs (any leading axes);
- ``forward_weights(recurrent_kernel, bias)``: what ``step`` takes, prepared once;
- ``step(projected, states, weights)``: (the new states, what the step saves);
- ``backward_weights(recurrent_kernel)``: what ``step_gradients`` takes, prepared once;
- ``backward_sequences(states, previous_states, saved)``: the time-major sequences the
  backward loop reads (a dict): the derivative factors of every step, computed at once;
- ``step_gradients(d_states, slices, weights)``: from the gradients reaching the new
  states, those reaching the previous states and what the step outputs (its
  pre-activation gradients, or what gives them);
- ``weight_gradients(input_rows, d_rows, sequence_rows, previous_h_rows, kernel)``: the
  gradients of the inputs, kernel, recurrent kernel and bias, from all steps' rows
  (``d_rows``: the backward steps' outputs, zero at masked steps; ``sequence_rows``: the
  rows of ``backward_sequences``).
- ``keeping_gate``: None, or the block of the projection whose gate keeps the state
  exactly when its sigmoid is 1 (the GRU's update gate z: ``h' = z h + (1 - z) h~``).

The states are a tuple whose first element is h, the output.

Masks: the loops run over the `active_range` of the steps only (a step that no row
marks keeps every row's states: a batch padded past its longest row costs no loop steps
for it); they take the mask of every step (``valid``, time-major, True where the
step counts) and, like Keras's loop, keep the states through a masked step; the backward
step then passes the states' gradients through unchanged and its output is zeroed
(`step_rows`), so the weight gradients keep their one-product form. This is exact
for any mask (right- or left-padded, with holes, rows with no valid step) in both
directions, because Keras's loop, too, only keeps the state at each masked step of the
sequence in processing order. The outputs at masked steps then follow Keras's rules
(`seqtasks.layers.masking.shown_outputs`). On TensorFlow a cell with a ``keeping_gate``
(the GRU) runs its masked steps without that selection (`saturated_at_masked_steps`):
one more input column, 1 at the masked steps, drives the gate's pre-activation to
`SATURATED`, whose sigmoid is exactly 1, so the step keeps the state, passes the state's
gradient through and gives zero gradients to the weights and inputs by the cell's own
arithmetic, and the loops run as without a mask (`benchmarks/rnn_throughput.py --masked`,
GRU against `keras.layers.GRU`: 1.16 -> 1.39). On JAX the selection costs about nothing
in XLA's fused element-wise work and the wider input costs more (forward and backward
158 against 162 ms), so it stays.
"""

from keras import activations, ops

from seqtasks.layers.masking import shown_outputs


# A pre-activation whose sigmoid is exactly 1 in float16, bfloat16 and float32 (from about
# 17 on), far above what a gate's other terms add up to, and finite in float16.
SATURATED = 1e4


def saturated_at_masked_steps(cell, sequence, kernel, valid, units):
    """The time-major `sequence` and the `kernel` of a cell with a ``keeping_gate``, such
    that the gate saturates (sigmoid 1) at the steps `valid` marks False: the inputs take a
    last column, 1 at those steps (their inputs zeroed, so that padding holding inf or nan
    reaches nothing), and the kernel a last row, `SATURATED` at the gate's columns.

    >>> import numpy as np
    >>> from seqtasks.layers.fused_gru import GRU
    >>> x, k = saturated_at_masked_steps(GRU(True), np.ones((2, 1, 1)), np.zeros((1, 6)),
    ...                                  np.array([[[True]], [[False]]]), units=2)
    >>> np.asarray(x)[:, 0].tolist(), np.asarray(k)[1].tolist()
    ([[1.0, 0.0], [0.0, 1.0]], [10000.0, 10000.0, 0.0, 0.0, 0.0, 0.0])
    """
    masked = ops.cast(ops.logical_not(valid), sequence.dtype)
    sequence = ops.concatenate([ops.where(valid, sequence, ops.zeros_like(sequence)), masked],
                               axis=-1)
    row = ops.where(ops.arange(kernel.shape[1]) // units == cell.keeping_gate, SATURATED, 0.0)
    return sequence, ops.concatenate([kernel, ops.cast(row, kernel.dtype)[None]], axis=0)


def active_range(valid, time):
    """``(start, end)``: the steps from the first to the last that some row of `valid`
    (None: all; time-major, (time, batch, 1)) marks, of a sequence of `time` steps. Every
    step outside keeps every row's states, so the loops skip them: a batch padded past its
    longest row (to a fixed length, or to a bucket: `seqtasks.data.batching.pad_batch`)
    costs no loop steps for its padding. No step marked: all of them.

    >>> import numpy as np
    >>> valid = np.array([[0, 0], [1, 0], [0, 1], [0, 0]], bool)[..., None]
    >>> [int(t) for t in active_range(valid, 4)]
    [1, 3]
    """
    if valid is None:
        return 0, time
    active = ops.cast(ops.any(valid, axis=(1, 2)), "int32")
    return ops.argmax(active), time - ops.argmax(ops.flip(active, axis=0))


def _where_valid(valid, new, old):
    """`new` at the rows where `valid` (batch, 1) is True, `old` elsewhere; `new` if None."""
    return new if valid is None else ops.where(valid, new, old)


def steps(valid, **sequences):
    """The per-step inputs of a scan: the time-major `sequences`, and ``valid`` if any."""
    return sequences if valid is None else {**sequences, "valid": valid}


def forward_step(cell, projected, states, weights, valid):
    """`cell`'s step that keeps the states at the rows `valid` marks False (None: no mask).

    Returns (the states, what the step saves); a masked row's saved values are never used.
    """
    new_states, saved = cell.step(projected, states, weights)
    return tuple(_where_valid(valid, new, old) for new, old in zip(new_states, states)), saved


def backward_step(cell, d_states, slices, weights):
    """One step of the backward loop, from the gradients reaching the states from t+1.

    `slices` holds the step's slices of ``d_h`` (the gradient of the output h_t), of the
    cell's `backward_sequences` and, with a mask, of ``valid``. Returns the gradients
    reaching the previous states and the step's output (at a masked row, whose states
    pass their gradients through, `step_rows` zeroes it afterwards).
    """
    d_states = (d_states[0] + slices["d_h"], *d_states[1:])
    d_previous, d_step = cell.step_gradients(d_states, slices, weights)
    valid = slices.get("valid")
    if valid is None:
        return d_previous, d_step
    return tuple(ops.where(valid, d_prev, d) for d_prev, d in zip(d_previous, d_states)), d_step


def step_rows(d_steps, valid):
    """The backward steps' outputs as rows, zero at the masked steps (`valid` False)."""
    if valid is not None:
        d_steps = ops.where(valid, d_steps, ops.zeros_like(d_steps))
    return rows(d_steps)


def rows(sequence):
    """A time-major sequence as (time * batch) rows."""
    return ops.reshape(sequence, (-1, sequence.shape[-1]))


def previous(initial, sequence):
    """The time-major `sequence` one step later: ``initial`` first, the last step left out."""
    return ops.concatenate([initial[None], sequence[:-1]], axis=0)


def run_fused(sequence_fn, cell, inputs, initial_states, mask, kernel, recurrent_kernel, bias,
              activation, recurrent_activation, return_sequences=False, go_backwards=False,
              unroll=False, zero_output_for_mask=False, saturate_masked_steps=False,
              skip_masked_ends=False):
    """`cell` over a batch-major sequence, with the contract of `keras.src.backend.lstm`.

    `sequence_fn(cell, time_major_inputs, kernel, recurrent_kernel, bias, initial_states,
    valid)` returns the h carried through every step and the last value of each other
    state; `valid` is None or a boolean (time, batch, 1) tensor, True at the steps `mask`
    keeps. Returns ``(last_output, outputs, final states)`` as Keras's loop does
    (`zero_output_for_mask` as in `keras.layers.RNN`, which the backends' fused
    functions do not take; with `saturate_masked_steps`, a cell with a ``keeping_gate``
    runs its masked steps by `saturated_at_masked_steps`, not by selecting the old
    states; with `skip_masked_ends`, the sequence is cut to its `active_range` before
    `sequence_fn`, which a backend with dynamic shapes (TensorFlow) can do): `outputs`
    is (batch, time, units) with `return_sequences` (in processing order, reversed with
    `go_backwards`) and the last output with a time axis of 1 otherwise. Raises
    NotImplementedError for what it does not support: `unroll`, no bias, activations
    other than tanh and sigmoid.
    """
    if (
        unroll
        or bias is None
        or activation is not activations.tanh
        or recurrent_activation is not activations.sigmoid
    ):
        raise NotImplementedError
    dtype = inputs.dtype
    sequence = ops.transpose(inputs, (1, 0, 2))
    valid = None if mask is None else ops.expand_dims(ops.transpose(ops.cast(mask, "bool")), -1)
    if go_backwards:
        sequence = ops.flip(sequence, axis=0)
        valid = None if valid is None else ops.flip(valid, axis=0)
    kernel, recurrent_kernel, bias = (ops.convert_to_tensor(w, dtype)
                                      for w in (kernel, recurrent_kernel, bias))
    initial_states = tuple(ops.convert_to_tensor(s, dtype) for s in initial_states)
    loop_valid, skip = valid, skip_masked_ends and valid is not None
    if skip:
        time = ops.shape(sequence)[0]
        start, end = active_range(valid, time)
        sequence, loop_valid = sequence[start:end], valid[start:end]
    if saturate_masked_steps and valid is not None and cell.keeping_gate is not None:
        sequence, kernel = saturated_at_masked_steps(cell, sequence, kernel, loop_valid,
                                                     recurrent_kernel.shape[0])
        loop_valid = None
    hs, *last_others = sequence_fn(cell, sequence, kernel, recurrent_kernel, bias,
                                   initial_states, loop_valid)
    if skip:  # the skipped steps keep the states: the first before, the last after
        hs = ops.concatenate([ops.repeat(initial_states[0][None], start, axis=0), hs,
                              ops.repeat(hs[-1:], time - end, axis=0)], axis=0)
    shown = shown_outputs(hs, valid, zero_output_for_mask, time_axis=0)
    last_output = shown[-1]
    outputs = ops.transpose(shown, (1, 0, 2)) if return_sequences else last_output[:, None]
    return last_output, outputs, [hs[-1], *last_others]
