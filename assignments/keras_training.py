# Your work for Task 8 (Training in Keras): fill in every place that raises
# NotImplementedError("Task 8.M: ..."). Keep the names and signatures of the functions.
"""Task 8: the lecture's MLP in Keras 3 (TensorFlow backend): Sequential, compile, fit, evaluate.

The lecture's code, as functions::

    model = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),
                  metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=5, batch_size=64)

Conventions: ROW layout, X of shape (N, D), one sample per row; labels y are class indices of
shape (N,) (SPARSE labels, not one-hot). Losses are MEANS over the samples of a batch
(Keras' default reduction "sum_over_batch_size"). Layout differs from the lecture and torch:
a Keras ``Dense`` kernel has shape (in, out) and computes Z = X @ K + b, so K = W.T for the
lecture's / torch's W of shape (out, in).

Unlike the torch version, this model ends in a softmax, so it outputs PROBABILITIES; the loss
must therefore be told ``from_logits=False``. With softmax removed and ``from_logits=False`` the
loss would take logits for probabilities (clip to [1e-7, 1 - 1e-7], log): wrong loss, wrong
gradients. With softmax kept and ``from_logits=True`` the loss would in general apply a second
softmax; Keras 3's TensorFlow backend happens to rescue that case (it finds the logits the
softmax saved on its output, uses them, and only warns), so ask for what the model outputs
rather than rely on it. With the lecture's pairing the TF backend computes the loss from those
saved logits too, so it is as stable as a linear last layer with ``from_logits=True``.

Importing this module imports Keras (a few seconds). It sets, only if not already set,
``KERAS_BACKEND=tensorflow``, ``TF_CPP_MIN_LOG_LEVEL=3`` and ``TF_ENABLE_ONEDNN_OPTS=0`` so
that TensorFlow writes nothing to stderr (nbgrader scores a cell that writes to stderr 0).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402

__all__ = [
    "build_model",
    "compile_model",
    "train",
    "evaluate",
    "set_determinism",
    "to_arrays",
]


# ---------------------------------------------------------------------------
# Given helpers (not graded)
# ---------------------------------------------------------------------------


def set_determinism(seed: int) -> None:
    """Seed Python, numpy and the backend (``keras.utils.set_random_seed(seed)``) and make TF ops deterministic.

    Also calls ``tf.config.experimental.enable_op_determinism()`` once (TensorFlow backend only):
    together they give bit-identical reruns of ``fit``. Global side effects, by design.
    """
    keras.utils.set_random_seed(int(seed))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def to_arrays(X: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert (X, y) for Keras: X -> ``keras.config.floatx()`` (float32 unless changed), y -> int64.

    X: array-like (N, D) -> ndarray (N, D) of dtype floatx; y: array-like (N,) -> ndarray (N,)
    int64, or None. Returns new arrays or the inputs themselves; nothing is written to them.
    """
    X_a = np.asarray(X, dtype=keras.config.floatx())
    y_a = None if y is None else np.asarray(y, dtype=np.int64)
    return X_a, y_a


# ---------------------------------------------------------------------------
# Graded functions
# ---------------------------------------------------------------------------


def build_model(
    input_dim: int = 784, hidden: int = 256, num_classes: int = 10, seed: int | None = None
) -> keras.Sequential:
    """Return the lecture's MLP p = softmax(relu(x K1 + b1) K2 + b2) as keras.Sequential([Input, Dense(relu), Dense(softmax)]).

    Layers: ``keras.Input((input_dim,))``, ``Dense(hidden, activation="relu")``,
    ``Dense(num_classes, activation="softmax")``; the model is built (it has an Input), so its
    weights exist: ``model.get_weights()`` is [K1 (input_dim, hidden), b1 (hidden,),
    K2 (hidden, num_classes), b2 (num_classes,)] of dtype ``keras.config.floatx()``
    (float32 by default). Kernels are (in, out): the transpose of torch's ``Linear.weight``.
    The model maps (N, input_dim) to class probabilities (N, num_classes), rows summing to 1.
    Initialisation is Keras' default (Glorot uniform kernels, zero biases) from the global seed;
    if ``seed`` is not None, ``keras.utils.set_random_seed(seed)`` is called first.
    """
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    raise NotImplementedError("Task 8.1: implement build_model (Return the lecture's MLP p = softmax(relu(x K1 + b1) K2 + b2) as keras.Sequential([Input, Dense(relu), Dense(softmax)]))")


def compile_model(model: keras.Model, lr: float = 1e-3) -> keras.Model:
    """Compile the model for L = mean_i -log p[i, y_i] with Adam(lr) and an accuracy metric; return the same model.

    Exactly: ``optimizer=keras.optimizers.Adam(learning_rate=lr)`` (defaults beta_1 0.9,
    beta_2 0.999, epsilon 1e-7), ``loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False)``
    (labels are class indices; the model already outputs softmax probabilities, so
    ``from_logits=False``), ``metrics=["accuracy"]``.
    Mutates (compiles) ``model`` in place and returns it; the weights are not changed.
    """
    raise NotImplementedError('Task 8.2: implement compile_model (Compile the model for L = mean_i -log p[i, y_i] with Adam(lr) and an accuracy metric; return the same model)')


def train(
    model: keras.Model,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int = 5,
    batch_size: int = 64,
    seed: int = 0,
    validation_split: float = 0.0,
) -> dict[str, list[float]]:
    """Fit the compiled model by mini-batch descent on the compiled loss; return the per-epoch history as a plain dict.

    X: array-like (N, D), converted to ``keras.config.floatx()``; y: array-like (N,) int class
    indices. Seeds first with ``set_determinism(seed)`` (global: Python, numpy, TF seeds and
    deterministic ops), then exactly ``model.fit(X, y, epochs=epochs, batch_size=batch_size,
    shuffle=True, validation_split=validation_split, verbose=0)``.
    Returns ``history.history`` as a plain dict mapping each key ("loss", "accuracy", and
    "val_loss", "val_accuracy" when validation_split > 0) to a list of ``epochs`` Python floats.
    Each epoch's "loss" is Keras' running mean over that epoch's batches, before each step.
    Mutates the model's weights and optimizer state; X and y are not changed.
    """
    X_a, y_a = to_arrays(X, y)
    set_determinism(seed)
    raise NotImplementedError('Task 8.3: implement train (Fit the compiled model by mini-batch descent on the compiled loss; return the per-epoch history as a plain dict)')


def evaluate(model: keras.Model, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Return the compiled loss mean_i -log p[i, y_i] and the accuracy mean_i [argmax_c p[i, c] == y_i] on (X, y) as a dict.

    The dict is ``{"loss": float, "accuracy": float}``.

    X: array-like (N, D), converted to ``keras.config.floatx()``; y: array-like (N,) int class
    indices. Uses ``model.evaluate(X, y, verbose=0, return_dict=True)`` and keeps the keys
    "loss" and "accuracy" as Python floats. Weights, X and y are not changed.
    """
    X_a, y_a = to_arrays(X, y)
    raise NotImplementedError('Task 8.4: implement evaluate (Return the compiled loss mean_i -log p[i, y_i] and the accuracy mean_i [argmax_c p[i, c] == y_i] on (X, y) as a dict)')
