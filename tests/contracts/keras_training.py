"""Where each promise of solutions/keras_training.py is exercised (see tests/contracts/promises.py).

set_determinism and to_arrays are given helpers ("not graded"): their promises are exercised
through train and evaluate, which call them; what no graded function reaches is n/a.
"""

CONTRACTS = {
    # given helper, called by train: two runs from different global seeds must agree
    "set_determinism": {
        "call": [
            "hidden:test_train_seeded_runs_are_reproducible_with_validation_split",
            "mistake:set_determinism_missing",
        ],
    },
    # given helper, called by train and evaluate (float64 X into a float32 model, float32 X and
    # int32 y into a float64 one)
    "to_arrays": {
        "call": [
            "hidden:test_evaluate_at_fixed_weights_equals_numpy",
            "hidden:test_trained_network_reaches_95_percent_on_held_out_digits",
        ],
        "option:y": [
            "n/a: every caller (train, evaluate) passes y; to_arrays(X) alone is called by no graded "
            "function, and the module tells students the helpers are not graded"
        ],
        "input:dtype": [
            "hidden:test_evaluate_at_fixed_weights_equals_numpy",
            "hidden:test_trained_network_reaches_95_percent_on_held_out_digits",
        ],
    },
    # layers and sizes (public), probabilities, float32 weights, the seed incl. 0 (hidden)
    "build_model": {
        "call": [
            "public:test_build_model_layers",
            "hidden:test_model_outputs_softmax_probabilities",
            "mistake:linear_last_layer",
        ],
        "option:input_dim": ["public:test_build_model_layers"],
        "option:hidden": ["public:test_build_model_layers"],
        "option:num_classes": ["public:test_build_model_layers"],
        "option:seed": [
            "hidden:test_model_outputs_softmax_probabilities",
            "mistake:build_seed_not_applied",
            "mistake:build_seed_zero_ignored",
        ],
        "input:dtype": ["hidden:test_model_outputs_softmax_probabilities"],
    },
    # the compile configuration (public); the weights compared before and after
    "compile_model": {
        "call": [
            "public:test_compile_model_adam_sparse_ce_from_probabilities",
            "mistake:from_logits_true",
            "mistake:categorical_instead_of_sparse",
            "mistake:sgd_instead_of_adam",
        ],
        "option:lr": ["public:test_compile_model_adam_sparse_ce_from_probabilities", "mistake:lr_ignored"],
        "effect:no_mutation": ["public:test_compile_model_adam_sparse_ce_from_probabilities"],
    },
    # two full-batch Adam steps against numpy; the step count per epoch; the shuffle; the split
    "train": {
        "call": [
            "hidden:test_train_two_adam_steps_equal_numpy",
            "mistake:train_returns_history_object",
            "hidden:test_trained_network_reaches_95_percent_on_held_out_digits",
        ],
        "option:epochs": ["hidden:test_train_two_adam_steps_equal_numpy", "mistake:epochs_ignored"],
        "option:batch_size": [
            "hidden:test_train_shuffles_and_uses_batch_size",
            "hidden:test_train_seeded_runs_are_reproducible_with_validation_split",
            "mistake:batch_size_ignored",
        ],
        "option:seed": [
            "hidden:test_train_seeded_runs_are_reproducible_with_validation_split",
            "mistake:set_determinism_missing",
        ],
        "option:validation_split": [
            "hidden:test_train_seeded_runs_are_reproducible_with_validation_split",
            "mistake:validation_split_ignored",
        ],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified", "mistake:x_and_y_shuffled_separately_in_place"],
        "effect:shuffle": ["hidden:test_train_shuffles_and_uses_batch_size", "mistake:not_shuffled"],
    },
    # at fixed float64 weights against numpy (X float32, y int32), weights compared afterwards
    "evaluate": {
        "call": [
            "hidden:test_evaluate_at_fixed_weights_equals_numpy",
            "mistake:evaluate_keys_swapped",
            "mistake:evaluate_accuracy_as_percentage",
        ],
        "effect:no_mutation": [
            "hidden:test_evaluate_at_fixed_weights_equals_numpy",
            "hidden:test_inputs_left_unmodified",
        ],
    },
}
