"""Planted mistakes of Task 9 (solutions/dynamics.py) and the phrase the feedback must contain.

One or more per part of the task: initialisation and depth, L2, the learning rate, augmentation,
the landscape, the cost of a gradient.
"""

MISTAKES = {
    "he_with_one_over_fan_in": {
        "find": "        std = math.sqrt(2.0 / fan_in)\n",
        "replace": "        std = math.sqrt(1.0 / fan_in)\n",
        "expect": "He initialisation has the variance 2/fan_in",
    },
    "norms_output_layer_first": {
        "find": "for l in range(1, num_layers(params) + 1)], dtype=np.float64)",
        "replace": "for l in range(num_layers(params), 0, -1)], dtype=np.float64)",
        "expect": "the layers are in reverse order",
    },
    "l2_penalises_biases": {
        "find": "        if k.startswith(\"W\"):\n            W = np.asarray(params[k], dtype=np.float64)",
        "replace": "        if True:\n            W = np.asarray(params[k], dtype=np.float64)",
        "expect": "the biases are penalised too",
    },
    "l2_penalty_without_half": {
        "find": "return float(loss + 0.5 * lam * penalty), out",
        "replace": "return float(loss + lam * penalty), out",
        "expect": "the penalty is (lam/2) sum_l ||W^(l)||_F^2",
    },
    "sweep_without_divergence_check": {
        "find": "if not math.isfinite(loss) or loss > blowup * loss0:",
        "replace": "if False:",
        "expect": "stop that run and report it as diverged",
    },
    "shift_wraps_around": {
        "find": "        out[i, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = images[\n"
                "            i, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)\n"
                "        ]\n",
        "replace": "        out[i] = np.roll(images[i], (dy, dx), axis=(0, 1))\n",
        "expect": "pixels wrap around to the other side (np.roll)",
    },
    "augment_same_shifts_every_copy": {
        "find": "    for _ in range(copies):\n        parts.append(",
        "replace": "    for _ in range(copies):\n        rng = np.random.default_rng(seed)\n        parts.append(",
        "expect": "every copy got the same shifts",
    },
    "path_without_start": {
        "find": "    path = [w.copy()]\n",
        "replace": "    path = []\n",
        "expect": "row 0 must be the start w0",
    },
    "cost_by_formula": {
        "find": "\"fd_loss_calls\": counts[\"loss\"],",
        "replace": "\"fd_loss_calls\": 2 * int(sum(v.size for v in work.values())),",
        "expect": "count the calls of loss actually made",
    },
}
