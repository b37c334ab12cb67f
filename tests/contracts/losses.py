"""Which checks exercise each promise of solutions/losses.py (see tests/test_contracts.py).

Array-likes: test_array_like_inputs sends every function Python lists and integer arrays (the
module docstring: "array-likes (lists, int arrays) are accepted and converted to float64 copies").
No mutation: the worker observes every call's array arguments; test_inputs_left_unmodified scores it.
ValueError: mismatched shapes (test_shapes_must_match, test_mse_refuses_broadcast) and bad labels
(test_bad_labels_refused).
"""

UNMODIFIED = ["hidden:test_inputs_left_unmodified"]
LISTS = ["hidden:test_array_like_inputs"]
SHAPES = ["hidden:test_shapes_must_match"]

CONTRACTS = {
    # given helper, graded through the label checks (it is what refuses bad labels)
    "one_hot": {
        "call": ["hidden:test_array_like_inputs", "hidden:test_bad_labels_refused"],
        "input:labels:array_like": LISTS,
        "effect:no_mutation": UNMODIFIED,
        "raises:ValueError": ["hidden:test_bad_labels_refused"],
    },
    "mse": {
        "call": ["public:test_mse_handout", "hidden:test_mse_vs_reference", "mistake:mse_half_factor"],
        "input:y_pred:array_like": LISTS,
        "input:y_true:array_like": LISTS,
        "effect:no_mutation": UNMODIFIED,
        "raises:ValueError": ["public:test_mse_refuses_broadcast", *SHAPES, "mistake:mse_silent_broadcast"],
    },
    "mse_grad": {
        "call": [
            "public:test_mse_handout",
            "hidden:test_mse_vs_reference",
            "hidden:test_gradients_vs_finite_differences",
        ],
        "input:y_pred:array_like": [*LISTS, "mistake:mse_grad_lists_not_converted"],
        "input:y_true:array_like": [*LISTS, "mistake:mse_grad_lists_not_converted"],
        "effect:no_mutation": UNMODIFIED,
        "raises:ValueError": SHAPES,
    },
    "binary_cross_entropy": {
        "call": [
            "public:test_bce_handout",
            "public:test_bce_extremes_handout",
            "hidden:test_binary_cross_entropy_vs_reference",
        ],
        "input:p:array_like": LISTS,
        "input:y:array_like": LISTS,
        # p = 0 and 1 are clipped; np.clip(p, ..., out=p) would write into the caller's array
        "effect:no_mutation": [*UNMODIFIED, "mistake:bce_clip_in_place"],
        "raises:ValueError": SHAPES,
    },
    "binary_cross_entropy_grad": {
        "call": [
            "public:test_bce_handout",
            "hidden:test_binary_cross_entropy_vs_reference",
            "hidden:test_gradients_vs_finite_differences",
        ],
        "input:p:array_like": LISTS,
        "input:y:array_like": LISTS,
        "effect:no_mutation": UNMODIFIED,
        "raises:ValueError": [*SHAPES, "mistake:bce_grad_silent_broadcast"],
    },
    "binary_cross_entropy_with_logits": {
        "call": ["public:test_bce_handout", "hidden:test_binary_cross_entropy_vs_reference"],
        "input:z:array_like": LISTS,
        "input:y:array_like": LISTS,
        # "logits (any real numbers)": integer logits, and +-1000
        "input:dtype": [*LISTS, "hidden:test_stable_at_extreme_logits", "public:test_bce_extremes_handout"],
        "effect:no_mutation": UNMODIFIED,
        "raises:ValueError": SHAPES,
    },
    "binary_cross_entropy_with_logits_grad": {
        "call": [
            "public:test_bce_handout",
            "hidden:test_binary_cross_entropy_vs_reference",
            "hidden:test_gradients_vs_finite_differences",
        ],
        "input:z:array_like": LISTS,
        "input:y:array_like": LISTS,
        "effect:no_mutation": UNMODIFIED,
        "raises:ValueError": SHAPES,
    },
    "categorical_cross_entropy": {
        "call": ["public:test_cce_handout", "hidden:test_categorical_vs_reference"],
        "input:p:array_like": LISTS,
        "input:y_onehot:array_like": LISTS,
        "effect:no_mutation": UNMODIFIED,
        "raises:ValueError": SHAPES,
    },
    "categorical_cross_entropy_grad": {
        "call": [
            "public:test_cce_handout",
            "hidden:test_categorical_vs_reference",
            "hidden:test_gradients_vs_finite_differences",
        ],
        "input:p:array_like": LISTS,
        "input:y_onehot:array_like": LISTS,
        "effect:no_mutation": UNMODIFIED,
        "raises:ValueError": SHAPES,
    },
    "softmax": {
        "call": [
            "public:test_softmax_ce_handout",
            "hidden:test_softmax_properties",
            "hidden:test_categorical_vs_reference",
        ],
        "input:z:array_like": LISTS,
        "effect:no_mutation": UNMODIFIED,
    },
    "softmax_cross_entropy": {
        "call": [
            "public:test_softmax_ce_handout",
            "hidden:test_softmax_cross_entropy_properties",
            "hidden:test_categorical_vs_reference",
        ],
        "input:logits:array_like": LISTS,
        "input:labels:array_like": LISTS,
        "effect:no_mutation": UNMODIFIED,
        # labels out of [0, C), of the wrong length or width
        "raises:ValueError": ["hidden:test_bad_labels_refused", "mistake:softmax_ce_labels_indexed"],
    },
    "softmax_cross_entropy_grad": {
        "call": [
            "public:test_softmax_ce_handout",
            "hidden:test_softmax_cross_entropy_properties",
            "hidden:test_gradients_vs_finite_differences",
        ],
        "input:logits:array_like": LISTS,
        "input:labels:array_like": LISTS,
        "effect:no_mutation": UNMODIFIED,
        "raises:ValueError": ["hidden:test_bad_labels_refused"],
    },
}
