"""Planted mistakes of Task 3 (backprop.py): each must lose points in backprop and be named.

``find`` is exact text of solutions/backprop.py; ``replace`` the buggy text; ``expect`` a phrase
that must appear in some failed check's feedback; ``names`` the diagnosis ids (without the
``backprop.`` prefix) the failing checks may carry, at least one of them named ([]: nothing may be named).
"""

MISTAKES = {
    # sigma'(a) instead of sigma'(z) on the layers below the output
    "sigma_prime_at_a": {
        "find": "D[i] = (D[i + 1] @ W_next) * activation_grad(Z[i], hidden)",
        "replace": "D[i] = (D[i + 1] @ W_next) * activation_grad(A[i + 1], hidden)",
        "expect": "sigma'(a) used where sigma'(z) belongs",
        "names": ["sigma_prime_at_a", "wrong_gradient_from_backward"],
    },
    # forgot 1/N (softmax + cross-entropy)
    "forgot_1_over_N_softmax": {
        "find": "    return (A_L - T) / N\n",
        "replace": "    return A_L - T\n",
        "expect": "off by exactly N = 5",
        "names": ["off_by_n", "gradient_of_sum_not_mean", "wrong_gradient_from_backward"],
    },
    # forgot 1/N in the MSE output error (divides by K only)
    "forgot_1_over_N_mse": {
        "find": "2.0 * (A_L - T) / (N * K)",
        "replace": "2.0 * (A_L - T) / K",
        "expect": "off by exactly N = 5",
        "names": ["off_by_n", "gradient_of_sum_not_mean", "wrong_gradient_from_backward"],
    },
    # the MSE mean is over N*K entries: dividing by N only is off by K
    "mse_divided_by_N_only": {
        "find": "2.0 * (A_L - T) / (N * K)",
        "replace": "2.0 * (A_L - T) / N",
        "expect": "divide by N*K",
        "names": ["mse_divided_by_n_only", "mse_off_by_k", "wrong_gradient_from_backward"],
    },
    # transposed dW
    "transposed_dW": {
        "find": "(D[i].T @ A[i], D[i].sum(axis=0))",
        "replace": "(A[i].T @ D[i], D[i].sum(axis=0))",
        "expect": "transposed",
        "names": ["transposed", "broadcast_transposed", "wrong_gradient_from_backward"],
    },
    # bias gradient not summed over the batch
    "bias_not_summed": {
        "find": "(D[i].T @ A[i], D[i].sum(axis=0))",
        "replace": "(D[i].T @ A[i], D[i])",
        "expect": "must be summed over the batch",
        "names": ["bias_not_summed", "row_for_vector", "wrong_gradient_from_backward"],
    },
    # bias gradient averaged (off by N on the bias only)
    "bias_averaged": {
        "find": "(D[i].T @ A[i], D[i].sum(axis=0))",
        "replace": "(D[i].T @ A[i], D[i].mean(axis=0))",
        "expect": "the bias gradient is averaged over the batch",
        "names": ["off_by_one_over_n", "bias_averaged", "divided_by_n_twice"],
    },
    # sign flip of the output error: every gradient is -1 times the right one
    "sign_flip": {
        "find": "    return (A_L - T) / N\n",
        "replace": "    return (T - A_L) / N\n",
        "expect": "the sign is flipped",
        "names": ["sign_flipped", "wrong_gradient_from_backward"],
    },
    # the output error of the sigmoid + MSE pair without sigma'(Z_L)
    "mse_missing_sigma_prime": {
        "find": '2.0 * (A_L - T) / (N * K) * activation_grad(Z_L, "sigmoid")',
        "replace": "2.0 * (A_L - T) / (N * K)",
        "expect": "sigma'(Z_L) is missing",
        "names": ["output_delta_missing_sigma_prime", "wrong_gradient_from_backward"],
    },
    # activation_grad written as a(1 - a) but applied to z
    "activation_grad_z_times_one_minus_z": {
        "find": "        s = sigmoid(z)\n        return s * (1.0 - s)\n",
        "replace": "        return z * (1.0 - z)\n",
        "expect": "you computed z(1 - z)",
        "names": ["z_times_one_minus_z", "wrong_gradient_from_backward"],
    },
    # the hidden activation used on the output layer too
    "output_uses_hidden_activation": {
        "find": "A.append(activate(z, output if i == L - 1 else hidden))",
        "replace": "A.append(activate(z, hidden))",
        "expect": "the output layer must use the output activation",
        "names": ["output_layer_uses_hidden_activation", "wrong_forward_in_train_step"],
    },
    # the bias left out of the forward pass
    "forward_without_bias": {
        "find": "z = A[-1] @ np.asarray(W, dtype=np.float64).T + np.asarray(b, dtype=np.float64)",
        "replace": "z = A[-1] @ np.asarray(W, dtype=np.float64).T",
        "expect": "the bias b_1 is missing",
        "names": ["forgot_bias", "wrong_forward_in_train_step"],
    },
    # the lecture's column formula copied into row layout: W.T instead of W in the recursion
    "recursion_with_W_transposed": {
        "find": "D[i] = (D[i + 1] @ W_next) * activation_grad(Z[i], hidden)",
        "replace": "D[i] = (D[i + 1] @ W_next.T) * activation_grad(Z[i], hidden)",
        "expect": "matmul",
        "names": ["matmul_inner_mismatch", "matmul_operand_transposed"],
    },
    # gradient ascent in train_step
    "train_step_plus_sign": {
        "find": "(np.asarray(W, dtype=np.float64) - lr * dW, np.asarray(b, dtype=np.float64) - lr * db)",
        "replace": "(np.asarray(W, dtype=np.float64) + lr * dW, np.asarray(b, dtype=np.float64) + lr * db)",
        "expect": "the step went up the gradient",
        "names": ["step_up_the_gradient"],
    },
    # train_step ignores the learning rate
    "train_step_ignores_lr": {
        "find": "(np.asarray(W, dtype=np.float64) - lr * dW, np.asarray(b, dtype=np.float64) - lr * db)",
        "replace": "(np.asarray(W, dtype=np.float64) - dW, np.asarray(b, dtype=np.float64) - db)",
        "expect": "the learning rate was not used",
        "names": ["learning_rate_unused"],
    },
    # train_step updates the caller's arrays in place
    "train_step_in_place": {
        "find": "(np.asarray(W, dtype=np.float64) - lr * dW, np.asarray(b, dtype=np.float64) - lr * db)",
        "replace": "(np.subtract(W, lr * dW, out=W), np.subtract(b, lr * db, out=b))",
        "expect": "in place",
        "names": [],
    },
    "deltas_hardcoded_sigmoid": {
        "find": "D[i] = (D[i + 1] @ W_next) * activation_grad(Z[i], hidden)",
        "replace": 'D[i] = (D[i + 1] @ W_next) * activation_grad(Z[i], "sigmoid")',
        "expect": "the derivative of 'sigmoid' was used on 'relu' hidden layers",
        "names": ["act_prime_of_other_activation"],
    },
    "activation_grad_swapped": {
        "find": '    if name == "sigmoid":\n        s = sigmoid(z)',
        "replace": '    if name == "relu":\n        s = sigmoid(z)',
        "expect": "the derivatives are swapped",
        "names": [
            "activation_grad_swapped",
            "act_prime_of_other_activation",
            "wrong_gradient_from_backward",
            "output_delta_relu_prime",
            "output_delta_missing_sigma_prime",
        ],
    },
    "bias_summed_over_units": {
        "find": "(D[i].T @ A[i], D[i].sum(axis=0))",
        "replace": "(D[i].T @ A[i], D[i].sum(axis=1))",
        "expect": "reduced over axis 1",
        "names": ["bias_reduced_over_units"],
    },
    "forward_ignores_hidden": {
        "find": "A.append(activate(z, output if i == L - 1 else hidden))",
        "replace": 'A.append(activate(z, output if i == L - 1 else "sigmoid"))',
        "expect": "applied 'sigmoid' where 'relu' belongs",
        "names": ["wrong_activation", "wrong_forward_in_train_step"],
    },
    "forward_no_copy": {
        "find": "A = [X.copy()]",
        "replace": "A = [X]",
        "expect": "must be a float64 COPY of X",
        "names": [],
    },
    "train_not_shuffled": {
        "find": "        order = rng.permutation(N)\n",
        "replace": "        order = np.arange(N)\n",
        "expect": "shuffle every epoch",
        "names": ["train_not_shuffled"],
    },
    "train_rng_every_epoch": {
        "find": "        order = rng.permutation(N)\n",
        "replace": "        order = np.random.default_rng([seed, 1]).permutation(N)\n",
        "expect": "every epoch used the same permutation",
        "names": ["train_same_order_every_epoch"],
    },
    "train_x_y_shuffled_apart": {
        "find": "        order = rng.permutation(N)\n        total = 0.0\n        for start in range(0, N, batch_size):\n            idx = order[start : start + batch_size]\n            params, batch_loss = train_step(params, X[idx], Y[idx], lr, hidden, output)",
        "replace": "        order = rng.permutation(N)\n        other = rng.permutation(N)\n        total = 0.0\n        for start in range(0, N, batch_size):\n            idx = order[start : start + batch_size]\n            params, batch_loss = train_step(params, X[idx], Y[other[start : start + batch_size]], lr, hidden, output)",
        "expect": "different permutations",
        "names": ["train_x_y_shuffled_apart"],
    },
    "init_params_seed_zero_unseeded": {
        "find": "rng = np.random.default_rng(seed)",
        "replace": "rng = np.random.default_rng(seed or None)",
        "expect": "the default seed is 0",
        "names": [],
    },
}
