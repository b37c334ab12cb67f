"""Planted mistakes of Task 9 (solutions/dynamics.py), the phrase the feedback must contain and the
diagnosis ids it may name ("names", without the task prefix; an empty list: nothing may be named).

One or more per part of the task: initialisation and depth, L2, the learning rate, augmentation,
the landscape, the cost of a gradient.
"""

INIT_RETURN = "    return rng.normal(0.0, std, size=(fan_out, fan_in))\n"
SWEEP_CHECK = (
    "                if not math.isfinite(loss) or loss > blowup * loss0:\n"
    "                    diverged = True\n                    break\n"
)

MISTAKES = {
    # -- 1. initialisation and depth --------------------------------------------------------------
    "he_with_one_over_fan_in": {
        "find": "        std = math.sqrt(2.0 / fan_in)\n",
        "replace": "        std = math.sqrt(1.0 / fan_in)\n",
        "expect": "He initialisation has the variance 2/fan_in",
        "names": ["init_one_over_fan_in"],
    },
    "he_with_fan_out": {
        "find": "        std = math.sqrt(2.0 / fan_in)\n",
        "replace": "        std = math.sqrt(2.0 / fan_out)\n",
        "expect": "He initialisation divides by fan_in",
        "names": ["init_fan_out_for_fan_in"],
    },
    "he_variance_as_std": {
        "find": "        std = math.sqrt(2.0 / fan_in)\n",
        "replace": "        std = 2.0 / fan_in\n",
        "expect": "used the variance as the standard deviation",
        "names": ["init_variance_as_std"],
    },
    "xavier_with_one_over_fan_in": {
        "find": "        std = math.sqrt(2.0 / (fan_in + fan_out))\n",
        "replace": "        std = math.sqrt(1.0 / fan_in)\n",
        "expect": "Xavier/Glorot averages both fans",
        "names": ["init_one_over_fan_in"],
    },
    "xavier_and_he_swapped": {
        "find": '    elif scheme == "xavier":\n',
        "replace": '    elif scheme == "he":\n',
        "expect": "was used for",
        "names": ["init_xavier_used_he_std", "init_he_used_xavier_std"],
    },
    "xavier_uniform": {
        "find": INIT_RETURN,
        "replace": '    if scheme == "xavier":\n        bound = math.sqrt(6.0 / (fan_in + fan_out))\n'
        "        return rng.uniform(-bound, bound, size=(fan_out, fan_in))\n" + INIT_RETURN,
        "expect": "drew Xavier's UNIFORM",
        "names": ["init_xavier_uniform"],
    },
    "init_drawn_transposed": {
        "find": INIT_RETURN,
        "replace": "    return rng.normal(0.0, std, size=(fan_in, fan_out)).T\n",
        "expect": "drew a (fan_in, fan_out) array and transposed it",
        "names": ["init_drawn_transposed"],
    },
    "init_shape_transposed": {
        "find": INIT_RETURN,
        "replace": "    return rng.normal(0.0, std, size=(fan_in, fan_out))\n",
        "expect": "the result is transposed",
        "names": ["transposed"],
    },
    "unknown_scheme_accepted": {
        "find": "    if scheme not in INIT_SCHEMES:\n        raise ValueError(",
        "replace": "    if False:\n        raise ValueError(",
        "expect": "'glorot' is not one of",
        "names": [],
    },
    "norms_output_layer_first": {
        "find": "for l in range(1, num_layers(params) + 1)], dtype=np.float64)",
        "replace": "for l in range(num_layers(params), 0, -1)], dtype=np.float64)",
        "expect": "the layers are in reverse order",
        "names": ["norms_reversed"],
    },
    "norms_squared": {
        "find": 'np.linalg.norm(grads[f"W{l}"])',
        "replace": 'np.sum(grads[f"W{l}"] ** 2)',
        "expect": "returned the squared norms",
        "names": ["norms_squared"],
    },
    "norms_include_bias": {
        "find": 'np.linalg.norm(grads[f"W{l}"])',
        "replace": 'np.sqrt(np.sum(grads[f"W{l}"] ** 2) + np.sum(grads[f"b{l}"] ** 2))',
        "expect": "included the bias gradients",
        "names": ["norms_include_bias"],
    },
    # -- 2. L2 ---------------------------------------------------------------------------------------
    "l2_penalises_biases": {
        "find": '        if k.startswith("W"):\n            W = np.asarray(params[k], dtype=np.float64)',
        "replace": "        if True:\n            W = np.asarray(params[k], dtype=np.float64)",
        "expect": "the biases are penalised too",
        "names": ["l2_penalises_biases"],
    },
    "l2_penalty_without_half": {
        "find": "return float(loss + 0.5 * lam * penalty), out",
        "replace": "return float(loss + lam * penalty), out",
        "expect": "the penalty is (lam/2) sum_l ||W^(l)||_F^2",
        "names": ["l2_without_half"],
    },
    "l2_gradient_two_lam": {
        "find": "            out[k] = g + lam * W\n",
        "replace": "            out[k] = g + 2 * lam * W\n",
        "expect": "whose gradient is lam W",
        "names": ["l2_without_half"],
    },
    "l2_gradient_missing": {
        "find": "            out[k] = g + lam * W\n",
        "replace": "            out[k] = np.array(g)\n",
        "expect": "the gradient of the penalty, lam W, is missing",
        "names": ["l2_gradient_missing"],
    },
    "l2_gradient_sign": {
        "find": "            out[k] = g + lam * W\n",
        "replace": "            out[k] = g - lam * W\n",
        "expect": "the penalty's gradient was subtracted",
        "names": ["l2_gradient_sign"],
    },
    "l2_norm_not_squared": {
        "find": "            penalty += float(np.sum(W * W))\n",
        "replace": "            penalty += float(np.linalg.norm(W))\n",
        "expect": "the penalty uses ||W||_F, not its square",
        "names": ["l2_norm_not_squared"],
    },
    "l2_negative_lam_accepted": {
        "find": "    if lam < 0:\n        raise ValueError(",
        "replace": "    if False:\n        raise ValueError(",
        "expect": "expected ValueError (lam must be >= 0)",
        "names": [],
    },
    # -- 3. the learning rate ------------------------------------------------------------------------
    "sweep_without_divergence_check": {
        "find": "if not math.isfinite(loss) or loss > blowup * loss0:",
        "replace": "if False:",
        "expect": "stop that run and report it as diverged",
        "names": ["sweep_blowup_not_detected"],
    },
    "sweep_blowup_ignored": {
        "find": "if not math.isfinite(loss) or loss > blowup * loss0:",
        "replace": "if not math.isfinite(loss) or loss > 10.0 * loss0:",
        "expect": "the blowup argument was ignored",
        "names": ["sweep_blowup_ignored"],
    },
    "sweep_blowup_vs_previous_loss": {
        "find": SWEEP_CHECK,
        "replace": SWEEP_CHECK + "                loss0 = loss\n",
        "expect": "the loss was compared with the PREVIOUS loss",
        "names": ["sweep_blowup_vs_previous_loss"],
    },
    "sweep_steps_run_counts_calls": {
        "find": SWEEP_CHECK,
        "replace": SWEEP_CHECK.replace("diverged = True\n", "diverged = True\n                    steps_run += 1\n"),
        "expect": "steps_run counts the loss evaluations",
        "names": ["sweep_steps_run_counts_calls"],
    },
    "sweep_runs_share_params": {
        "find": "    for lr in lrs:\n        lr = float(lr)\n"
        "        params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params0.items()}\n",
        "replace": "    params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params0.items()}\n"
        "    for lr in lrs:\n        lr = float(lr)\n",
        "expect": None,
        "names": ["sweep_runs_share_params"],
    },
    "log_grid_linear": {
        "find": "    return np.geomspace(float(low), float(high), int(num))",
        "replace": "    return np.linspace(float(low), float(high), int(num))",
        "expect": "evenly spaced on a linear scale",
        "names": ["log_grid_linear"],
    },
    # -- 4. augmentation -----------------------------------------------------------------------------
    "shift_wraps_around": {
        "find": "        out[i, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = images[\n"
        "            i, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)\n"
        "        ]\n",
        "replace": "        out[i] = np.roll(images[i], (dy, dx), axis=(0, 1))\n",
        "expect": "pixels wrap around to the other side (np.roll)",
        "names": ["shift_wraps_around"],
    },
    "shift_wrong_direction": {
        "find": "        dy, dx = int(dy), int(dx)\n",
        "replace": "        dy, dx = -int(dy), -int(dx)\n",
        "expect": "moved the other way",
        "names": ["shift_wrong_direction"],
    },
    "shift_dy_dx_swapped": {
        "find": "        dy, dx = int(dy), int(dx)\n",
        "replace": "        dy, dx = int(dx), int(dy)\n",
        "expect": "swapped dy and dx",
        "names": ["shift_dy_dx_swapped"],
    },
    "augment_same_shifts_every_copy": {
        "find": "    for _ in range(copies):\n        parts.append(",
        "replace": "    for _ in range(copies):\n        rng = np.random.default_rng(seed)\n        parts.append(",
        "expect": "every copy got the same shifts",
        "names": ["augment_same_shifts_every_copy"],
    },
    "augment_shift_upper_bound_excluded": {
        "find": "rng.integers(-max_shift, max_shift + 1, size=(n, 2))",
        "replace": "rng.integers(-max_shift, max_shift, size=(n, 2))",
        "expect": "the shifts never reach +max_shift",
        "names": ["augment_shift_upper_bound_excluded"],
    },
    "augment_labels_repeated": {
        "find": "np.tile(y.astype(np.int64), copies + 1)",
        "replace": "np.repeat(y.astype(np.int64), copies + 1)",
        "expect": "not each label repeated in place (np.repeat)",
        "names": ["augment_labels_repeated_not_tiled"],
    },
    "augment_shape_ignored": {
        "find": "size=(n, 2)), shape))",
        "replace": "size=(n, 2))))",
        "expect": "augment_with_shifts() raised ValueError",
        "names": [],
    },
    # -- 5. the landscape ----------------------------------------------------------------------------
    "surface_sum_not_mean": {
        "find": "    return np.mean(R * R, axis=-1)",
        "replace": "    return np.sum(R * R, axis=-1)",
        "expect": "the MSE is their mean",
        "names": ["surface_sum_not_mean"],
    },
    "surface_transposed": {
        "find": "    return np.mean(R * R, axis=-1)",
        "replace": "    return np.mean(R * R, axis=-1).T",
        "expect": "the result is transposed",
        "names": ["transposed"],
    },
    "path_without_start": {
        "find": "    path = [w.copy()]\n",
        "replace": "    path = []\n",
        "expect": "row 0 must be the start w0",
        "names": ["path_without_start"],
    },
    "path_same_order_every_epoch": {
        "find": "        order = rng.permutation(n)\n",
        "replace": "        order = np.random.default_rng(seed).permutation(n)\n",
        "expect": "every epoch uses the same order",
        "names": ["path_epoch_order_repeated"],
    },
    "path_sum_gradient": {
        "find": "            w = w - lr * grad\n",
        "replace": "            w = w - lr * grad * len(idx)\n",
        "expect": "the step uses the SUM over the batch",
        "names": ["path_sum_gradient"],
    },
    "path_last_batch_dropped": {
        "find": "        for start in range(0, n, batch_size):\n",
        "replace": "        for start in range(0, n - batch_size + 1, batch_size):\n",
        "expect": "the last partial batch of every epoch was dropped",
        "names": ["path_last_batch_dropped"],
    },
    # -- 6. the cost of a gradient -------------------------------------------------------------------
    "cost_by_formula": {
        "find": '"fd_loss_calls": counts["loss"],',
        "replace": '"fd_loss_calls": 2 * int(sum(v.size for v in work.values())),',
        "expect": "count the calls of loss actually made",
        "names": ["cost_computed_not_counted"],
    },
}
