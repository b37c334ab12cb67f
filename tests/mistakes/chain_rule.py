"""Planted mistakes of Task 2 (chain_rule.py), applied to a copy of solutions/chain_rule.py by run_catalog.py.

Each entry: the exact reference text to find, the buggy text, a phrase the feedback must contain
(None: losing points is enough) and ``names``: the diagnosis ids (without the ``chain_rule.``
prefix) the failing checks may carry; at least one of them must be named ([]: nothing may be named).
"""

MISTAKES = {
    "f_grad_used_u_not_2u": {
        "find": "df_du = 2.0 * u",
        "replace": "df_du = u",
        "expect": "used u instead of 2u",
        "names": ["used_u_not_2u", "factor_half"],
    },
    "f_grad_forgot_inner_function": {
        "find": "u = float(x) + 2.0\n    df_du = 2.0 * u",
        "replace": "u = float(x)\n    df_du = 2.0 * u",
        "expect": "forgot the inner function",
        "names": ["forgot_inner_function"],
    },
    "compose_df_at_x": {
        "find": "return float(df(u) * dg(x))",
        "replace": "return float(df(x) * dg(x))",
        "expect": "called df at x instead of at the inner value g(x)",
        "names": ["df_at_x"],
    },
    "compose_forgot_inner_derivative": {
        "find": "return float(df(u) * dg(x))",
        "replace": "return float(df(u))",
        "expect": "forgot the inner derivative",
        "names": ["forgot_inner_derivative"],
    },
    "compose_times_g": {
        "find": "return float(df(u) * dg(x))",
        "replace": "return float(df(u) * u)",
        "expect": "multiplied by g(x) instead of its derivative",
        "names": ["times_g_not_dg"],
    },
    "compose_wrong_order": {
        "find": "return float(f(g(x)))",
        "replace": "return float(g(f(x)))",
        "expect": "composed in the wrong order",
        "names": ["composed_in_wrong_order"],
    },
    "neuron_forward_forgot_bias": {
        "find": "    z = float(np.dot(w, x) + b)\n    return float(sigmoid(z))",
        "replace": "    z = float(np.dot(w, x))\n    return float(sigmoid(z))",
        "expect": "forgot the bias",
        "names": ["forgot_bias"],
    },
    # z = sum_j (w_j x_j + b): the bias added once per input
    "neuron_forward_bias_per_input": {
        "find": "    z = float(np.dot(w, x) + b)\n    return float(sigmoid(z))",
        "replace": "    z = float(np.sum(w * x + b))\n    return float(sigmoid(z))",
        "expect": "the bias was added once per input",
        "names": ["bias_once_per_input"],
    },
    "neuron_backward_bias_per_input": {
        "find": "    z = float(np.dot(w, x) + b)\n    y = float(sigmoid(z))",
        "replace": "    z = float(np.sum(w * x + b))\n    y = float(sigmoid(z))",
        "expect": "the bias was added once per input",
        "names": ["bias_once_per_input"],
    },
    # w * x without the shape check: an x of length 1 is broadcast against w
    "neuron_forward_broadcasts": {
        "find": "    w, x = _as_vectors(w, x)\n    z = float(np.dot(w, x) + b)\n    return float(sigmoid(z))",
        "replace": "    w, x = np.asarray(w, dtype=np.float64), np.asarray(x, dtype=np.float64)\n"
        "    z = float(np.sum(w * x) + b)\n    return float(sigmoid(z))",
        "expect": "x of length 1 was broadcast against w",
        "names": ["length_one_broadcast"],
    },
    # sigma'(a) instead of sigma'(z)
    "neuron_sigma_prime_of_a": {
        "find": "dy_dz = y * (1.0 - y)",
        "replace": "dy_dz = float(sigmoid(y)) * (1.0 - float(sigmoid(y)))",
        "expect": "used sigma'(a)",
        "names": ["sigma_prime_at_a"],
    },
    "neuron_forgot_upstream_gradient": {
        "find": "dL_dz = dL_dy * dy_dz",
        "replace": "dL_dz = dy_dz",
        "expect": "forgot to multiply by the upstream gradient",
        "names": ["forgot_upstream_gradient"],
    },
    "neuron_forgot_local_derivative": {
        "find": "dL_dz = dL_dy * dy_dz",
        "replace": "dL_dz = dL_dy",
        "expect": "forgot the sigmoid's local derivative",
        "names": ["forgot_local_derivative"],
    },
    "neuron_dw_times_w": {
        "find": '"dL_dw": dL_dz * dz_dw,',
        "replace": '"dL_dw": dL_dz * w,',
        "expect": "multiplied by w instead of x",
        "names": ["times_w_not_x"],
    },
    # the caller's x used as scratch space (np.asarray does not copy a float64 array)
    "neuron_backward_mutates_x": {
        "find": "    w, x = _as_vectors(w, x)\n    z = float(np.dot(w, x) + b)\n    y = float(sigmoid(z))\n"
        "    dL_dy = float(dL_dy)\n    dy_dz = y * (1.0 - y)\n    dz_dw = x.copy()\n",
        "replace": "    w, x = np.asarray(w, dtype=np.float64), np.asarray(x, dtype=np.float64)\n"
        "    z = float(np.dot(w, x) + b)\n    y = float(sigmoid(z))\n"
        "    dL_dy = float(dL_dy)\n    dy_dz = y * (1.0 - y)\n    dz_dw = x.copy()\n"
        "    x *= dL_dy * dy_dz\n",
        "expect": "in place",
        "names": [],
    },
}
