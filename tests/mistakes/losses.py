"""Planted mistakes of Task 1 (losses.py), applied to a copy of solutions/losses.py by run_catalog.py.

Each entry: the exact reference text to find, the buggy text, a phrase the feedback must contain
(None: losing points is enough) and ``names``: the diagnosis ids (without the ``losses.`` prefix)
the failing checks may carry; at least one of them must be named ([]: nothing may be named).
"""

MISTAKES = {
    # forgot 1/N (here 1/M: the MSE is a mean over all N*K elements)
    "mse_grad_forgot_mean": {
        "find": "return 2.0 * (y_pred - y_true) / y_pred.size",
        "replace": "return 2.0 * (y_pred - y_true)",
        "expect": "forgot the 1/M of the mean",
        "names": ["forgot_1_over_m"],
    },
    "mse_grad_missing_factor_2": {
        "find": "return 2.0 * (y_pred - y_true) / y_pred.size",
        "replace": "return (y_pred - y_true) / y_pred.size",
        "expect": "forgot the factor 2",
        "names": ["forgot_factor_2", "factor_half"],
    },
    "mse_grad_divides_by_rows": {
        "find": "return 2.0 * (y_pred - y_true) / y_pred.size",
        "replace": "return 2.0 * (y_pred - y_true) / y_pred.shape[0]",
        "expect": "divided by N = 5 only",
        "names": ["divided_by_n_not_m"],
    },
    "mse_half_factor": {
        "find": "return float(np.mean(diff * diff))",
        "replace": "return float(0.5 * np.mean(diff * diff))",
        "expect": "a 1/2 in front",
        "names": ["mse_half", "factor_half"],
    },
    # labels (N,) against predictions (N, 1), a silent (N, N) broadcast
    "mse_silent_broadcast": {
        "find": '    _check_same_shape(y_pred, y_true, "y_pred", "y_true")\n    diff = y_pred - y_true\n',
        "replace": "    diff = y_pred - y_true\n",
        "expect": "broadcast",
        "names": ["silent_broadcast"],
    },
    "bce_grad_silent_broadcast": {
        "find": '    _check_same_shape(p, y, "p", "y")\n    pc = np.clip(p, EPS, 1.0 - EPS)\n    return (pc - y)',
        "replace": "    pc = np.clip(p, EPS, 1.0 - EPS)\n    return (pc - y)",
        "expect": "broadcast silently to (N, N)",
        "names": ["silent_broadcast"],
    },
    "bce_no_clipping": {
        "find": "    pc = np.clip(p, EPS, 1.0 - EPS)\n    return float(",
        "replace": "    pc = p\n    return float(",
        "expect": "clip",
        "names": ["probabilities_not_clipped"],
    },
    # the clip written into the caller's array (np.clip(..., out=p)): p = 0 and 1 are changed in place
    "bce_clip_in_place": {
        "find": "    pc = np.clip(p, EPS, 1.0 - EPS)\n    return float(",
        "replace": "    pc = np.clip(p, EPS, 1.0 - EPS, out=p)\n    return float(",
        "expect": "in place",
        "names": [],
    },
    "bce_forgot_negative_term": {
        "find": "return float(-np.mean(y * np.log(pc) + (1.0 - y) * np.log1p(-pc)))",
        "replace": "return float(-np.mean(y * np.log(pc)))",
        "expect": "the (1 - y) log(1 - p) term is missing",
        "names": ["bce_without_negative_term"],
    },
    "bce_grad_forgot_p_one_minus_p": {
        "find": "return (pc - y) / (pc * (1.0 - pc)) / p.size",
        "replace": "return (pc - y) / p.size",
        "expect": "forgot to divide by p (1 - p)",
        "names": ["forgot_p_one_minus_p"],
    },
    # naive BCE, inf at logits of +-1000
    "bce_logits_naive": {
        "find": "return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))",
        "replace": "s = 1.0 / (1.0 + np.exp(-z))\n    return float(-np.mean(y * np.log(s) + (1.0 - y) * np.log(1.0 - s)))",
        "expect": "naive BCE from logits",
        "names": ["naive_bce_from_logits"],
    },
    "bce_logits_grad_sign": {
        "find": "return (s - y) / z.size",
        "replace": "return (y - s) / z.size",
        "expect": "the sign is flipped",
        "names": ["grad_sign_flipped", "sign_flipped"],
    },
    # the chain rule through the sigmoid applied although it cancels
    "bce_logits_grad_times_sigma_prime": {
        "find": "return (s - y) / z.size",
        "replace": "return (s - y) * s * (1.0 - s) / z.size",
        "expect": "multiplied by sigma'(z)",
        "names": ["times_sigma_prime"],
    },
    # mean over all entries instead of over the rows, for the per-row losses
    "cce_mean_over_entries": {
        "find": "return float(-np.sum(y * np.log(np.maximum(p, EPS))) / p.shape[0])",
        "replace": "return float(-np.mean(y * np.log(np.maximum(p, EPS))))",
        "expect": "mean over all N*C",
        "names": ["mean_over_all_entries"],
    },
    "cce_grad_forgot_1_over_n": {
        "find": "return -y / np.maximum(p, EPS) / p.shape[0]",
        "replace": "return -y / np.maximum(p, EPS)",
        "expect": "forgot the 1/N",
        "names": ["forgot_1_over_n", "off_by_n"],
    },
    # the softmax + CE gradient (with respect to the logits) returned for the probabilities
    "cce_grad_logits_formula": {
        "find": "return -y / np.maximum(p, EPS) / p.shape[0]",
        "replace": "return (p - y) / p.shape[0]",
        "expect": "the gradient with respect to the LOGITS",
        "names": ["logits_gradient_for_probabilities"],
    },
    # naive softmax, nan at logits of +-1000
    "softmax_naive_overflow": {
        "find": "e = np.exp(z - z.max(axis=1, keepdims=True))",
        "replace": "e = np.exp(z)",
        "expect": "naive softmax",
        "names": ["naive_softmax", "naive_logsumexp"],
    },
    "softmax_over_columns": {
        "find": "e = np.exp(z - z.max(axis=1, keepdims=True))\n    return e / e.sum(axis=1, keepdims=True)",
        "replace": "e = np.exp(z - z.max(axis=0, keepdims=True))\n    return e / e.sum(axis=0, keepdims=True)",
        "expect": "normalised over axis 0",
        "names": ["softmax_over_columns"],
    },
    "softmax_ce_mean_over_entries": {
        "find": "return float(-np.sum(y * log_probs) / z.shape[0])",
        "replace": "return float(-np.sum(y * log_probs) / z.size)",
        "expect": "mean over all N*C",
        "names": ["mean_over_all_entries"],
    },
    "softmax_ce_log_of_softmax": {
        "find": "    shifted = z - z.max(axis=1, keepdims=True)\n"
        "    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))\n",
        "replace": "    log_probs = np.log(softmax(z))\n",
        "expect": "log-softmax",
        "names": ["naive_logsumexp"],
    },
    # labels used as indices without the range check: -1 silently picks the last class
    "softmax_ce_labels_indexed": {
        "find": "    z = np.asarray(logits, dtype=np.float64)\n    y = _target_rows(labels, z.shape)\n"
        "    shifted = z - z.max(axis=1, keepdims=True)",
        "replace": "    z = np.asarray(logits, dtype=np.float64)\n    lab = np.asarray(labels)\n"
        "    y = np.eye(z.shape[1])[lab] if lab.ndim == 1 else lab.astype(np.float64)\n"
        "    shifted = z - z.max(axis=1, keepdims=True)",
        "expect": "negative indexing",
        "names": ["negative_label_wrapped"],
    },
    # forgot 1/N; sign flipped
    "softmax_ce_grad_forgot_1_over_n": {
        "find": "return (softmax(z) - y) / z.shape[0]",
        "replace": "return softmax(z) - y",
        "expect": "forgot the 1/N",
        "names": ["forgot_1_over_n", "off_by_n"],
    },
    "softmax_ce_grad_sign": {
        "find": "return (softmax(z) - y) / z.shape[0]",
        "replace": "return (y - softmax(z)) / z.shape[0]",
        "expect": "the sign is flipped",
        "names": ["grad_sign_flipped", "sign_flipped"],
    },
    "softmax_ce_grad_no_onehot": {
        "find": "return (softmax(z) - y) / z.shape[0]",
        "replace": "return softmax(z) / z.shape[0]",
        "expect": "forgot to subtract the one-hot labels Y",
        "names": ["forgot_to_subtract_onehot"],
    },
    "softmax_ce_grad_times_diagonal": {
        "find": "return (softmax(z) - y) / z.shape[0]",
        "replace": "s = softmax(z)\n    return (s - y) / z.shape[0] * s * (1.0 - s)",
        "expect": "the Jacobian and the log cancel",
        "names": ["times_softmax_diagonal"],
    },
    # array-likes not converted: lists reach the arithmetic
    "mse_grad_lists_not_converted": {
        "find": "    y_pred = np.asarray(y_pred, dtype=np.float64)\n    y_true = np.asarray(y_true, dtype=np.float64)\n"
        '    _check_same_shape(y_pred, y_true, "y_pred", "y_true")\n    return 2.0',
        "replace": '    _check_same_shape(np.asarray(y_pred), np.asarray(y_true), "y_pred", "y_true")\n    return 2.0',
        "expect": "np.asarray(x, dtype=np.float64)",
        "names": ["array_like_not_converted"],
    },
}
