"""Which checks exercise each promise of solutions/backprop.py (see tests/test_contracts.py).

Options: every check of forward/deltas/backward runs all four (hidden, output) pairs explicitly;
test_defaults_and_given_helpers calls every function WITHOUT hidden/output (the defaults) and the
given helpers; test_train_options_and_accuracy runs the given train loop with each option and names
the shuffling mistakes (not shuffled, same order every epoch, X and Y shuffled apart).
No mutation: the worker observes every call's array arguments (test_inputs_left_unmodified);
example_221 is checked not to change the module's EXAMPLE_221.
"""

UNMODIFIED = ["hidden:test_inputs_left_unmodified"]
HELPERS = ["hidden:test_defaults_and_given_helpers"]
PAIRS = [
    "hidden:test_forward_matches_reference",
    "hidden:test_deltas_three_layers",
    "hidden:test_backward_matches_reference",
]

CONTRACTS = {
    # given helpers: the student's copies are called directly
    "sigmoid": {"call": HELPERS, "effect:no_mutation": UNMODIFIED},
    "relu": {"call": HELPERS, "effect:no_mutation": UNMODIFIED},
    "softmax": {"call": HELPERS, "effect:no_mutation": UNMODIFIED},
    "activate": {"call": HELPERS, "effect:no_mutation": UNMODIFIED},
    "one_hot": {"call": HELPERS, "input:dtype": HELPERS, "effect:no_mutation": UNMODIFIED},
    "targets": {"call": HELPERS, "input:dtype": HELPERS, "effect:no_mutation": UNMODIFIED},
    # default seed 0, explicit 0 and another seed; seed=0 must not mean "unseeded"
    "init_params": {"call": HELPERS, "option:seed": [*HELPERS, "mistake:init_params_seed_zero_unseeded"]},
    "loss": {
        "call": HELPERS,
        "option:output": HELPERS,
        "option:Z_L": HELPERS,  # with Z_L: finite at logits of +-1000
        "effect:no_mutation": UNMODIFIED,
    },
    "activation_grad": {
        "call": ["public:test_activation_grad_hand_values", "hidden:test_activation_grad_property"],
        "effect:no_mutation": UNMODIFIED,
    },
    "forward": {
        "call": ["public:test_forward_shapes", "hidden:test_forward_matches_reference"],
        "option:hidden": ["hidden:test_forward_matches_reference", *HELPERS, "mistake:forward_ignores_hidden"],
        "option:output": ["hidden:test_forward_matches_reference", *HELPERS, "mistake:output_uses_hidden_activation"],
        "effect:no_mutation": UNMODIFIED,
        # A[0] is a float64 copy of X: observed in the worker by trusted code (np.shares_memory)
        "effect:copy": [*HELPERS, "mistake:forward_no_copy"],
    },
    "output_delta": {
        "call": ["hidden:test_output_delta_sigmoid_mse", "hidden:test_output_delta_softmax_ce"],
        "option:output": ["hidden:test_output_delta_sigmoid_mse", "hidden:test_output_delta_softmax_ce", *HELPERS],
        "input:dtype": ["hidden:test_output_delta_softmax_ce"],  # integer labels (N,) and one-hot (N, C)
        "effect:no_mutation": UNMODIFIED,
    },
    "deltas": {
        "call": ["public:test_backward_shapes", "hidden:test_deltas_three_layers"],
        "option:hidden": ["hidden:test_deltas_three_layers", *HELPERS, "mistake:deltas_hardcoded_sigmoid"],
        "option:output": ["hidden:test_deltas_three_layers", *HELPERS],
        "effect:no_mutation": UNMODIFIED,
    },
    "backward": {
        "call": [
            "public:test_backward_shapes",
            "hidden:test_backward_matches_reference",
            "hidden:test_backward_finite_differences",
        ],
        "option:hidden": ["hidden:test_backward_matches_reference", *HELPERS],
        "option:output": ["hidden:test_backward_matches_reference", *HELPERS],
        "effect:no_mutation": UNMODIFIED,
    },
    "example_221": {
        "call": ["public:test_example_221_forward", "public:test_example_221_backward"],
        "effect:no_mutation": ["hidden:test_train_options_and_accuracy"],  # EXAMPLE_221 read back after the call
    },
    "train_step": {
        "call": ["public:test_example_221_train_step", "hidden:test_train_step_one_step"],
        "option:hidden": ["hidden:test_train_step_one_step", *HELPERS],
        "option:output": ["hidden:test_train_step_one_step", *HELPERS],
        "effect:no_mutation": [*UNMODIFIED, "mistake:train_step_in_place"],
    },
    # the given loop: each option changes the reference run the result is compared with
    "train": {
        "call": ["hidden:test_train_options_and_accuracy"],
        "option:epochs": ["hidden:test_train_options_and_accuracy"],
        "option:batch_size": ["hidden:test_train_options_and_accuracy"],
        "option:lr": ["hidden:test_train_options_and_accuracy"],
        "option:seed": ["hidden:test_train_options_and_accuracy"],
        "option:hidden": ["hidden:test_train_options_and_accuracy"],
        "option:output": ["hidden:test_train_options_and_accuracy"],
        "effect:no_mutation": UNMODIFIED,
        "effect:shuffle": [
            "hidden:test_train_options_and_accuracy",
            "mistake:train_not_shuffled",
            "mistake:train_rng_every_epoch",
            "mistake:train_x_y_shuffled_apart",
        ],
    },
    "accuracy": {
        "call": ["hidden:test_train_options_and_accuracy"],
        "option:hidden": ["hidden:test_train_options_and_accuracy"],
        "input:dtype": ["hidden:test_train_options_and_accuracy"],  # integer labels and one-hot
        "effect:no_mutation": UNMODIFIED,
    },
}
