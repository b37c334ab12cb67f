"""Planted mistakes of Task 8 (keras_training.py), applied to a copy of solutions/keras_training.py by run_catalog.py.

Each entry: the exact reference text to find, the buggy text, and a phrase the feedback must
contain (None: losing points is enough). Finds start with the code's indentation after a newline so
that they never match the same text in a docstring.
"""

MISTAKES = {
    # from_logits mismatch, 1: a linear last layer with from_logits=False
    "linear_last_layer": {
        "find": '            keras.layers.Dense(num_classes, activation="softmax"),\n',
        "replace": "            keras.layers.Dense(num_classes),\n",
        "expect": "the last Dense layer has no softmax",
    },
    # from_logits mismatch, 2: softmax output with from_logits=True (Keras 3 silently
    # uses the softmax's saved logits, so only the configuration shows it)
    "from_logits_true": {
        "find": "\n        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),\n",
        "replace": "\n        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n",
        "expect": "compiled with from_logits=True",
    },
    "categorical_instead_of_sparse": {
        "find": "\n        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),\n",
        "replace": "\n        loss=keras.losses.CategoricalCrossentropy(from_logits=False),\n",
        "expect": "expects one-hot labels",
    },
    "epochs_ignored": {
        "find": "\n        epochs=epochs,\n        batch_size=batch_size,\n",
        "replace": "\n        epochs=5,\n        batch_size=batch_size,\n",
        "expect": "pass epochs=epochs to fit",
    },
    "lr_ignored": {
        "find": "\n        optimizer=keras.optimizers.Adam(learning_rate=lr),\n",
        "replace": "\n        optimizer=keras.optimizers.Adam(),\n",
        "expect": "compile_model ignored its lr argument",
    },
    "sgd_instead_of_adam": {
        "find": "\n        optimizer=keras.optimizers.Adam(learning_rate=lr),\n",
        "replace": "\n        optimizer=keras.optimizers.SGD(learning_rate=lr),\n",
        "expect": "expected keras.optimizers.Adam",
    },
    "evaluate_keys_swapped": {
        "find": 'return {"loss": float(result["loss"]), "accuracy": float(result["accuracy"])}',
        "replace": 'return {"loss": float(result["accuracy"]), "accuracy": float(result["loss"])}',
        "expect": "the keys are swapped",
    },
    "train_returns_history_object": {
        "find": "    return {k: [float(v) for v in vals] for k, vals in history.history.items()}",
        "replace": "    return history",
        "expect": "expected history.history as a dict",
    },
}
