"""Task 4 (autograd.py): which check exercises each promise of the reference's docstrings.

unbroadcast, graph, init_mlp, train_mlp and predict are given code; the students' ops, backward()
and the network helpers run through them, and test_tensor_and_given_helpers compares them with the
reference on the student's module.
"""

CONTRACTS = {
    "unbroadcast": {
        "call": [
            "hidden:test_tensor_and_given_helpers",
            "hidden:test_binary_ops_broadcasting",
            "mistake:missing_unbroadcast_mul",
            "mistake:missing_unbroadcast_add_by_hand",
        ],
        "effect:no_mutation": ["hidden:test_tensor_and_given_helpers"],
        "effect:copy": ["hidden:test_tensor_and_given_helpers"],
        "raises:ValueError": ["hidden:test_tensor_and_given_helpers"],
    },
    "Tensor": {
        # every op at a point (public), against the reference with broadcasting (hidden), whole graphs
        "call": [
            "public:test_binary_ops_at_a_point",
            "public:test_unary_ops_at_a_point",
            "public:test_diamond_graph",
            "public:test_backward_twice_and_zero_grad",
            "hidden:test_binary_ops_broadcasting",
            "hidden:test_matmul_shapes",
            "hidden:test_unary_ops_and_sum",
            "hidden:test_shared_nodes_accumulate",
            "hidden:test_topological_order_and_long_chain",
            "hidden:test_random_expression_graphs",
            "mistake:assign_instead_of_accumulate",
            "mistake:closures_in_forward_order",
            "mistake:recursive_topological_sort",
            "mistake:topological_order_without_visited_check",
            "mistake:tanh_derivative_of_input",
            "mistake:sigmoid_with_tanh_derivative",
            "mistake:mul_grad_own_operand",
            "mistake:matmul_grad_a_transposed",
        ],
        # constants (requires_grad=False) get no gradient; results require grad iff an input does
        "option:requires_grad": ["hidden:test_tensor_and_given_helpers", "hidden:test_binary_ops_broadcasting"],
        "option:label": ["hidden:test_tensor_and_given_helpers"],
        "option:sum.axis": ["hidden:test_unary_ops_and_sum", "mistake:sum_axes_not_reinserted"],
        "option:sum.keepdims": ["hidden:test_unary_ops_and_sum"],
        "option:mean.axis": ["hidden:test_binary_ops_broadcasting", "hidden:test_random_expression_graphs"],
        "option:mean.keepdims": ["hidden:test_tensor_and_given_helpers"],
        # backward(g) on non-scalar outputs, backward() on scalars
        "option:backward.grad": [
            "hidden:test_binary_ops_broadcasting",
            "hidden:test_shared_nodes_accumulate",
            "public:test_lecture_example",
        ],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
        "effect:copy": ["hidden:test_tensor_and_given_helpers"],
    },
    "graph": {
        "call": ["hidden:test_graph_nodes_and_edges"],
        "option:include_values": ["hidden:test_tensor_and_given_helpers"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
    "softmax_cross_entropy": {
        "call": [
            "public:test_softmax_cross_entropy_handout",
            "hidden:test_softmax_cross_entropy_random_and_extreme",
            "mistake:naive_softmax_no_max_shift",
            "mistake:softmax_sum_instead_of_mean",
            "mistake:lse_shift_in_one_term",
        ],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
    "init_mlp": {
        "call": ["hidden:test_tensor_and_given_helpers"],
        "option:seed": ["hidden:test_tensor_and_given_helpers"],
    },
    "mlp_forward": {
        "call": [
            "hidden:test_mlp_forward_and_train_step",
            "mistake:activation_on_output_layer",
            "mistake:mlp_forward_without_bias",
        ],
        # sigmoid, tanh and relu networks; another activation than the one asked for is named
        "option:activation": ["hidden:test_mlp_forward_and_train_step", "mistake:mlp_forward_ignores_activation"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
    "train_step": {
        "call": [
            "hidden:test_mlp_forward_and_train_step",
            "mistake:train_step_without_zero_grad",
            "mistake:train_step_returns_loss_after_update",
            "mistake:train_step_zero_grad_after_backward",
        ],
        "option:activation": ["hidden:test_mlp_forward_and_train_step"],
        # float64 X, int64 labels y (as the docstring asks)
        "input:dtype": ["hidden:test_mlp_forward_and_train_step"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
    # train_mlp: one small run (sizes, activation, epochs, lr, batch_size, seed all given, not the
    # defaults) compared with the reference's weights: each option and the per-epoch permutation
    # drawn from default_rng(seed + 1) change them
    "train_mlp": {
        "call": ["hidden:test_tensor_and_given_helpers"],
        "option:sizes": ["hidden:test_tensor_and_given_helpers"],
        "option:activation": ["hidden:test_tensor_and_given_helpers"],
        "option:epochs": ["hidden:test_tensor_and_given_helpers"],
        "option:lr": ["hidden:test_tensor_and_given_helpers"],
        "option:batch_size": ["hidden:test_tensor_and_given_helpers"],
        "option:seed": ["hidden:test_tensor_and_given_helpers"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
        "effect:shuffle": ["hidden:test_tensor_and_given_helpers"],
    },
    "predict": {
        "call": ["hidden:test_tensor_and_given_helpers"],
        "option:activation": ["hidden:test_tensor_and_given_helpers"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
}
