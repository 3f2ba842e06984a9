"""`TreeLSTM` against a plain NumPy recursion node by node: outputs, and gradients against
central finite differences of the recursion in float64; a `tf.function` with unknown
sizes; saving. The float64 gradient tests run again on JAX (tests/test_backends.py;
there with `jax.grad` of the jit-compiled layer)."""


import keras
import numpy as np
import pytest
from keras import ops

from seqtasks.data.trees import Tree, encode_trees, parse_tree
from seqtasks.errors import ConfigError
from seqtasks.layers.tree_lstm import TreeLSTM

FEATURES, UNITS = 2, 2
BINARY_TREES = ["(3 (2 (2 The) (2 Rock)) (4 (2 is) (4 great)))", "(1 a)",
                "(1 (2 (3 (0 a))) (0 b))"]
TERNARY = Tree(4, (Tree(2, word="a"), Tree(None, (Tree(2, word="b"),), word="c"),
                   Tree(3, word="d")), word="e")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference(kind, weights, inputs, children, mask):
    """(h, c) of every node: a recursion from each node down to its children, in float64;
    masked nodes are absent (zero states, no child of their parent)."""
    kernel, recurrent, bias = (np.asarray(w, "float64") for w in weights)
    count, size, _ = inputs.shape
    units = recurrent.shape[0] // (2 if kind == "binary" else 1)
    h, c, done = np.zeros((count, size, units)), np.zeros((count, size, units)), set()

    def visit(b, i):
        if (b, i) in done:
            return
        done.add((b, i))
        kids = list(children[b, i])
        for k in kids:
            if k >= 0 and mask[b, k]:
                visit(b, k)
        h_k = np.array([h[b, k] if k >= 0 else np.zeros(units) for k in kids])
        c_k = np.array([c[b, k] if k >= 0 else np.zeros(units) for k in kids])
        x_i, x_f, x_c, x_o = np.split(inputs[b, i] @ kernel + bias, 4)
        if kind == "childsum":
            u_i, u_f, u_c, u_o = np.split(recurrent, 4, axis=1)
            h_sum = h_k.sum(axis=0)
            forget = sigmoid(x_f + h_k @ u_f)
            cell = sigmoid(x_i + h_sum @ u_i) * np.tanh(x_c + h_sum @ u_c)
            c[b, i] = cell + (forget * c_k).sum(axis=0)
            h[b, i] = sigmoid(x_o + h_sum @ u_o) * np.tanh(c[b, i])
        else:
            r_i, r_f0, r_f1, r_c, r_o = np.split(h_k.reshape(-1) @ recurrent, 5)
            c[b, i] = (sigmoid(x_i + r_i) * np.tanh(x_c + r_c)
                       + sigmoid(x_f + r_f0) * c_k[0] + sigmoid(x_f + r_f1) * c_k[1])
            h[b, i] = sigmoid(x_o + r_o) * np.tanh(c[b, i])

    for b in range(count):
        for i in range(size):
            if mask[b, i]:
                visit(b, i)
    return h, c


def problem(kind, seed=0, texts=BINARY_TREES):
    """A batch of trees of different shapes (a single leaf among them) with random inputs;
    padded nodes hold large inputs that must change nothing."""
    trees = [parse_tree(text) for text in texts]
    if kind == "childsum":
        trees.append(TERNARY)
    batch = encode_trees(trees, lambda word: 1, max_children=2 if kind == "binary" else None)
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(*batch.tokens.shape, FEATURES))
    inputs[~batch.node_mask] = 1e4
    return inputs, batch.children, batch.levels, batch.node_mask


def make_layer(kind, dtype="float32", seed=1, **options):
    layer = TreeLSTM(UNITS, kind=kind, dtype=dtype, **options)
    arity = 2 if kind == "binary" else 1
    layer.build((None, None, FEATURES), (None, None, 2), (None, None, None))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(size=(FEATURES, 4 * UNITS)),
                       rng.normal(size=(arity * UNITS, (4 + arity - 1) * UNITS)),
                       rng.normal(size=4 * UNITS)])
    return layer


def numpy(x):
    return ops.convert_to_numpy(x)


def loss_weights(shape):
    return np.sin(np.arange(np.prod(shape)) + 1.0).reshape(shape)


def outputs_and_gradients(layer, inputs, children, levels, mask):
    """The layer's h, and its gradients of ``sum(h * loss_weights)`` w.r.t. [*weights,
    inputs] (`tf.GradientTape` on TensorFlow, `jax.grad` on JAX)."""
    weights = loss_weights((*inputs.shape[:2], UNITS))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        x = tf.constant(inputs)
        with tf.GradientTape() as tape:
            tape.watch(x)
            h = layer(x, children, levels, mask=mask)
            loss = tf.reduce_sum(h * weights)
        grads = tape.gradient(loss, [*layer.trainable_weights, x])
    else:
        import jax

        def loss_fn(trainable, x):
            h, _ = layer.stateless_call(trainable, [], x, children, levels, mask=mask)
            return (h * weights).sum(), h

        trainable = [v.value for v in layer.trainable_variables]
        (weight_grads, input_grad), h = jax.jit(
            jax.grad(loss_fn, argnums=(0, 1), has_aux=True))(trainable, inputs)
        grads = [*weight_grads, input_grad]
    return numpy(h), [numpy(g) for g in grads]


def finite_difference_gradients(kind, weights, inputs, children, mask, step=1e-6):
    """Central differences of the reference's ``sum(h * loss_weights)`` in float64 (zero
    for the inputs of padded nodes, which the reference never reads)."""
    arrays = [np.array(w, "float64") for w in weights] + [np.array(inputs, "float64")]
    loss_w = loss_weights((*inputs.shape[:2], UNITS))

    def loss():
        return (reference(kind, arrays[:3], arrays[3], children, mask)[0] * loss_w).sum()

    grads = []
    for array in arrays:
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            if array is arrays[3] and not mask[index[:2]]:
                continue
            original = array[index]
            array[index] = original + step
            up = loss()
            array[index] = original - step
            down = loss()
            array[index] = original
            grad[index] = (up - down) / (2 * step)
        grads.append(grad)
    return grads


@pytest.mark.parametrize("kind", ["childsum", "binary"])
def test_reference_outputs(kind):
    inputs, children, levels, mask = problem(kind)
    layer = make_layer(kind, return_cells=True)
    h, c = (numpy(out) for out in layer(inputs.astype("float32"), children, levels, mask=mask))
    want_h, want_c = reference(kind, layer.get_weights(), inputs, children, mask)
    np.testing.assert_allclose(h, want_h, atol=1e-5)
    np.testing.assert_allclose(c, want_c, atol=1e-5)
    assert np.all(h[~mask] == 0) and np.abs(want_h[mask]).min() > 0
    # Masked nodes are absent: an internal node, and the only child of a node.
    masked = mask.copy()
    masked[0, 5] = masked[2, 0] = False
    h = numpy(layer(inputs.astype("float32"), children, levels, mask=masked)[0])
    np.testing.assert_allclose(h, reference(kind, layer.get_weights(), inputs, children,
                                            masked)[0], atol=1e-5)
    assert np.all(h[0, 5] == 0) and np.all(h[0, 3] != 0)


def test_without_a_mask_padded_nodes_output_zeros():
    inputs, children, levels, mask = problem("childsum")
    layer = make_layer("childsum")
    h = numpy(layer(inputs.astype("float32"), children, levels))
    np.testing.assert_allclose(h, numpy(layer(inputs, children, levels, mask=mask)), atol=1e-6)
    assert np.all(h[~mask] == 0)


@pytest.mark.parametrize("chunk", [None, 1, 3])
@pytest.mark.parametrize("kind", ["childsum", "binary"])
def test_reference_gradients(kind, chunk, monkeypatch):
    """Outputs and gradients in float64, with a masked internal node and a masked only
    child; on JAX also with chunks of 1 and 3 rows (`jax_tree_levels.CHUNK`: heights cut
    into several chunks, one a partial one)."""
    if chunk is not None:
        if keras.backend.backend() != "jax":
            pytest.skip("the chunks are the JAX loop's (its run of this file checks them)")
        from seqtasks.layers import jax_tree_levels

        monkeypatch.setattr(jax_tree_levels, "CHUNK", chunk)
    inputs, children, levels, mask = problem(kind, seed=2)
    mask = mask.copy()
    mask[0, 5] = mask[2, 0] = False
    layer = make_layer(kind, dtype="float64", seed=3)
    h, got = outputs_and_gradients(layer, inputs, children, levels, mask)
    assert h.dtype == np.float64
    weights = layer.get_weights()
    # Not tighter: Keras 3.15's `ops.tanh` on JAX computes float64 inputs in float32.
    np.testing.assert_allclose(h, reference(kind, weights, inputs, children, mask)[0],
                               atol=1e-6)
    want = finite_difference_gradients(kind, weights, inputs, children, mask)
    for name, g, w in zip(["kernel", "recurrent_kernel", "bias", "inputs"], got, want):
        np.testing.assert_allclose(g, w, atol=1e-5, rtol=1e-5, err_msg=name)
    assert np.all(got[-1][~mask] == 0) and np.abs(got[-1][mask]).min() > 0


@pytest.mark.parametrize("kind", ["childsum", "binary"])
def test_padded_levels_and_nodes_change_nothing(kind):
    """Padding (more heights, wider levels, more nodes and children columns, as the JAX
    batches have) gives the reference's states (on JAX the empty heights are skipped)."""
    inputs, children, levels, mask = problem(kind)
    layer = make_layer(kind)
    extra_children = 0 if kind == "binary" else 3
    padded = [np.pad(inputs, ((0, 0), (0, 5), (0, 0)), constant_values=1e4),
              np.pad(children, ((0, 0), (0, 5), (0, extra_children)), constant_values=-1),
              np.pad(levels, ((0, 0), (0, 4), (0, 13)), constant_values=-1),
              np.pad(mask, ((0, 0), (0, 5)))]
    h = numpy(layer(padded[0].astype("float32"), *padded[1:3], mask=padded[3]))
    want = reference(kind, layer.get_weights(), inputs, children, mask)[0]
    np.testing.assert_allclose(h[:, :inputs.shape[1]], want, atol=1e-5)
    assert np.all(h[:, inputs.shape[1]:] == 0)


def test_binary_takes_one_column_of_children():
    inputs, children, levels, mask = problem("binary")
    layer = make_layer("binary")
    chains = [parse_tree("(1 (2 (3 (0 a))))"), parse_tree("(1 b)")]
    batch = encode_trees(chains, lambda word: 1)
    assert batch.children.shape[-1] == 1
    x = inputs[:2, :4]
    h = numpy(layer(x, batch.children, batch.levels, mask=batch.node_mask))
    want = reference("binary", layer.get_weights(), x,
                     np.pad(batch.children, ((0, 0), (0, 0), (0, 1)), constant_values=-1),
                     batch.node_mask)[0]
    np.testing.assert_allclose(h, want, atol=1e-5)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.function")
@pytest.mark.parametrize("kind, arity", [("childsum", None), ("binary", 2)])
def test_tf_function_with_unknown_sizes(kind, arity):
    import tensorflow as tf

    layer = make_layer(kind)
    spec = [tf.TensorSpec((None, None, FEATURES), "float32"),
            tf.TensorSpec((None, None, arity), "int32"),
            tf.TensorSpec((None, None, None), "int32"), tf.TensorSpec((None, None), "bool")]

    @tf.function(input_signature=spec)
    def outputs_and_gradient(x, children, levels, mask):
        with tf.GradientTape() as tape:
            tape.watch(x)
            h = layer(x, children, levels, mask=mask)
            loss = tf.reduce_sum(h)
        return h, tape.gradient(loss, x)

    # A second batch of other sizes runs through the same trace.
    for inputs, children, levels, mask in (problem(kind), problem(kind, 1, BINARY_TREES[1:])):
        h, grad = outputs_and_gradient(inputs.astype("float32"), children, levels, mask)
        want = reference(kind, layer.get_weights(), inputs, children, mask)[0]
        np.testing.assert_allclose(numpy(h), want, atol=1e-5)
        assert np.all(numpy(grad)[~mask] == 0)
    assert outputs_and_gradient.experimental_get_tracing_count() == 1


def tree_model(kind):
    x = keras.Input((None, FEATURES))
    children = keras.Input((None, 2), dtype="int32")
    levels = keras.Input((None, None), dtype="int32")
    mask = keras.Input((None,), dtype="bool")
    h = TreeLSTM(UNITS, kind=kind)(x, children, levels, mask=mask)
    return keras.Model([x, children, levels, mask], keras.layers.Dense(2)(h))


@pytest.mark.parametrize("kind", ["childsum", "binary"])
def test_saved_and_reloaded_model_gives_equal_outputs(kind, tmp_path):
    model = tree_model(kind)
    inputs, children, levels, mask = problem("binary")
    args = [inputs.astype("float32"), children, levels, mask]
    path = tmp_path / "tree.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(numpy(loaded(args)), numpy(model(args)), atol=1e-6)
    layer = loaded.layers[-2]
    assert isinstance(layer, TreeLSTM) and layer.kind == kind


def test_config_round_trip():
    layer = TreeLSTM(5, kind="binary", return_cells=True, unit_forget_bias=False,
                     kernel_regularizer="l2")
    config = layer.get_config()
    assert TreeLSTM.from_config(config).get_config() == config
    assert config["kind"] == "binary" and config["units"] == 5 and config["return_cells"]


def test_weights_follow_the_lstm_layout():
    childsum, binary = make_layer("childsum"), make_layer("binary")
    assert [tuple(w.shape) for w in childsum.weights] == [(2, 8), (2, 8), (8,)]
    assert [tuple(w.shape) for w in binary.weights] == [(2, 8), (4, 10), (8,)]
    assert [w.name for w in binary.weights] == ["kernel", "recurrent_kernel", "bias"]
    fresh = TreeLSTM(2)
    fresh.build((None, None, 5), (None, None, 2), (None, None, None))
    assert numpy(fresh.bias).tolist() == [0, 0, 1, 1, 0, 0, 0, 0]


def test_bad_arguments():
    with pytest.raises(ConfigError, match="kind must be one of childsum, binary"):
        TreeLSTM(4, kind="nary")
    with pytest.raises(ConfigError, match="units"):
        TreeLSTM(0)
    batch = encode_trees([TERNARY], lambda word: 1)
    with pytest.raises(ConfigError, match=r"children of shape \(1, 5, 3\)"):
        TreeLSTM(4, kind="binary")(np.zeros((1, 5, 2)), batch.children, batch.levels)
