"""Planted mistakes of Task 6 (solutions/minibatch.py), the phrase the feedback must contain and
the diagnosis ids it may name ("names", without the task prefix; an empty list: nothing may be
named, because no check can prove that mistake from the values it sees)."""

MISTAKES = {
    # -- batch_indices / iterate_minibatches ---------------------------------------------------
    "last_partial_batch_dropped": {
        "find": "return [order[start : start + batch_size] for start in range(0, n, batch_size)]",
        "replace": "return [order[start : start + batch_size] for start in range(0, n - batch_size + 1, batch_size)]",
        "expect": "must be kept, not dropped",
        "names": ["last_batch_dropped"],
    },
    "shuffle_not_seeded": {
        "find": "order = np.random.default_rng(seed).permutation(n).astype(np.int64)",
        "replace": "order = np.random.default_rng().permutation(n).astype(np.int64)",
        "expect": "the seed is not used",
        "names": ["seed_ignored"],
    },
    "seed_zero_as_none": {
        "find": "order = np.random.default_rng(seed).permutation(n).astype(np.int64)",
        "replace": "order = np.random.default_rng(seed if seed else None).permutation(n).astype(np.int64)",
        "expect": "`if seed:` is False for 0",
        "names": ["seed_zero_treated_as_none"],
    },
    "shuffle_ignored": {
        "find": "    if shuffle:\n        order = np.random.default_rng(seed)",
        "replace": "    if False:\n        order = np.random.default_rng(seed)",
        "expect": "shuffle=True was ignored",
        "names": ["shuffle_ignored"],
    },
    "shuffle_always_on": {
        "find": "    if shuffle:\n        order = np.random.default_rng(seed)",
        "replace": "    if True:\n        order = np.random.default_rng(seed)",
        "expect": "it shuffled although shuffle=False",
        "names": ["shuffled_without_shuffle"],
    },
    "x_and_y_different_permutations": {
        "find": "    return ((X[idx], y[idx]) for idx in batches)",
        "replace": "    y_batches = batch_indices(X.shape[0], batch_size, shuffle=shuffle, seed=seed)\n"
        "    return ((X[idx], y[jdx]) for idx, jdx in zip(batches, y_batches))",
        "expect": "X and y were indexed with different orders",
        "names": ["x_and_y_different_permutations"],
    },
    "arguments_checked_lazily": {
        "find": "    return ((X[idx], y[idx]) for idx in batches)",
        "replace": "    yield from ((X[idx], y[idx]) for idx in batches)",
        "expect": "it raised only when iterated",
        "names": ["arguments_checked_lazily"],
    },
    "batches_are_views": {
        "find": "    return ((X[idx], y[idx]) for idx in batches)",
        "replace": "    if not shuffle:\n"
        "        return ((X[i[0]:i[-1] + 1], y[i[0]:i[-1] + 1]) for i in batches)\n"
        "    return ((X[idx], y[idx]) for idx in batches)",
        "expect": "the batches must be copies",
        "names": [],
    },
    "labels_cast_to_int": {
        "find": "    y = np.asarray(y)\n    if y.shape[:1] != X.shape[:1]:",
        "replace": "    y = np.asarray(y, dtype=np.int64)\n    if y.shape[:1] != X.shape[:1]:",
        "expect": "the labels were cast to int",
        "names": ["labels_cast_to_int"],
    },
    "floor_updates_per_epoch": {
        "find": "return int(-(-int(n) // int(batch_size)))",
        "replace": "return int(n) // int(batch_size)",
        "expect": "ceil, not floor",
        "names": ["floor_not_ceil"],
    },
    # -- train -----------------------------------------------------------------------------------
    "same_permutation_every_epoch": {
        "find": "iterate_minibatches(X, y, batch_size, shuffle=shuffle, seed=rng)",
        "replace": "iterate_minibatches(X, y, batch_size, shuffle=shuffle, seed=seed)",
        "expect": "it repeats epoch 1's order",
        "names": ["epoch_order_repeated"],
    },
    "order_drawn_once": {
        "find": "    for epoch in range(1, epochs + 1):\n        step = 0\n"
        "        for step, (Xb, yb) in enumerate(iterate_minibatches(X, y, batch_size, shuffle=shuffle, "
        "seed=rng), start=1):",
        "replace": "    fixed = batch_indices(X.shape[0], batch_size, shuffle=shuffle, seed=rng)\n"
        "    for epoch in range(1, epochs + 1):\n        step = 0\n"
        "        for step, (Xb, yb) in enumerate(((X[i], y[i]) for i in fixed), start=1):",
        "expect": "or one order drawn before the epoch loop",
        "names": ["epoch_order_repeated"],
    },
    "step_divided_by_batch_size": {
        "find": "                params[k] -= lr * grads[k]\n            num_updates += 1",
        "replace": "                params[k] -= lr * grads[k] / len(yb)\n            num_updates += 1",
        "expect": "divides the gradient by the batch size again",
        "names": ["step_divided_by_batch_size", "off_by_one_over_n"],
    },
    "sum_over_batch_not_mean": {
        "find": "                params[k] -= lr * grads[k]\n            num_updates += 1",
        "replace": "                params[k] -= lr * grads[k] * len(yb)\n            num_updates += 1",
        "expect": "SUM of the per-sample gradients",
        "names": ["sum_over_batch_not_mean", "off_by_n"],
    },
    "history_from_last_batch_loss": {
        "find": 'train_loss.append(checked(model.loss(X, y, params), "end-of-epoch training loss", epoch, step))',
        "replace": 'train_loss.append(checked(loss, "end-of-epoch training loss", epoch, step))',
        "expect": "on the FULL training set after the epoch",
        "names": ["history_from_last_batch_loss"],
    },
    "initial_loss_missing": {
        "find": '    train_loss = [checked(model.loss(X, y, params), "initial training loss", 0, 0)]\n',
        "replace": '    checked(model.loss(X, y, params), "initial training loss", 0, 0)\n    train_loss = []\n',
        "expect": "the loss before any update is missing",
        "names": ["initial_loss_missing"],
    },
    "initial_params_not_copied": {
        "find": "    params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in model.params.items()}\n"
        "    rng = np.random.default_rng(seed)",
        "replace": "    params = model.params\n    rng = np.random.default_rng(seed)",
        "expect": "wrote into the arrays of model.params",
        "names": [],
    },
    "early_stopping_not_restoring_best": {
        "find": "final = best_params if patience is not None else params",
        "replace": "final = params",
        "expect": "returned the final parameters instead of the best epoch's",
        "names": ["returned_final_not_best_params"],
    },
    "best_params_not_copied": {
        "find": "                best_params = {k: p.copy() for k, p in params.items()}",
        "replace": "                best_params = params",
        "expect": "keep a COPY of the parameters of every new best epoch",
        "names": ["returned_final_not_best_params"],
    },
    "ties_count_as_improvement": {
        "find": "if v < val_loss[best_epoch]:",
        "replace": "if v <= val_loss[best_epoch]:",
        "expect": "a tie with the best validation loss counted as an improvement",
        "names": ["tie_counts_as_improvement"],
    },
    "patience_off_by_one": {
        "find": "if patience is not None and since_best >= patience:",
        "replace": "if patience is not None and since_best > patience:",
        "expect": "it stops one epoch late",
        "names": ["patience_one_epoch_late"],
    },
    "patience_one_epoch_early": {
        "find": "if patience is not None and since_best >= patience:",
        "replace": "if patience is not None and since_best >= patience - 1:",
        "expect": "it stops one epoch early",
        "names": ["patience_one_epoch_early"],
    },
    "no_nan_stop": {
        "find": "        if not np.isfinite(value):",
        "replace": "        if False:",
        "expect": "expected FloatingPointError",
        "names": [],
    },
    "nan_stop_only_at_epoch_end": {
        "find": '            checked(loss, "training batch loss", epoch, step)\n',
        "replace": "",
        "expect": "only the batch loss becomes NaN",
        "names": [],
    },
    # -- standardisation, the overfit check ------------------------------------------------------
    "standardize_with_test_stats": {
        "find": "    return (np.asarray(X, dtype=np.float64) - mean) / std",
        "replace": "    X = np.asarray(X, dtype=np.float64)\n    return (X - X.mean(axis=0)) / X.std(axis=0)",
        "expect": "with the statistics of the data passed in",
        "names": ["standardized_with_own_statistics"],
    },
    "standardize_epsilon": {
        "find": "    return (np.asarray(X, dtype=np.float64) - mean) / std",
        "replace": "    return (np.asarray(X, dtype=np.float64) - mean) / (std + 1e-8)",
        "expect": "divided by std + eps",
        "names": ["epsilon_added_to_std"],
    },
    "standardize_constant_by_std_zero": {
        "find": "constant = X_train.max(axis=0) == X_train.min(axis=0)",
        "replace": "constant = std == 0",
        "expect": "test max == min, not std == 0",
        "names": ["constant_feature_std_residue"],
    },
    "standardize_ddof_one": {
        "find": "    std = X_train.std(axis=0)\n",
        "replace": "    std = X_train.std(axis=0, ddof=1)\n",
        "expect": "ddof=1",
        "names": ["std_ddof_one"],
    },
    "overfit_on_all_rows": {
        "find": "    X = np.asarray(X, dtype=np.float64)[:n]\n    y = np.asarray(y)[:n]",
        "replace": "    X = np.asarray(X, dtype=np.float64)\n    y = np.asarray(y)",
        "expect": "trained on all rows instead of the first n",
        "names": ["overfit_all_rows"],
    },
    "overfit_lr_ignored": {
        "find": "            params[k] -= lr * grads[k]\n    return float(model.loss(X, y, params))",
        "replace": "            params[k] -= 0.5 * grads[k]\n    return float(model.loss(X, y, params))",
        "expect": "the argument lr was ignored",
        "names": ["overfit_argument_ignored_lr"],
    },
    "overfit_changes_model": {
        "find": "    params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in model.params.items()}\n"
        "    for _ in range(steps):",
        "replace": "    params = model.params\n    for _ in range(steps):",
        "expect": "wrote into model.params",
        "names": [],
    },
}
