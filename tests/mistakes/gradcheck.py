"""Planted mistakes of Task 5 (solutions/gradcheck.py) and the phrase the feedback must contain."""

MISTAKES = {
    "forward_difference": {
        "find": """            x[idx] = old - h
            f_minus = float(np.asarray(f(x)).reshape(()))
        finally:
            x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2.0 * h)""",
        "replace": """            x[idx] = old
            f_minus = float(np.asarray(f(x)).reshape(()))
        finally:
            x[idx] = old
        grad[idx] = (f_plus - f_minus) / h""",
        "expect": "forward difference used where a centred one belongs",
        "names": ["forward_difference"],
    },
    "divided_by_h_not_2h": {
        "find": "grad[idx] = (f_plus - f_minus) / (2.0 * h)",
        "replace": "grad[idx] = (f_plus - f_minus) / h",
        "expect": "divided by h instead of 2h",
        "names": ["divided_by_h_not_2h", "factor_2"],
    },
    "x_left_perturbed": {
        "find": """        finally:
            x[idx] = old
        grad[idx]""",
        "replace": """        finally:
            pass
        grad[idx]""",
        "expect": "an entry was left perturbed",
        "names": [],
    },
    "restored_by_arithmetic": {
        "find": """        try:
            x[idx] = old + h
            f_plus = float(np.asarray(f(x)).reshape(()))
            x[idx] = old - h
            f_minus = float(np.asarray(f(x)).reshape(()))
        finally:
            x[idx] = old""",
        "replace": """        x[idx] += h
        f_plus = float(np.asarray(f(x)).reshape(()))
        x[idx] -= 2 * h
        f_minus = float(np.asarray(f(x)).reshape(()))
        x[idx] += h""",
        "expect": "restoring by arithmetic",
        "names": [],
    },
    "not_restored_when_f_raises": {
        "find": """        try:
            x[idx] = old + h
            f_plus = float(np.asarray(f(x)).reshape(()))
            x[idx] = old - h
            f_minus = float(np.asarray(f(x)).reshape(()))
        finally:
            x[idx] = old""",
        "replace": """        x[idx] = old + h
        f_plus = float(np.asarray(f(x)).reshape(()))
        x[idx] = old - h
        f_minus = float(np.asarray(f(x)).reshape(()))
        x[idx] = old""",
        "expect": "`finally:` block",
        "names": [],
    },
    "perturbs_a_copy": {
        "find": """        old = x[idx]
        try:
            x[idx] = old + h
            f_plus = float(np.asarray(f(x)).reshape(()))
            x[idx] = old - h
            f_minus = float(np.asarray(f(x)).reshape(()))
        finally:
            x[idx] = old""",
        "replace": """        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        f_plus = float(np.asarray(f(xp)).reshape(()))
        f_minus = float(np.asarray(f(xm)).reshape(()))""",
        "expect": "perturb x IN PLACE",
        "names": [],
    },
    "relative_error_no_floor": {
        "find": "err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(b))",
        "replace": "err = np.abs(a - b) / (np.abs(a) + np.abs(b))",
        "expect": "max(1e-8, |a| + |b|)",
        "names": ["relative_error_no_floor"],
    },
    "relative_error_mean": {
        "find": "    return float(err.max())",
        "replace": "    return float(err.mean())",
        "expect": "took the mean of the entrywise errors",
        "names": ["relative_error_mean"],
    },
    "relative_error_abs_of_sum": {
        "find": "err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(b))",
        "replace": "err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a + b))",
        "expect": "not max(1e-8, |a + b|)",
        "names": ["relative_error_abs_of_sum"],
    },
    "check_gradients_reports_last_entry": {
        "find": 'if first or err > best["max_rel_error"]:',
        "replace": "if True:",
        "expect": "['passed'] must be False",
        "names": [],
    },
    "check_gradients_no_restore": {
        "find": """            f_minus = float(np.asarray(f(work)).reshape(()))
            p[idx] = old""",
        "replace": """            f_minus = float(np.asarray(f(work)).reshape(()))""",
        "expect": "perturbed at once",
        "names": [],
    },
    "check_gradients_ignores_num_samples": {
        "find": "if num_samples is not None and num_samples < p.size:",
        "replace": "if False:",
        "expect": "distinct entries",
        "names": ["num_samples_ignored"],
    },
    "check_gradients_ignores_tol": {
        "find": 'best["passed"] = bool(best["max_rel_error"] < tol)',
        "replace": 'best["passed"] = bool(best["max_rel_error"] < DEFAULT_TOL)',
        "expect": "tol=0.6",
        "names": [],
    },
    # ---- h: the step taken ----
    "numerical_gradient_ignores_h": {
        "find": "    grad = np.zeros(x.shape, dtype=np.float64)\n    for idx in np.ndindex(x.shape):",
        "replace": "    h = 1e-5\n    grad = np.zeros(x.shape, dtype=np.float64)\n    for idx in np.ndindex(x.shape):",
        "expect": "the h argument was not used",
        "names": ["h_ignored"],
    },
    "check_gradients_ignores_h": {
        "find": "    work = {name: np.array(p, dtype=np.float64) for name, p in params.items()}",
        "replace": "    h = 1e-5\n    work = {name: np.array(p, dtype=np.float64) for name, p in params.items()}",
        "expect": "the h argument was not used",
        "names": ["h_ignored"],
    },
    "backward_difference": {
        "find": "            x[idx] = old + h\n"
        "            f_plus = float(np.asarray(f(x)).reshape(()))\n"
        "            x[idx] = old - h\n"
        "            f_minus = float(np.asarray(f(x)).reshape(()))\n"
        "        finally:\n"
        "            x[idx] = old\n"
        "        grad[idx] = (f_plus - f_minus) / (2.0 * h)",
        "replace": "            x[idx] = old\n"
        "            f_plus = float(np.asarray(f(x)).reshape(()))\n"
        "            x[idx] = old - h\n"
        "            f_minus = float(np.asarray(f(x)).reshape(()))\n"
        "        finally:\n"
        "            x[idx] = old\n"
        "        grad[idx] = (f_plus - f_minus) / h",
        "expect": "backward difference",
        "names": ["backward_difference"],
    },
    # ---- the relative error ----
    "relative_error_floor_added": {
        "find": "err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(b))",
        "replace": "err = np.abs(a - b) / (REL_ERROR_FLOOR + np.abs(a) + np.abs(b))",
        "expect": None,
        "names": ["relative_error_floor_added"],
    },
    "relative_error_one_sided": {
        "find": "err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(b))",
        "replace": "err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(b))",
        "expect": None,
        "names": ["relative_error_one_sided"],
    },
    # ---- the sample of check_gradients ----
    "seed_zero_treated_as_none": {
        "find": "            rng = np.random.default_rng(seed)",
        "replace": "            rng = np.random.default_rng(seed if seed else None)",
        "expect": "seed=0 was treated as no seed",
        "names": ["seed_zero_treated_as_none"],
    },
    "sampled_with_replacement": {
        "find": "replace=False",
        "replace": "replace=True",
        "expect": "draw WITHOUT replacement",
        "names": ["sampled_with_replacement"],
    },
    "one_generator_for_all_parameters": {
        "find": "    for name, p in work.items():\n"
        "        g = np.asarray(grads[name], dtype=np.float64)\n"
        "        if g.shape != p.shape:\n"
        '            raise ValueError(f"{name}: gradient shape {g.shape} != parameter shape {p.shape}")\n'
        "        if num_samples is not None and num_samples < p.size:\n"
        "            rng = np.random.default_rng(seed)\n",
        "replace": "    shared = np.random.default_rng(seed)\n"
        "    for name, p in work.items():\n"
        "        g = np.asarray(grads[name], dtype=np.float64)\n"
        "        if g.shape != p.shape:\n"
        '            raise ValueError(f"{name}: gradient shape {g.shape} != parameter shape {p.shape}")\n'
        "        if num_samples is not None and num_samples < p.size:\n"
        "            rng = shared\n",
        "expect": "one generator was shared by all parameters",
        "names": ["one_generator_for_all_parameters"],
    },
    "integer_params_not_copied": {
        "find": "    work = {name: np.array(p, dtype=np.float64) for name, p in params.items()}",
        "replace": "    work = {name: np.array(p) for name, p in params.items()}",
        "expect": "work on float64 copies",
        "names": ["integer_params_not_copied"],
    },
}
