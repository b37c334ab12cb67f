"""Serves timing requests for Keras ``train_on_batch`` (comparison 4), so that importing TensorFlow
costs nothing to the other engines: one JSON line in, one JSON line out.

``python -m grader.course.bench.keras_server DATA.npz`` (started by ``engines_child``).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # TensorFlow's chatter goes to stderr
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    data = np.load(argv[0])
    models = {}
    for dtype in ("float32", "float64"):
        keras.config.set_floatx(dtype)
        model = keras.Sequential(
            [keras.Input((784,)), keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)]
        )
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=float(data["lr"])),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.layers[0].set_weights([data["W1"].T.astype(dtype), data["b1"].astype(dtype)])
        model.layers[1].set_weights([data["W2"].T.astype(dtype), data["b2"].astype(dtype)])
        models[dtype] = (model, tf.constant(data["X"].astype(dtype)), tf.constant(data["y"].astype("int64")))
    keras.config.set_floatx("float32")
    out.write(json.dumps({"ready": True, "keras": keras.__version__, "tensorflow": tf.__version__}) + "\n")
    for line in sys.stdin:
        req = json.loads(line)
        model, X, y = models[req["dtype"]]
        start = time.perf_counter()
        for _ in range(int(req["steps"])):
            model.train_on_batch(X, y)
        out.write(json.dumps({"seconds": (time.perf_counter() - start) / int(req["steps"])}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
