"""Planted mistakes of Task 6 (solutions/minibatch.py) and the phrase the feedback must contain."""

MISTAKES = {
    "last_partial_batch_dropped": {
        "find": "return [order[start : start + batch_size] for start in range(0, n, batch_size)]",
        "replace": "return [order[start : start + batch_size] for start in range(0, n - batch_size + 1, batch_size)]",
        "expect": "must be kept, not dropped",
    },
    "shuffle_not_seeded": {
        "find": "order = np.random.default_rng(seed).permutation(n).astype(np.int64)",
        "replace": "order = np.random.default_rng().permutation(n).astype(np.int64)",
        "expect": "default_rng(0).permutation(10)",
    },
    "same_permutation_every_epoch": {
        "find": "iterate_minibatches(X, y, batch_size, shuffle=shuffle, seed=rng)",
        "replace": "iterate_minibatches(X, y, batch_size, shuffle=shuffle, seed=seed)",
        "expect": "it repeats epoch 1's order",
    },
    "floor_updates_per_epoch": {
        "find": "return int(-(-int(n) // int(batch_size)))",
        "replace": "return int(n) // int(batch_size)",
        "expect": "ceil, not floor",
    },
    "initial_params_not_copied": {
        "find": "    params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in model.params.items()}\n"
                "    rng = np.random.default_rng(seed)",
        "replace": "    params = model.params\n    rng = np.random.default_rng(seed)",
        "expect": "wrote into the arrays of model.params",
    },
    "early_stopping_not_restoring_best": {
        "find": "final = best_params if patience is not None else params",
        "replace": "final = params",
        "expect": "returned the final parameters instead of the best epoch's",
    },
    "best_params_not_copied": {
        "find": "                best_params = {k: p.copy() for k, p in params.items()}",
        "replace": "                best_params = params",
        "expect": "restore the parameters of the best epoch",
    },
    "ties_count_as_improvement": {
        "find": "if v < val_loss[best_epoch]:",
        "replace": "if v <= val_loss[best_epoch]:",
        "expect": "a tie with the best is not an improvement",
    },
    "patience_off_by_one": {
        "find": "if patience is not None and since_best >= patience:",
        "replace": "if patience is not None and since_best > patience:",
        "expect": "stop after `patience` epochs in a row",
    },
    "no_nan_stop": {
        "find": "        if not np.isfinite(value):",
        "replace": "        if False:",
        "expect": "expected FloatingPointError",
    },
    "nan_stop_only_at_epoch_end": {
        "find": '            checked(loss, "training batch loss", epoch, step)\n',
        "replace": "",
        "expect": "only the batch loss becomes NaN",
    },
    "standardize_with_test_stats": {
        "find": "    return (np.asarray(X, dtype=np.float64) - mean) / std",
        "replace": "    X = np.asarray(X, dtype=np.float64)\n    return (X - X.mean(axis=0)) / X.std(axis=0)",
        "expect": "with their own statistics",
    },
    "standardize_constant_by_std_zero": {
        "find": "constant = X_train.max(axis=0) == X_train.min(axis=0)",
        "replace": "constant = std == 0",
        "expect": "test max == min, not std == 0",
    },
    "standardize_ddof_one": {
        "find": "    std = X_train.std(axis=0)\n",
        "replace": "    std = X_train.std(axis=0, ddof=1)\n",
        "expect": "ddof=1",
    },
    "overfit_on_all_rows": {
        "find": "    X = np.asarray(X, dtype=np.float64)[:n]\n    y = np.asarray(y)[:n]",
        "replace": "    X = np.asarray(X, dtype=np.float64)\n    y = np.asarray(y)",
        "expect": "trained on all rows instead of the first n",
    },
    "overfit_changes_model": {
        "find": "    params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in model.params.items()}\n"
                "    for _ in range(steps):",
        "replace": "    params = model.params\n    for _ in range(steps):",
        "expect": "wrote into model.params",
    },
}
