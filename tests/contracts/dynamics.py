"""Task 9 (solutions/dynamics.py): each docstring promise and the checks that exercise it.

``num_layers``, ``mlp_init``, ``softmax_cross_entropy``, ``mlp_loss``, ``mlp_loss_and_grads`` and
``line_loss_and_grad`` are GIVEN code (module docstring: "Given ... Your part: ..."): the student
does not write them and no check grades them; the checks compute with the reference's copies.
"""

GIVEN = "n/a: given code, not written by the student and not graded in Task 9 (module docstring)"

CONTRACTS = {
    "num_layers": {"call": [GIVEN]},
    "mlp_init": {"call": [GIVEN], "option:scheme": [GIVEN], "option:seed": [GIVEN]},
    "softmax_cross_entropy": {"call": [GIVEN], "input:dtype": [GIVEN], "effect:no_mutation": [GIVEN]},
    "mlp_loss": {"call": [GIVEN], "option:activation": [GIVEN]},
    "mlp_loss_and_grads": {"call": [GIVEN], "option:activation": [GIVEN], "effect:no_mutation": [GIVEN]},
    "line_loss_and_grad": {"call": [GIVEN]},
    # every scheme with every other scheme's std, the variance as std, fan_out, Xavier uniform named
    "init_weights": {
        "call": [
            "public:test_init_weights_three_schemes",
            "hidden:test_init_and_layer_gradient_norms",
            "mistake:he_with_one_over_fan_in",
            "mistake:xavier_and_he_swapped",
            "mistake:init_drawn_transposed",
        ],
        # a Generator passed twice (advanced: one draw per call), None and the default
        "option:rng": ["hidden:test_init_and_layer_gradient_norms"],
        "raises:ValueError": ["hidden:test_init_and_layer_gradient_norms", "mistake:unknown_scheme_accepted"],
    },
    "layer_gradient_norms": {
        "call": [
            "hidden:test_init_and_layer_gradient_norms",
            "mistake:norms_output_layer_first",
            "mistake:norms_squared",
            "mistake:norms_include_bias",
        ],
        "option:activation": ["hidden:test_init_and_layer_gradient_norms"],
        # "int labels": y sent as int64 (sigmoid) and int32 (relu)
        "input:dtype": ["hidden:test_init_and_layer_gradient_norms"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
    "l2_loss_and_grads": {
        "call": [
            "public:test_l2_small_network",
            "hidden:test_l2_matches_reference_and_finite_differences",
            "mistake:l2_penalises_biases",
            "mistake:l2_penalty_without_half",
            "mistake:l2_gradient_sign",
        ],
        "option:activation": [
            "public:test_l2_small_network",
            "hidden:test_l2_matches_reference_and_finite_differences",
        ],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
        "raises:ValueError": [
            "hidden:test_l2_matches_reference_and_finite_differences",
            "mistake:l2_negative_lam_accepted",
        ],
    },
    "log_grid": {"call": ["public:test_log_grid_and_parabola_sweep", "mistake:log_grid_linear"]},
    "lr_sweep": {
        "call": [
            "public:test_log_grid_and_parabola_sweep",
            "hidden:test_lr_sweep_softmax_regression",
            "mistake:sweep_without_divergence_check",
            "mistake:sweep_blowup_vs_previous_loss",
            "mistake:sweep_steps_run_counts_calls",
        ],
        # blowup=2 on a parabola: runs that the default 10 would keep diverge
        "option:blowup": ["hidden:test_lr_sweep_softmax_regression", "mistake:sweep_blowup_ignored"],
        "effect:no_mutation": ["hidden:test_lr_sweep_softmax_regression", "hidden:test_inputs_left_unmodified"],
        "effect:copy": ["hidden:test_lr_sweep_softmax_regression", "mistake:sweep_runs_share_params"],
    },
    "best_lr": {"call": ["hidden:test_lr_sweep_softmax_regression"]},
    "shift_images": {
        "call": [
            "public:test_shift_images_hand_case",
            "mistake:shift_wraps_around",
            "mistake:shift_wrong_direction",
            "mistake:shift_dy_dx_swapped",
        ],
        "option:shape": ["public:test_shift_images_hand_case"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
    "augment_with_shifts": {
        "call": [
            "hidden:test_augment_with_shifts_matches_reference",
            "hidden:test_augmentation_helps_on_shifted_held_out_digits",
            "mistake:augment_labels_repeated",
        ],
        "option:copies": ["hidden:test_augment_with_shifts_matches_reference"],
        "option:max_shift": [
            "hidden:test_augment_with_shifts_matches_reference",
            "mistake:augment_shift_upper_bound_excluded",
        ],
        "option:seed": ["hidden:test_augment_with_shifts_matches_reference", "mistake:augment_same_shifts_every_copy"],
        "option:shape": ["hidden:test_augment_with_shifts_matches_reference", "mistake:augment_shape_ignored"],
        # int32 labels come back tiled as int labels (shape=(3, 4) case); float64 images
        "input:dtype": ["hidden:test_augment_with_shifts_matches_reference"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
        # rows 0..N-1 of X_aug are the originals, unchanged
        "effect:copy": ["hidden:test_augmentation_helps_on_shifted_held_out_digits"],
    },
    "loss_surface": {
        "call": [
            "public:test_loss_surface_hand_case",
            "hidden:test_loss_surface_and_descent_paths",
            "mistake:surface_sum_not_mean",
            "mistake:surface_transposed",
        ],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
    "descent_path": {
        "call": [
            "hidden:test_loss_surface_and_descent_paths",
            "mistake:path_without_start",
            "mistake:path_sum_gradient",
            "mistake:path_last_batch_dropped",
        ],
        "option:seed": ["hidden:test_loss_surface_and_descent_paths", "mistake:path_same_order_every_epoch"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
        "effect:shuffle": ["hidden:test_loss_surface_and_descent_paths", "mistake:path_same_order_every_epoch"],
    },
    "gradient_cost": {
        "call": ["hidden:test_gradient_cost_is_counted", "mistake:cost_by_formula"],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
        # only a lasting change of params is observable (a perturbation restored before returning is not)
        "effect:copy": ["hidden:test_inputs_left_unmodified"],
    },
}
