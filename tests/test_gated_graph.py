"""The gated graph layer against a plain NumPy loop over edges and steps, its gradients
against finite differences, unknown shapes in a TensorFlow graph, its config and saving;
on JAX: KERAS_BACKEND=jax JAX_ENABLE_X64=1 pytest tests/test_gated_graph.py."""


import keras
import numpy as np
import pytest
from keras import ops

from seqtasks.errors import ConfigError
from seqtasks.layers.gated_graph import GatedGraph

UNITS, FEATURES, EDGE_TYPES, STEPS = 4, 3, 3, 3
PAD = [-1, -1, -1]


def graphs():
    """A batch of three graphs padded to 5 nodes and 6 edges: 5 nodes with typed edges, a
    self-loop and a repeated edge; 3 nodes with one edge to a padded node (ignored); one
    node and no edge. Padded nodes have large features, which must take no part."""
    rng = np.random.default_rng(0)
    sizes = [5, 3, 1]
    mask = np.arange(5)[None] < np.array(sizes)[:, None]
    nodes = rng.normal(size=(3, 5, FEATURES)).astype("float32")
    nodes[~mask] = 1e3
    edges = np.array([
        [[0, 1, 0], [1, 2, 1], [2, 0, 2], [3, 3, 1], [4, 1, 0], [4, 1, 0]],
        [[0, 2, 2], [2, 1, 0], [1, 4, 1], PAD, PAD, PAD],
        [PAD] * 6,
    ], dtype="int32")
    return nodes, edges, mask


def make_layer(direction="both", dtype="float32", seed=1, **kwargs):
    layer = GatedGraph(UNITS, EDGE_TYPES, STEPS, direction=direction, dtype=dtype, **kwargs)
    layer.build((None, None, FEATURES), (None, None, 3))
    rng = np.random.default_rng(seed)
    layer.set_weights([0.5 * rng.normal(size=w.shape) for w in layer.get_weights()])
    return layer


def numpy(x):
    return ops.convert_to_numpy(x)


def compiled(function):
    """`function`, jit-compiled on JAX (one compilation, not one per operation)."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(function)
    return function


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def gru_step(x, h, kernel, recurrent_kernel, bias):
    """One step of a Keras GRU with ``reset_after=True`` (gate order z, r, h)."""
    u = h.shape[-1]
    xs, hs = x @ kernel + bias[0], h @ recurrent_kernel + bias[1]
    z = sigmoid(xs[:, :u] + hs[:, :u])
    r = sigmoid(xs[:, u:2 * u] + hs[:, u:2 * u])
    candidate = np.tanh(xs[:, 2 * u:] + r * hs[:, 2 * u:])
    return z * h + (1 - z) * candidate


def reference(layer, nodes, edges, mask, weights=None):
    """The layer's output computed graph by graph, edge by edge, in float64, with the
    layer's weights or `weights` (a list of arrays in the same order)."""
    edge_kernel, edge_bias, kernel, recurrent_kernel, bias = [
        np.asarray(w, "float64") for w in weights or layer.get_weights()]
    count = nodes.shape[1]
    outputs = []
    for graph in range(len(nodes)):
        real = mask[graph]
        h = np.zeros((count, UNITS))
        h[:, :FEATURES] = nodes[graph]
        h[~real] = 0
        kept = [(s, t, k) for s, t, k in edges[graph] if min(s, t, k) >= 0 and real[s] and real[t]]
        for _ in range(layer.steps):
            received = np.zeros_like(h)
            for s, t, k in kept:
                received[t] += h[s] @ edge_kernel[k] + edge_bias[k]
                if layer.direction == "both":
                    received[s] += h[t] @ edge_kernel[EDGE_TYPES + k] + edge_bias[EDGE_TYPES + k]
            h = gru_step(received, h, kernel, recurrent_kernel, bias)
            h[~real] = 0
        outputs.append(h)
    return np.stack(outputs)


@pytest.mark.parametrize("direction", ["both", "forward"])
def test_numpy_reference_matches_with_padding_and_typed_edges(direction):
    layer = make_layer(direction)
    nodes, edges, mask = graphs()
    assert layer.edge_kernel.shape == ((2 if direction == "both" else 1) * EDGE_TYPES,
                                       UNITS, UNITS)
    got = numpy(compiled(lambda n, e, m: layer(n, e, mask=m))(nodes, edges, mask))
    expected = reference(layer, nodes, edges, mask)
    assert got.shape == (3, 5, UNITS)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)
    assert (got[~mask] == 0).all()
    # The graph with no edges is a GRU step fed zeros, `steps` times: still moves.
    assert np.abs(got[2, 0] - np.pad(nodes[2, 0], (0, UNITS - FEATURES))).max() > 1e-3


def test_numpy_without_a_mask_every_node_is_real_and_out_of_range_rows_are_padding():
    layer = make_layer()
    nodes, edges, _ = graphs()
    full = np.ones(nodes.shape[:2], bool)
    # Out-of-range sources, targets and types send nothing, like -1 rows.
    noisy = edges.copy()
    noisy[2, :3] = [[0, 5, 0], [7, 0, 1], [0, 0, EDGE_TYPES]]
    got = numpy(compiled(lambda n, e: layer(n, e))(nodes, noisy))
    np.testing.assert_allclose(got, reference(layer, nodes, edges, full), atol=1e-5, rtol=1e-5)


def test_numpy_batch_without_edges_and_fewer_features_than_units():
    layer = make_layer("forward")
    nodes, _, mask = graphs()
    edges = np.zeros((3, 0, 3), "int32")
    got = numpy(compiled(lambda n, e, m: layer(n, e, mask=m))(nodes, edges, mask))
    np.testing.assert_allclose(got, reference(layer, nodes, edges, mask), atol=1e-5, rtol=1e-5)


def gradient(layer, loss, edges, mask):
    """A function of ``[*weights, nodes]`` (arrays, weights in `trainable_weights` order):
    the gradients (NumPy arrays, same order) of ``loss(layer output)`` for those values."""
    fixed = [numpy(v) for v in layer.non_trainable_variables]  # the GRU's seed state

    def value(weights, nodes):
        states, _ = layer.stateless_call(weights, fixed, nodes, edges, mask=mask)
        return loss(states)

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def grads(values):
            tensors = [tf.constant(v) for v in values]
            with tf.GradientTape() as tape:
                tape.watch(tensors)
                result = value(tensors[:-1], tensors[-1])
            # The bias's gradient comes from a gather: IndexedSlices, made dense here.
            return [np.asarray(tf.convert_to_tensor(g)) for g in tape.gradient(result, tensors)]

        return grads
    if backend == "jax":
        import jax

        jitted = jax.jit(jax.grad(value, argnums=(0, 1)))

        def grads(values):
            weight_grads, nodes_grad = jitted(values[:-1], values[-1])
            return [np.asarray(g) for g in [*weight_grads, nodes_grad]]

        return grads
    pytest.skip(f"no gradient helper for {backend}")  # pragma: no cover


def test_gradients_match_finite_differences_in_float64():
    layer = make_layer(dtype="float64")
    nodes, edges, mask = graphs()
    weighting = np.random.default_rng(2).normal(size=(3, 5, UNITS))
    values = [*layer.get_weights(), nodes.astype("float64")]
    grads = gradient(layer, lambda states: ops.sum(states * weighting), edges, mask)(values)
    assert all(np.isfinite(g).all() for g in grads)
    assert (grads[-1][~mask] == 0).all()  # padded nodes' features take no part
    # One random direction per weight and for the nodes: the central difference along it
    # of the same loss on the NumPy reference (float64 throughout) against the
    # gradient's projection on it.
    rng = np.random.default_rng(3)
    eps = 1e-6
    for index, grad in enumerate(grads):
        direction = rng.normal(size=grad.shape)

        def along(scale, index=index, direction=direction):
            moved = list(values)
            moved[index] = values[index] + scale * direction
            return np.sum(reference(layer, moved[-1], edges, mask, moved[:-1]) * weighting)

        finite = (along(eps) - along(-eps)) / (2 * eps)
        np.testing.assert_allclose(np.sum(grad * direction), finite, rtol=1e-6, atol=1e-6,
                                   err_msg=f"gradient {index}")
        assert abs(finite) > 1e-3, index  # every weight takes part


def test_unknown_batch_nodes_and_edges_in_a_tensorflow_graph():
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("a TensorFlow graph needs the TensorFlow backend")
    layer = make_layer()

    @tf.function(input_signature=[tf.TensorSpec((None, None, FEATURES), "float32"),
                                  tf.TensorSpec((None, None, 3), "int32"),
                                  tf.TensorSpec((None, None), "bool")])
    def propagate(nodes, edges, mask):
        return layer(nodes, edges, mask=mask)

    nodes, edges, mask = graphs()
    for n, e, m in [(nodes, edges, mask), (nodes[1:, :3], edges[1:, :2], mask[1:, :3])]:
        np.testing.assert_allclose(numpy(propagate(n, e, m)), reference(layer, n, e, m),
                                   atol=1e-5, rtol=1e-5)


def test_functional_model_saves_and_loads_in_safe_mode(tmp_path):
    nodes_in = keras.Input((None, FEATURES))
    edges_in = keras.Input((None, 3), dtype="int32")
    mask_in = keras.Input((None,), dtype="bool")
    states = GatedGraph(UNITS, EDGE_TYPES, 2, name="ggnn")(nodes_in, edges_in, mask=mask_in)
    model = keras.Model([nodes_in, edges_in, mask_in], keras.layers.Dense(2)(states))
    nodes, edges, mask = graphs()
    expected = model.predict([nodes, edges, mask], verbose=0)
    path = tmp_path / "ggnn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.get_layer("ggnn"), GatedGraph)
    np.testing.assert_array_equal(loaded.predict([nodes, edges, mask], verbose=0), expected)


def test_config_round_trip():
    layer = GatedGraph(6, 2, 4, direction="forward", kernel_initializer="ones",
                       bias_initializer="ones", name="graph")
    again = GatedGraph.from_config(layer.get_config())
    assert (again.units, again.edge_types, again.steps, again.direction, again.name) == (
        6, 2, 4, "forward", "graph")
    again.build((None, None, 6), (None, None, 3))
    np.testing.assert_array_equal(numpy(again.edge_kernel), np.ones((2, 6, 6)))
    np.testing.assert_array_equal(numpy(again.edge_bias), np.ones((2, 6)))


def test_arguments_and_shapes_are_checked_and_named():
    for name, position in (("units", 0), ("edge_types", 1), ("steps", 2)):
        for bad in (0, -2, True, 2.5, "3"):
            args = [4, 2, 3]
            args[position] = bad
            with pytest.raises(ConfigError, match=rf"{name} must .*got {bad!r}"):
                GatedGraph(*args)
    with pytest.raises(ConfigError, match="direction.*'backward'"):
        GatedGraph(4, 2, 3, direction="backward")
    edges = np.zeros((1, 1, 3), "int32")
    with pytest.raises(ValueError, match=r"nodes .*units=4.*\(1, 2, 5\)"):
        GatedGraph(4, 2, 3)(np.ones((1, 2, 5), "float32"), edges)
    with pytest.raises(ValueError, match=r"edges .*\(1, 1, 2\)"):
        GatedGraph(4, 2, 3)(np.ones((1, 2, 3), "float32"), edges[..., :2])
