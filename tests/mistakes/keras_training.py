"""Planted mistakes of Task 8 (keras_training.py), applied to a copy of solutions/keras_training.py by run_catalog.py.

Each entry: the exact reference text to find, the buggy text, a phrase the feedback must contain
(None: losing points is enough) and ``names``: the diagnosis ids (without the task prefix) its
failing checks may name (at least one of them must be named; [] = none may be). Finds start with
the code's indentation after a newline so that they never match the same text in a docstring.
"""

MISTAKES = {
    # from_logits mismatch, 1: a linear last layer with from_logits=False
    "linear_last_layer": {
        "find": '            keras.layers.Dense(num_classes, activation="softmax"),\n',
        "replace": "            keras.layers.Dense(num_classes),\n",
        "expect": "the last Dense layer has no softmax",
        "names": ["linear_output_layer"],
    },
    # no Input: the model is built only by its first call (fit builds it); the held-out check's own
    # pipeline must still train it (its preparation, BUILD, leaves a model that is not built to fit)
    "build_model_without_input": {
        "find": "\n            keras.Input((input_dim,)),\n",
        "replace": "\n",
        "expect": "its first layer has no weight matrix",
        "names": [],
    },
    # from_logits mismatch, 2: softmax output with from_logits=True (Keras 3 silently
    # uses the softmax's saved logits, so only the configuration shows it)
    "from_logits_true": {
        "find": "\n        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),\n",
        "replace": "\n        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n",
        "expect": "compiled with from_logits=True",
        "names": ["from_logits_true"],
    },
    "categorical_instead_of_sparse": {
        "find": "\n        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),\n",
        "replace": "\n        loss=keras.losses.CategoricalCrossentropy(from_logits=False),\n",
        "expect": "expects one-hot labels",
        "names": ["categorical_not_sparse"],
    },
    "lr_ignored": {
        "find": "\n        optimizer=keras.optimizers.Adam(learning_rate=lr),\n",
        "replace": "\n        optimizer=keras.optimizers.Adam(),\n",
        "expect": "compile_model ignored its lr argument",
        "names": ["compile_lr_ignored"],
    },
    # compile_model never calls compile: the held-out check's own pipeline meets an uncompiled model, and the
    # feedback is train's own error (not the check's preparation of the model, which gives way: BUILD)
    "compile_missing": {
        "find": "\n    model.compile(\n        optimizer=keras.optimizers.Adam(learning_rate=lr),\n",
        "replace": "\n    dict(\n        optimizer=keras.optimizers.Adam(learning_rate=lr),\n",
        "expect": "left the model uncompiled",
        "names": [],
    },
    "sgd_instead_of_adam": {
        "find": "\n        optimizer=keras.optimizers.Adam(learning_rate=lr),\n",
        "replace": "\n        optimizer=keras.optimizers.SGD(learning_rate=lr),\n",
        "expect": "expected keras.optimizers.Adam",
        "names": ["optimizer_not_adam"],
    },
    # -- fit's arguments ------------------------------------------------------------------------
    "epochs_ignored": {
        "find": "\n        epochs=epochs,\n        batch_size=batch_size,\n",
        "replace": "\n        epochs=5,\n        batch_size=batch_size,\n",
        "expect": "pass epochs=epochs to fit",
        "names": ["wrong_number_of_epochs"],
    },
    # fit's default batch size (32) instead of batch_size
    "batch_size_ignored": {
        "find": "\n        batch_size=batch_size,\n        shuffle=True,\n",
        "replace": "\n        shuffle=True,\n",
        "expect": "pass batch_size=batch_size",
        "names": ["batch_size_ignored"],
    },
    "not_shuffled": {
        "find": "\n        shuffle=True,\n",
        "replace": "\n        shuffle=False,\n",
        "expect": "the samples were not shuffled",
        "names": ["not_shuffled"],
    },
    "validation_split_ignored": {
        "find": "\n        validation_split=validation_split,\n",
        "replace": "\n",
        "expect": "pass validation_split=validation_split",
        "names": ["validation_split_ignored"],
    },
    # without set_determinism the shuffles of two runs differ
    "set_determinism_missing": {
        "find": "\n    set_determinism(seed)\n",
        "replace": "\n",
        "expect": "call set_determinism(seed) before fit",
        "names": ["train_not_reproducible"],
    },
    # a shuffle by hand: two shuffles of one generator are two different permutations (and in place)
    "x_and_y_shuffled_separately_in_place": {
        "find": "\n    set_determinism(seed)\n",
        "replace": (
            "\n    set_determinism(seed)\n    rng = np.random.default_rng(seed)\n    rng.shuffle(X_a)\n"
            "    rng.shuffle(y_a)\n"
        ),
        "expect": None,
        "names": [],
    },
    "train_returns_history_object": {
        "find": "    return {k: [float(v) for v in vals] for k, vals in history.history.items()}",
        "replace": "    return history",
        "expect": "expected history.history as a dict",
        "names": [],
    },
    # -- build_model's seed ---------------------------------------------------------------------
    "build_seed_not_applied": {
        "find": "\n    if seed is not None:\n        keras.utils.set_random_seed(int(seed))\n",
        "replace": "\n",
        "expect": "call keras.utils.set_random_seed(seed) BEFORE creating the model",
        "names": ["build_seed_not_applied"],
    },
    "build_seed_zero_ignored": {
        "find": "\n    if seed is not None:\n        keras.utils.set_random_seed(int(seed))\n",
        "replace": "\n    if seed:\n        keras.utils.set_random_seed(int(seed))\n",
        "expect": "seed=0 was treated as no seed",
        "names": ["seed_zero_ignored"],
    },
    # -- evaluate -------------------------------------------------------------------------------
    "evaluate_keys_swapped": {
        "find": 'return {"loss": float(result["loss"]), "accuracy": float(result["accuracy"])}',
        "replace": 'return {"loss": float(result["accuracy"]), "accuracy": float(result["loss"])}',
        "expect": "the keys are swapped",
        "names": ["evaluate_keys_swapped"],
    },
    "evaluate_accuracy_as_percentage": {
        "find": '"accuracy": float(result["accuracy"])}',
        "replace": '"accuracy": 100 * float(result["accuracy"])}',
        "expect": "returned a percentage",
        "names": ["accuracy_as_percentage"],
    },
}
