"""Task 5 (gradcheck.py): which check exercises each promise of the reference's docstrings."""

CONTRACTS = {
    # centred differences, any shape, x perturbed in place and restored exactly (also when f raises)
    "numerical_gradient": {
        "call": [
            "public:test_numerical_gradient_of_cube",
            "hidden:test_numerical_gradient_any_shape",
            "hidden:test_numerical_gradient_is_centred",
            "mistake:forward_difference",
            "mistake:backward_difference",
            "mistake:divided_by_h_not_2h",
        ],
        # h = 1e-3 changes the answer by h^2; h = 0.25 is the step f sees (observed through a callback)
        "option:h": [
            "hidden:test_numerical_gradient_is_centred",
            "hidden:test_h_seed_and_copies",
            "mistake:numerical_gradient_ignores_h",
        ],
        "effect:no_mutation": [
            "hidden:test_numerical_gradient_restores_x",
            "hidden:test_numerical_gradient_perturbs_in_place",
            "hidden:test_inputs_left_unmodified",
            "mistake:x_left_perturbed",
            "mistake:restored_by_arithmetic",
            "mistake:not_restored_when_f_raises",
            "mistake:perturbs_a_copy",
        ],
    },
    "relative_error": {
        "call": [
            "public:test_relative_error_hand_cases",
            "hidden:test_relative_error_matches_definition",
            "mistake:relative_error_no_floor",
            "mistake:relative_error_mean",
            "mistake:relative_error_abs_of_sum",
            "mistake:relative_error_floor_added",
            "mistake:relative_error_one_sided",
        ],
        "effect:no_mutation": ["hidden:test_inputs_left_unmodified"],
    },
    "check_gradients": {
        "call": [
            "public:test_check_gradients_small_report",
            "hidden:test_check_gradients_per_parameter",
            "mistake:check_gradients_reports_last_entry",
        ],
        "option:h": ["hidden:test_h_seed_and_copies", "mistake:check_gradients_ignores_h"],
        "option:num_samples": [
            "hidden:test_check_gradients_samples_entries",
            "hidden:test_h_seed_and_copies",
            "mistake:check_gradients_ignores_num_samples",
            "mistake:sampled_with_replacement",
        ],
        # the same seed (0 included) gives the same sample, another seed another one, each parameter its own
        "option:seed": [
            "hidden:test_check_gradients_samples_entries",
            "hidden:test_h_seed_and_copies",
            "mistake:seed_zero_treated_as_none",
            "mistake:one_generator_for_all_parameters",
        ],
        "option:tol": ["hidden:test_check_gradients_per_parameter", "mistake:check_gradients_ignores_tol"],
        "effect:no_mutation": [
            "hidden:test_check_gradients_samples_entries",
            "hidden:test_inputs_left_unmodified",
            "mistake:check_gradients_no_restore",
        ],
        # f is called on float64 copies: integer params are checked in float64
        "effect:copy": ["hidden:test_h_seed_and_copies", "mistake:integer_params_not_copied"],
    },
}
