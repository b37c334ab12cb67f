"""Planted mistakes of Task 1 (losses.py), applied to a copy of solutions/losses.py by run_catalog.py.

Each entry: the exact reference text to find, the buggy text, and a phrase the feedback must
contain (None: losing points is enough).
"""

MISTAKES = {
    # forgot 1/N (here 1/M: the MSE is a mean over all N*K elements)
    "mse_grad_forgot_mean": {
        "find": "return 2.0 * (y_pred - y_true) / y_pred.size",
        "replace": "return 2.0 * (y_pred - y_true)",
        "expect": "forgot the 1/M of the mean",
    },
    "mse_grad_missing_factor_2": {
        "find": "return 2.0 * (y_pred - y_true) / y_pred.size",
        "replace": "return (y_pred - y_true) / y_pred.size",
        "expect": "forgot the factor 2",
    },
    "mse_grad_divides_by_rows": {
        "find": "return 2.0 * (y_pred - y_true) / y_pred.size",
        "replace": "return 2.0 * (y_pred - y_true) / y_pred.shape[0]",
        "expect": "divided by N = 5 only",
    },
    # labels (N,) against predictions (N, 1), a silent (N, N) broadcast
    "mse_silent_broadcast": {
        "find": '    _check_same_shape(y_pred, y_true, "y_pred", "y_true")\n    diff = y_pred - y_true\n',
        "replace": "    diff = y_pred - y_true\n",
        "expect": "broadcast",
    },
    "bce_grad_silent_broadcast": {
        "find": '    _check_same_shape(p, y, "p", "y")\n    pc = np.clip(p, EPS, 1.0 - EPS)\n    return (pc - y)',
        "replace": "    pc = np.clip(p, EPS, 1.0 - EPS)\n    return (pc - y)",
        "expect": "broadcast silently to (N, N)",
    },
    "bce_no_clipping": {
        "find": "    pc = np.clip(p, EPS, 1.0 - EPS)\n    return float(",
        "replace": "    pc = p\n    return float(",
        "expect": "clip",
    },
    "bce_grad_forgot_p_one_minus_p": {
        "find": "return (pc - y) / (pc * (1.0 - pc)) / p.size",
        "replace": "return (pc - y) / p.size",
        "expect": "forgot to divide by p (1 - p)",
    },
    # naive BCE, inf at logits of +-1000
    "bce_logits_naive": {
        "find": "return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))",
        "replace": "s = 1.0 / (1.0 + np.exp(-z))\n    return float(-np.mean(y * np.log(s) + (1.0 - y) * np.log(1.0 - s)))",
        "expect": "naive BCE from logits",
    },
    "bce_logits_grad_sign": {
        "find": "return (s - y) / z.size",
        "replace": "return (y - s) / z.size",
        "expect": "the sign is flipped",
    },
    # mean over all entries instead of over the rows, for the per-row losses
    "cce_mean_over_entries": {
        "find": "return float(-np.sum(y * np.log(np.maximum(p, EPS))) / p.shape[0])",
        "replace": "return float(-np.mean(y * np.log(np.maximum(p, EPS))))",
        "expect": "mean over all N*C",
    },
    "cce_grad_forgot_1_over_n": {
        "find": "return -y / np.maximum(p, EPS) / p.shape[0]",
        "replace": "return -y / np.maximum(p, EPS)",
        "expect": "forgot the 1/N",
    },
    # naive softmax, nan at logits of +-1000
    "softmax_naive_overflow": {
        "find": "e = np.exp(z - z.max(axis=1, keepdims=True))",
        "replace": "e = np.exp(z)",
        "expect": "naive softmax",
    },
    "softmax_over_columns": {
        "find": "e = np.exp(z - z.max(axis=1, keepdims=True))\n    return e / e.sum(axis=1, keepdims=True)",
        "replace": "e = np.exp(z - z.max(axis=0, keepdims=True))\n    return e / e.sum(axis=0, keepdims=True)",
        "expect": "normalised over axis 0",
    },
    "softmax_ce_mean_over_entries": {
        "find": "return float(-np.sum(y * log_probs) / z.shape[0])",
        "replace": "return float(-np.sum(y * log_probs) / z.size)",
        "expect": "mean over all N*C",
    },
    "softmax_ce_log_of_softmax": {
        "find": "    shifted = z - z.max(axis=1, keepdims=True)\n"
                "    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))\n",
        "replace": "    log_probs = np.log(softmax(z))\n",
        "expect": "log-softmax",
    },
    # forgot 1/N; sign flipped
    "softmax_ce_grad_forgot_1_over_n": {
        "find": "return (softmax(z) - y) / z.shape[0]",
        "replace": "return softmax(z) - y",
        "expect": "forgot the 1/N",
    },
    "softmax_ce_grad_sign": {
        "find": "return (softmax(z) - y) / z.shape[0]",
        "replace": "return (y - softmax(z)) / z.shape[0]",
        "expect": "the sign is flipped",
    },
    "softmax_ce_grad_no_onehot": {
        "find": "return (softmax(z) - y) / z.shape[0]",
        "replace": "return softmax(z) / z.shape[0]",
        "expect": "forgot to subtract the one-hot labels Y",
    },
}
