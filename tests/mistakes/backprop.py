"""Planted mistakes of Task 3 (backprop.py): each must lose points in backprop and be named.

``find`` is exact text of solutions/backprop.py; ``replace`` the buggy text; ``expect`` a phrase
that must appear in some failed check's feedback.
"""

MISTAKES = {
    # sigma'(a) instead of sigma'(z) on the layers below the output
    "sigma_prime_at_a": {
        "find": "D[i] = (D[i + 1] @ W_next) * activation_grad(Z[i], hidden)",
        "replace": "D[i] = (D[i + 1] @ W_next) * activation_grad(A[i + 1], hidden)",
        "expect": "sigma'(a) used where sigma'(z) belongs",
    },
    # forgot 1/N (softmax + cross-entropy)
    "forgot_1_over_N_softmax": {
        "find": "    return (A_L - T) / N\n",
        "replace": "    return A_L - T\n",
        "expect": "off by exactly N = 5",
    },
    # forgot 1/N in the MSE output error (divides by K only)
    "forgot_1_over_N_mse": {
        "find": "2.0 * (A_L - T) / (N * K)",
        "replace": "2.0 * (A_L - T) / K",
        "expect": "off by exactly N = 5",
    },
    # the MSE mean is over N*K entries: dividing by N only is off by K
    "mse_divided_by_N_only": {
        "find": "2.0 * (A_L - T) / (N * K)",
        "replace": "2.0 * (A_L - T) / N",
        "expect": "divide by N*K",
    },
    # transposed dW
    "transposed_dW": {
        "find": "(D[i].T @ A[i], D[i].sum(axis=0))",
        "replace": "(A[i].T @ D[i], D[i].sum(axis=0))",
        "expect": "transposed",
    },
    # bias gradient not summed over the batch
    "bias_not_summed": {
        "find": "(D[i].T @ A[i], D[i].sum(axis=0))",
        "replace": "(D[i].T @ A[i], D[i])",
        "expect": "must be summed over the batch",
    },
    # bias gradient averaged (off by N on the bias only)
    "bias_averaged": {
        "find": "(D[i].T @ A[i], D[i].sum(axis=0))",
        "replace": "(D[i].T @ A[i], D[i].mean(axis=0))",
        "expect": "the bias gradient is averaged over the batch",
    },
    # sign flip of the output error: every gradient is -1 times the right one
    "sign_flip": {
        "find": "    return (A_L - T) / N\n",
        "replace": "    return (T - A_L) / N\n",
        "expect": "the sign is flipped",
    },
    # the output error of the sigmoid + MSE pair without sigma'(Z_L)
    "mse_missing_sigma_prime": {
        "find": "2.0 * (A_L - T) / (N * K) * activation_grad(Z_L, \"sigmoid\")",
        "replace": "2.0 * (A_L - T) / (N * K)",
        "expect": "sigma'(Z_L) is missing",
    },
    # activation_grad written as a(1 - a) but applied to z
    "activation_grad_z_times_one_minus_z": {
        "find": "        s = sigmoid(z)\n        return s * (1.0 - s)\n",
        "replace": "        return z * (1.0 - z)\n",
        "expect": "you computed z(1 - z)",
    },
    # the hidden activation used on the output layer too
    "output_uses_hidden_activation": {
        "find": "A.append(activate(z, output if i == L - 1 else hidden))",
        "replace": "A.append(activate(z, hidden))",
        "expect": "the output layer must use the output activation",
    },
    # the bias left out of the forward pass
    "forward_without_bias": {
        "find": "z = A[-1] @ np.asarray(W, dtype=np.float64).T + np.asarray(b, dtype=np.float64)",
        "replace": "z = A[-1] @ np.asarray(W, dtype=np.float64).T",
        "expect": "the bias b_1 is missing",
    },
    # the lecture's column formula copied into row layout: W.T instead of W in the recursion
    "recursion_with_W_transposed": {
        "find": "D[i] = (D[i + 1] @ W_next) * activation_grad(Z[i], hidden)",
        "replace": "D[i] = (D[i + 1] @ W_next.T) * activation_grad(Z[i], hidden)",
        "expect": "matmul",
    },
    # gradient ascent in train_step
    "train_step_plus_sign": {
        "find": "(np.asarray(W, dtype=np.float64) - lr * dW, np.asarray(b, dtype=np.float64) - lr * db)",
        "replace": "(np.asarray(W, dtype=np.float64) + lr * dW, np.asarray(b, dtype=np.float64) + lr * db)",
        "expect": "the step went up the gradient",
    },
    # train_step ignores the learning rate
    "train_step_ignores_lr": {
        "find": "(np.asarray(W, dtype=np.float64) - lr * dW, np.asarray(b, dtype=np.float64) - lr * db)",
        "replace": "(np.asarray(W, dtype=np.float64) - dW, np.asarray(b, dtype=np.float64) - db)",
        "expect": "the learning rate was not used",
    },
    # train_step updates the caller's arrays in place
    "train_step_in_place": {
        "find": "(np.asarray(W, dtype=np.float64) - lr * dW, np.asarray(b, dtype=np.float64) - lr * db)",
        "replace": "(np.subtract(W, lr * dW, out=W), np.subtract(b, lr * db, out=b))",
        "expect": "in place",
    },
}
