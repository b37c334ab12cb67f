"""Where each promise of solutions/torch_training.py is exercised (see tests/contracts/promises.py).

model_dtype, to_tensors and predict_logits are given helpers ("not graded", the module says so to
students): their promises are exercised through the graded functions that call them (train and
accuracy convert X and y with to_tensors, i.e. to model_dtype(model) and int64); what no graded
function reaches is n/a.
"""

CONTRACTS = {
    # given helper: train/accuracy convert X to it (float64 models in the hidden checks, float32 in
    # the held-out one); it only reads the first parameter's dtype
    "model_dtype": {
        "call": ["hidden:test_train_adam_minibatches_equal_numpy", "hidden:test_accuracy_at_fixed_weights"],
        "input:dtype": [
            "hidden:test_train_adam_minibatches_equal_numpy",
            "hidden:test_trained_network_reaches_95_percent_on_held_out_digits",
            "mistake:x_always_float32_in_train",
        ],
        "effect:no_mutation": [
            "hidden:test_train_adam_minibatches_equal_numpy",
            "n/a: a given helper that only reads the parameters' dtype; the checks that go "
            "through it compare every weight afterwards, which is all it could change",
        ],
    },
    # given helper: X float32 -> float64 model, y int32 -> int64 (Adam check, accuracy check)
    "to_tensors": {
        "call": ["hidden:test_train_adam_minibatches_equal_numpy", "hidden:test_accuracy_at_fixed_weights"],
        "option:y": [
            "n/a: y=None is used only by predict_logits, a given helper no graded function calls "
            "(the module tells students the helpers are not graded)"
        ],
        "input:dtype": [
            "hidden:test_train_adam_minibatches_equal_numpy",
            "hidden:test_accuracy_at_fixed_weights",
            "mistake:x_always_float32_in_train",
            "mistake:y_not_int64_in_train",
            "mistake:x_always_float32_in_accuracy",
        ],
    },
    "predict_logits": {
        "call": [
            "n/a: a given helper (the module tells students the helpers are not graded) that no graded "
            "function calls; the checks compute logits with their own trusted one-liner"
        ],
        "input:dtype": ["n/a: a given helper that no graded function calls (not graded, as the module says)"],
        "effect:no_mutation": ["n/a: a given helper that no graded function calls (not graded, as the module says)"],
    },
    # layers and sizes (public), logits, float32 parameters, the seed incl. 0 (hidden)
    "build_model": {
        "call": [
            "public:test_build_model_layers",
            "hidden:test_build_model_outputs_logits_and_seed",
            "mistake:softmax_layer_in_model",
        ],
        "option:in_features": ["public:test_build_model_layers"],
        "option:hidden": ["public:test_build_model_layers"],
        "option:out_features": ["public:test_build_model_layers"],
        "option:seed": [
            "hidden:test_build_model_outputs_logits_and_seed",
            "mistake:build_seed_not_applied",
            "mistake:build_seed_zero_ignored",
        ],
        "input:dtype": ["hidden:test_build_model_outputs_logits_and_seed"],
    },
    # one / two SGD steps from fixed weights against numpy; the calls reordered / repeated are named
    "train_step": {
        "call": [
            "public:test_train_step_handout_example",
            "hidden:test_train_step_one_sgd_step_equals_numpy",
            "hidden:test_train_step_two_steps_zero_grad",
            "mistake:no_zero_grad",
            "mistake:step_before_backward",
            "mistake:zero_grad_between_backward_and_step",
            "mistake:step_before_backward_without_zero_grad",
            "mistake:step_twice",
            "mistake:softmax_in_train_step",
            "mistake:loss_returned_after_the_step",
        ],
        "input:dtype": [
            "hidden:test_train_step_one_sgd_step_equals_numpy",
            "hidden:test_trained_network_reaches_95_percent_on_held_out_digits",
        ],
        "effect:no_mutation": ["hidden:test_train_step_one_sgd_step_equals_numpy"],
    },
    # the whole Adam loop against numpy on the seeded permutations, with generated wrong loops named
    "train": {
        "call": [
            "hidden:test_train_adam_minibatches_equal_numpy",
            "mistake:sgd_instead_of_adam",
            "mistake:optimizer_recreated_every_epoch",
            "mistake:optimizer_recreated_every_step",
            "mistake:nll_loss_on_logits",
            "mistake:not_shuffled",
            "mistake:x_and_y_different_permutations",
            "mistake:y_not_permuted",
            "mistake:last_batch_dropped",
            "mistake:unweighted_epoch_mean",
            "mistake:epoch_loss_is_the_last_batch",
            "hidden:test_train_and_accuracy_set_the_mode_and_keep_their_inputs",
            "mistake:train_mode_not_set",
            "hidden:test_trained_network_reaches_95_percent_on_held_out_digits",
        ],
        "option:epochs": ["hidden:test_train_adam_minibatches_equal_numpy", "mistake:epochs_ignored"],
        "option:batch_size": ["hidden:test_train_adam_minibatches_equal_numpy", "mistake:batch_size_ignored"],
        "option:lr": ["hidden:test_train_adam_minibatches_equal_numpy", "mistake:lr_ignored"],
        "option:seed": [
            "hidden:test_train_adam_minibatches_equal_numpy",
            "hidden:test_train_seeded_runs_are_reproducible",
            "mistake:permutation_not_from_the_generator",
            "mistake:generator_recreated_every_epoch",
        ],
        "input:dtype": [
            "hidden:test_train_adam_minibatches_equal_numpy",
            "hidden:test_trained_network_reaches_95_percent_on_held_out_digits",
            "mistake:x_always_float32_in_train",
            "mistake:y_not_int64_in_train",
        ],
        "effect:no_mutation": [
            "hidden:test_train_and_accuracy_set_the_mode_and_keep_their_inputs",
            "mistake:shuffles_the_inputs_in_place",
        ],
    },
    # float32 X and int32 y at fixed weights; eval mode, inputs and weights untouched
    "accuracy": {
        "call": [
            "hidden:test_accuracy_at_fixed_weights",
            "mistake:accuracy_as_percentage",
            "hidden:test_train_and_accuracy_set_the_mode_and_keep_their_inputs",
            "mistake:eval_mode_not_set_in_accuracy",
        ],
        "input:dtype": ["hidden:test_accuracy_at_fixed_weights", "mistake:x_always_float32_in_accuracy"],
        "effect:no_mutation": ["hidden:test_train_and_accuracy_set_the_mode_and_keep_their_inputs"],
    },
    "autograd_demo": {
        "call": ["public:test_autograd_demo", "hidden:test_autograd_demo_any_point", "mistake:autograd_demo_returns_y"],
        "option:x0": ["public:test_autograd_demo", "hidden:test_autograd_demo_any_point"],
    },
}
