"""Checks of tree arrays, before a tree is built.

Tree prediction runs in Cython without bounds checks: it starts at node 0, follows child indices until a
leaf and reads the row's value of each node's feature. A file could make it read outside its arrays (a
child index out of range, a feature beyond the row) or loop (a child pointing back). So: every child index
of a split node lies after the node and inside the array, every leaf is marked as one, and every split's
feature is a column the estimator checks each row has (check_tree for scikit-learn's Tree, the checks of
the estimators that hold trees for the features, check_tree_predictor for the boosting's trees).
"""

from __future__ import annotations

import numpy as np

from imbalance_lab.persistence.trust import TREE, TREE_STATE, UntrustedModelError


def is_count(value) -> bool:
    """A whole number (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def n_features(state) -> int | None:
    """An estimator's n_features_in_ if it is a positive whole number."""
    count = state.get("n_features_in_")
    return count if is_count(count) and count >= 1 else None


def _links_problem(left: np.ndarray, right: np.ndarray, internal: np.ndarray) -> str | None:
    """Why the split nodes' children do not all come after them and inside the array (None if they do)."""
    count, index = len(left), np.arange(len(left))
    for side, children in (("left", left), ("right", right)):
        bad = internal & ((children <= index) | (children >= count))
        if bad.any():
            node = int(np.flatnonzero(bad)[0])
            return (f"node {node}'s {side} child is {int(children[node])}: a split's children must come after it "
                    f"and before the end of the {count} nodes")
    return None


def _arguments_problem(arguments) -> str | None:
    """Why a Tree's constructor arguments are not a binary model's (n_features, n_classes, n_outputs)."""
    if not isinstance(arguments, tuple) or len(arguments) != 3:
        return "its arguments must be (n_features, n_classes, n_outputs)"
    features, classes, outputs = arguments
    if not is_count(features) or features < 1 or not is_count(outputs) or outputs < 1:
        return "n_features and n_outputs must be positive integers"
    if not isinstance(classes, np.ndarray) or classes.dtype != np.intp or classes.shape != (outputs,) \
            or (classes < 1).any():
        return "n_classes must hold a positive class count per output"
    if outputs != 1 or classes[0] != 2:
        return f"a binary model's tree has one output of 2 classes, got {outputs} of {classes.tolist()}"
    return None


def _state_problem(state) -> str | None:
    """Why a Tree's state is not node arrays of one output of two classes, with their count and depth."""
    from sklearn.tree._tree import NODE_DTYPE

    if set(state) != set(TREE_STATE):
        return f"its state must hold exactly {', '.join(TREE_STATE)}"
    nodes, values, node_count, max_depth = state["nodes"], state["values"], state["node_count"], state["max_depth"]
    if not isinstance(nodes, np.ndarray) or nodes.dtype != NODE_DTYPE or nodes.ndim != 1 or len(nodes) < 1:
        return "'nodes' must be a non-empty array of scikit-learn's tree nodes"
    if not is_count(node_count) or node_count != len(nodes):
        return f"node_count must be the number of nodes, {len(nodes)}"
    if not is_count(max_depth) or not 0 <= max_depth < len(nodes):
        return "max_depth must be a depth the nodes can reach"
    expected = (len(nodes), 1, 2)  # one output of two classes (_arguments_problem)
    if not isinstance(values, np.ndarray) or values.dtype != np.float64 or values.shape != expected:
        return f"'values' must be a float64 array of shape {expected}"
    return None


def _nodes_problem(nodes: np.ndarray, values: np.ndarray, features: int) -> str | None:
    """Why prediction could read a non-finite number or outside the arrays (None if it cannot)."""
    from sklearn.tree._tree import TREE_LEAF

    floats = [(field, nodes[field]) for field in nodes.dtype.names or () if nodes.dtype[field].kind == "f"]
    for field, array in [*floats, ("value", values.reshape(len(nodes), -1))]:  # split thresholds, leaf values...
        bad = ~np.isfinite(array) if array.ndim == 1 else ~np.isfinite(array).all(axis=1)
        if bad.any():
            return f"node {int(np.flatnonzero(bad)[0])}'s {field} is not finite (NaN or infinite)"
    left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
    leaf = left == TREE_LEAF
    if ((right == TREE_LEAF) != leaf).any():
        return f"node {int(np.flatnonzero((right == TREE_LEAF) != leaf)[0])} has one child only"
    problem = _links_problem(left, right, ~leaf)
    if problem:
        return problem
    bad = ~leaf & ((feature < 0) | (feature >= features))
    if bad.any():
        node = int(np.flatnonzero(bad)[0])
        return f"node {node} splits on feature {int(feature[node])}, outside the tree's {features} features"
    return None


def check_tree(arguments, state) -> None:
    """Refuses (UntrustedModelError) a Tree whose constructor arguments or state do not describe a tree."""
    problem = _arguments_problem(arguments) or _state_problem(state) or \
        _nodes_problem(state["nodes"], state["values"], arguments[0])
    if problem:
        raise UntrustedModelError(f"refusing to load {TREE}: {problem}")


def check_tree_predictor(state) -> str | None:
    """The boosting's tree: node links checked as a Tree's (features against the boosting's count)."""
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    if set(state) != {"nodes", "binned_left_cat_bitsets", "raw_left_cat_bitsets"}:
        return "its state must hold exactly nodes, binned_left_cat_bitsets and raw_left_cat_bitsets"
    nodes = state["nodes"]
    if not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE or nodes.ndim != 1 or not len(nodes):
        return "'nodes' must be a non-empty array of the boosting's tree nodes"
    for key in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
        bitsets = state[key]
        if not isinstance(bitsets, np.ndarray) or bitsets.dtype != np.uint32 or bitsets.ndim != 2 \
                or bitsets.shape[1] != 8:
            return f"{key!r} must be a uint32 array of 8 columns"
    internal = nodes["is_leaf"] == 0
    if (internal & (nodes["is_categorical"] != 0)).any():
        return "categorical splits are not supported in model files"
    problem = _links_problem(nodes["left"].astype(np.int64), nodes["right"].astype(np.int64), internal)
    if problem:
        return problem
    if (internal & (nodes["feature_idx"] < 0)).any():
        return "a split's feature index is negative"
    return None


def check_decision_tree(state) -> str | None:
    from sklearn.tree._tree import Tree

    tree, count = state.get("tree_"), n_features(state)
    if tree is None:
        return None  # unfitted (a setting of an ensemble)
    if not isinstance(tree, Tree) or count is None or tree.n_features != count:
        return "its tree_ must be a tree over its n_features_in_ features"
    if state.get("n_outputs_") != tree.n_outputs:
        return "n_outputs_ must be its tree's number of outputs"
    return None


def check_forest(state) -> str | None:
    """A forest checks each row's width once, then calls its trees without checking (check_input=False)."""
    from sklearn.tree import DecisionTreeClassifier

    trees, count = state.get("estimators_"), n_features(state)
    if trees is None:
        return None
    if not isinstance(trees, list) or not trees or count is None or \
            not all(type(tree) is DecisionTreeClassifier and getattr(tree, "n_features_in_", None) == count
                    for tree in trees):
        return "estimators_ must be decision trees over the forest's n_features_in_ features"
    if state.get("n_estimators") != len(trees):
        return "n_estimators must be the number of its estimators_"
    return None


def check_histogram_boosting(state) -> str | None:
    """Every split of the boosting's trees reads one of its features."""
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    predictors, count = state.get("_predictors"), n_features(state)
    if predictors is None:
        return None
    if state.get("_preprocessor") is not None:
        return "_preprocessor must be None (categorical features are not supported in model files)"
    if not isinstance(predictors, list) or count is None or \
            not all(isinstance(trees, list) and all(isinstance(tree, TreePredictor) for tree in trees)
                    for trees in predictors):
        return "_predictors must be lists of tree predictors and n_features_in_ a positive integer"
    for trees in predictors:
        for tree in trees:
            internal = tree.nodes["is_leaf"] == 0
            if (internal & (tree.nodes["feature_idx"] >= count)).any():
                return f"a tree splits on a feature outside its {count} features"
    return None
