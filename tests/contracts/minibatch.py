"""Task 6 (solutions/minibatch.py): each docstring promise and the checks that exercise it.

The models, the loss, ``accuracy``, ``method_name`` and ``compare_methods`` are GIVEN code (the
module docstring: "not graded here"): the student does not write them, so no check grades them;
the checks use them only as the fixtures of ``train`` (``LinearSoftmaxModel``) or not at all.
"""

GIVEN = "n/a: given code, not written by the student and not graded in Task 6 (module docstring)"

CONTRACTS = {
    "softmax_cross_entropy": {"call": [GIVEN], "input:dtype": [GIVEN], "effect:no_mutation": [GIVEN]},
    # the checks build it as the model train() updates; its own promises are the given code's
    "LinearSoftmaxModel": {
        "call": ["public:test_one_full_batch_step_is_the_gradient", "hidden:test_train_matches_reference_run"],
        "option:seed": [GIVEN],
        "option:weight_scale": [GIVEN],
        "option:logits.params": [GIVEN],
        "option:loss_and_grads.params": ["public:test_one_full_batch_step_is_the_gradient"],
        "option:loss.params": ["public:test_one_full_batch_step_is_the_gradient"],
        "option:predict.params": [GIVEN],
        "effect:no_mutation": [GIVEN],
    },
    "TwoLayerNet": {
        "call": [GIVEN],
        "option:seed": [GIVEN],
        "option:activation": [GIVEN],
        "option:logits.params": [GIVEN],
        "option:loss_and_grads.params": [GIVEN],
        "option:loss.params": [GIVEN],
        "option:predict.params": [GIVEN],
        "effect:no_mutation": [GIVEN],
    },
    "accuracy": {"call": [GIVEN], "option:params": [GIVEN]},
    "method_name": {"call": [GIVEN]},
    "compare_methods": {
        "call": [GIVEN],
        "option:seed": [GIVEN],
        "option:hidden": [GIVEN],
        "input:dtype": [GIVEN],
        "effect:no_mutation": [GIVEN],
        "effect:shuffle": [GIVEN],
    },
    # batch_indices: the hand case, every (N, B, shuffle, seed), a Generator as seed, seed None / 0
    "batch_indices": {
        "call": [
            "public:test_batch_indices_ten_samples_batch_four",
            "hidden:test_every_sample_once_per_epoch",
            "mistake:last_partial_batch_dropped",
        ],
        "option:shuffle": [
            "public:test_batch_indices_ten_samples_batch_four",
            "hidden:test_every_sample_once_per_epoch",
            "mistake:shuffle_ignored",
            "mistake:shuffle_always_on",
        ],
        "option:seed": [
            "public:test_batch_indices_ten_samples_batch_four",
            "hidden:test_batch_contracts",
            "mistake:shuffle_not_seeded",
            "mistake:seed_zero_as_none",
        ],
        "effect:shuffle": [
            "public:test_batch_indices_ten_samples_batch_four",
            "hidden:test_every_sample_once_per_epoch",
            "hidden:test_batch_contracts",
            "mistake:shuffle_ignored",
        ],
    },
    "iterate_minibatches": {
        "call": ["public:test_iterate_minibatches_ten_samples", "hidden:test_every_sample_once_per_epoch"],
        "option:shuffle": ["hidden:test_every_sample_once_per_epoch", "mistake:shuffle_always_on"],
        "option:seed": [
            "hidden:test_every_sample_once_per_epoch",
            "hidden:test_batch_contracts",
            "mistake:x_and_y_different_permutations",
        ],
        # int32 X comes back float64, float labels keep their values (y's dtype)
        "input:dtype": ["hidden:test_batch_contracts", "mistake:labels_cast_to_int"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
        "effect:shuffle": [
            "hidden:test_every_sample_once_per_epoch",
            "hidden:test_batch_contracts",
            "mistake:x_and_y_different_permutations",
        ],
        # writing into the yielded batches (a probe in the worker) must not change X or y
        "effect:copy": ["hidden:test_batch_contracts", "mistake:batches_are_views"],
        # raised when called, not at the first next()
        "raises:ValueError": ["hidden:test_batch_contracts", "mistake:arguments_checked_lazily"],
    },
    "num_updates_per_epoch": {
        "call": ["public:test_num_updates_per_epoch_hand_cases", "mistake:floor_updates_per_epoch"]
    },
    "train": {
        "call": [
            "public:test_one_full_batch_step_is_the_gradient",
            "hidden:test_train_matches_reference_run",
            "hidden:test_digits_held_out_accuracy",
            "mistake:step_divided_by_batch_size",
            "mistake:sum_over_batch_not_mean",
            "mistake:history_from_last_batch_loss",
            "mistake:initial_loss_missing",
        ],
        "option:seed": [
            "hidden:test_train_update_order",
            "mistake:same_permutation_every_epoch",
            "mistake:seed_zero_as_none",
        ],
        "option:shuffle": ["hidden:test_train_update_order", "mistake:shuffle_always_on"],
        "option:X_val": ["hidden:test_early_stopping"],
        "option:y_val": ["hidden:test_early_stopping"],
        "option:patience": [
            "hidden:test_early_stopping",
            "mistake:patience_off_by_one",
            "mistake:patience_one_epoch_early",
            "mistake:ties_count_as_improvement",
        ],
        "effect:no_mutation": [
            "hidden:test_train_matches_reference_run",
            "hidden:test_inputs_left_unmodified",
            "mistake:initial_params_not_copied",
        ],
        "effect:shuffle": ["hidden:test_train_update_order", "mistake:order_drawn_once"],
        "effect:copy": [
            "hidden:test_train_matches_reference_run",
            "hidden:test_early_stopping",
            "mistake:initial_params_not_copied",
            "mistake:best_params_not_copied",
        ],
        "raises:FloatingPointError": [
            "hidden:test_nan_stop",
            "mistake:no_nan_stop",
            "mistake:nan_stop_only_at_epoch_end",
        ],
    },
    "standardize_fit": {
        "call": [
            "public:test_standardize_hand_case",
            "hidden:test_standardize_uses_training_statistics",
            "mistake:standardize_ddof_one",
            "mistake:standardize_constant_by_std_zero",
        ],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
    "standardize_apply": {
        "call": [
            "public:test_standardize_hand_case",
            "hidden:test_standardize_uses_training_statistics",
            "mistake:standardize_with_test_stats",
            "mistake:standardize_epsilon",
        ],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
    # non-default n, steps, lr (each ignored argument named), then the defaults
    "overfit_small_batch": {
        "call": ["hidden:test_overfit_small_batch"],
        "option:n": ["hidden:test_overfit_small_batch", "mistake:overfit_on_all_rows"],
        "option:steps": ["hidden:test_overfit_small_batch"],
        "option:lr": ["hidden:test_overfit_small_batch", "mistake:overfit_lr_ignored"],
        "effect:no_mutation": ["hidden:test_overfit_small_batch", "hidden:test_inputs_left_unmodified"],
        "effect:copy": ["hidden:test_overfit_small_batch", "mistake:overfit_changes_model"],
    },
}
