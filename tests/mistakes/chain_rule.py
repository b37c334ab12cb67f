"""Planted mistakes of Task 2 (chain_rule.py), applied to a copy of solutions/chain_rule.py by run_catalog.py.

Each entry: the exact reference text to find, the buggy text, and a phrase the feedback must
contain (None: losing points is enough).
"""

MISTAKES = {
    "f_grad_used_u_not_2u": {
        "find": "df_du = 2.0 * u",
        "replace": "df_du = u",
        "expect": "used u instead of 2u",
    },
    "compose_df_at_x": {
        "find": "return float(df(u) * dg(x))",
        "replace": "return float(df(x) * dg(x))",
        "expect": "called df at x instead of at the inner value g(x)",
    },
    "compose_forgot_inner_derivative": {
        "find": "return float(df(u) * dg(x))",
        "replace": "return float(df(u))",
        "expect": "forgot the inner derivative",
    },
    "compose_wrong_order": {
        "find": "return float(f(g(x)))",
        "replace": "return float(g(f(x)))",
        "expect": "composed in the wrong order",
    },
    "neuron_forward_forgot_bias": {
        "find": "    z = float(np.dot(w, x) + b)\n    return float(sigmoid(z))",
        "replace": "    z = float(np.dot(w, x))\n    return float(sigmoid(z))",
        "expect": "forgot the bias",
    },
    # sigma'(a) instead of sigma'(z)
    "neuron_sigma_prime_of_a": {
        "find": "dy_dz = y * (1.0 - y)",
        "replace": "dy_dz = float(sigmoid(y)) * (1.0 - float(sigmoid(y)))",
        "expect": "used sigma'(a)",
    },
    "neuron_forgot_upstream_gradient": {
        "find": "dL_dz = dL_dy * dy_dz",
        "replace": "dL_dz = dy_dz",
        "expect": "forgot to multiply by the upstream gradient",
    },
    "neuron_dw_times_w": {
        "find": '"dL_dw": dL_dz * dz_dw,',
        "replace": '"dL_dw": dL_dz * w,',
        "expect": "multiplied by w instead of x",
    },
}
