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
    },
    "divided_by_h_not_2h": {
        "find": "grad[idx] = (f_plus - f_minus) / (2.0 * h)",
        "replace": "grad[idx] = (f_plus - f_minus) / h",
        "expect": "divided by h instead of 2h",
    },
    "x_left_perturbed": {
        "find": """        finally:
            x[idx] = old
        grad[idx]""",
        "replace": """        finally:
            pass
        grad[idx]""",
        "expect": "an entry was left perturbed",
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
    },
    "relative_error_no_floor": {
        "find": "err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(b))",
        "replace": "err = np.abs(a - b) / (np.abs(a) + np.abs(b))",
        "expect": "max(1e-8, |a| + |b|)",
    },
    "relative_error_mean": {
        "find": "    return float(err.max())",
        "replace": "    return float(err.mean())",
        "expect": "took the mean of the entrywise errors",
    },
    "relative_error_abs_of_sum": {
        "find": "err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(b))",
        "replace": "err = np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a + b))",
        "expect": "not |a + b|",
    },
    "check_gradients_reports_last_entry": {
        "find": 'if first or err > best["max_rel_error"]:',
        "replace": "if True:",
        "expect": "['passed'] must be False",
    },
    "check_gradients_no_restore": {
        "find": """            f_minus = float(np.asarray(f(work)).reshape(()))
            p[idx] = old""",
        "replace": """            f_minus = float(np.asarray(f(work)).reshape(()))""",
        "expect": "perturbed at once",
    },
    "check_gradients_ignores_num_samples": {
        "find": "if num_samples is not None and num_samples < p.size:",
        "replace": "if False:",
        "expect": "distinct entries",
    },
    "check_gradients_ignores_tol": {
        "find": 'best["passed"] = bool(best["max_rel_error"] < tol)',
        "replace": 'best["passed"] = bool(best["max_rel_error"] < DEFAULT_TOL)',
        "expect": "tol=0.6",
    },
}
