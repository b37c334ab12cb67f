"""Task 3: backpropagation through a fully connected network (numpy only).

Conventions used by every function in this module
--------------------------------------------------
* ROW layout: a batch ``X`` has shape (N, D), one sample per row. All arrays are float64.
* Layer l (l = 1..L) has weights ``W_l`` of shape (out, in) -- as in the lecture and as
  torch's ``Linear.weight`` -- and a bias ``b_l`` of shape (out,). ``params`` is the list
  ``[(W_1, b_1), ..., (W_L, b_L)]``; Python index ``i`` holds layer ``l = i + 1``.
* Forward pass: ``A_0 = X``, ``Z_l = A_{l-1} @ W_l.T + b_l``, ``A_l = act(Z_l)`` where ``act`` is
  the hidden activation ("sigmoid" or "relu") for l < L and the output activation for l = L.
* Output / loss pairs (losses are MEANS, the lecture's 1/n):
    - ``output="sigmoid"`` with the mean squared error over all N*K elements,
      ``loss = mean((A_L - Y)**2)``; ``Y`` has the same shape (N, K) as ``A_L``.
    - ``output="softmax"`` with the cross-entropy averaged over the N samples,
      ``loss = -mean_n log A_L[n, y_n]``; ``Y`` is integer labels (N,) or one-hot (N, C).
* Backward pass (batched; the lecture's column form in brackets):
    ``Delta_L = dLoss/dZ_L``                              (the 1/N of the mean is inside it),
    ``Delta_l = (Delta_{l+1} @ W_{l+1}) * act'(Z_l)``     [delta_l = W_{l+1}^T delta_{l+1} * act'(z_l)],
    ``dW_l = Delta_l.T @ A_{l-1}``                        [dW_l = delta_l a_{l-1}^T, summed over samples],
    ``db_l = Delta_l.sum(axis=0)``                        [db_l = delta_l, summed over samples].
* No function mutates its inputs.
"""

from __future__ import annotations

import numpy as np

Params = list[tuple[np.ndarray, np.ndarray]]

HIDDEN_ACTIVATIONS = ("sigmoid", "relu")
OUTPUTS = ("sigmoid", "softmax")


# ----------------------------------------------------------------------------------------------
# Given helpers (not graded)
# ----------------------------------------------------------------------------------------------


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function sigma(z) = 1 / (1 + exp(-z)), elementwise.

    z: array of any shape; returns float64 of the same shape, values in [0, 1].
    Stable: uses exp(-|z|) only, so no overflow for any finite z (sigma(+-1000) = 1, 0).
    Input not mutated.
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def relu(z: np.ndarray) -> np.ndarray:
    """Rectified linear unit relu(z) = max(z, 0), elementwise.

    z: array of any shape; returns float64 of the same shape. Input not mutated.
    """
    return np.maximum(np.asarray(z, dtype=np.float64), 0.0)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax softmax(z)_k = exp(z_k - max_j z_j) / sum_j exp(z_j - max_j z_j).

    z: logits of shape (N, C) (or (C,)); returns float64 of the same shape whose rows (last
    axis) sum to 1. Stable: subtracting the row maximum keeps exp from overflowing, so logits
    of +-1000 are fine. Input not mutated.
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def activate(z: np.ndarray, name: str) -> np.ndarray:
    """Apply the named activation act(z), name in {"sigmoid", "relu", "softmax"}.

    z: float64 array (N, units); returns float64 of the same shape. Input not mutated.
    """
    if name == "sigmoid":
        return sigmoid(z)
    if name == "relu":
        return relu(z)
    if name == "softmax":
        return softmax(z)
    raise ValueError(f"unknown activation {name!r}; expected 'sigmoid', 'relu' or 'softmax'")


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """One-hot encoding T[n, k] = 1 if y_n = k else 0.

    y: integer labels of shape (N,) with values in 0..num_classes-1; returns float64 (N, C).
    Input not mutated.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y))):
            raise ValueError("labels of shape (N,) must be integer class indices")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must be integers in 0..{num_classes - 1}")
    T = np.zeros((y.shape[0], num_classes), dtype=np.float64)
    T[np.arange(y.shape[0]), y.astype(np.int64)] = 1.0
    return T


def targets(Y: np.ndarray, shape: tuple[int, ...], output: str) -> np.ndarray:
    """Targets as a float64 array T of the prediction's shape (N, K) for the given output.

    output="softmax": Y is integer labels (N,) (one-hot encoded here) or one-hot (N, C).
    output="sigmoid": Y must already have shape (N, K) -- a (N,) target against (N, 1)
    predictions would silently broadcast to (N, N), so it is rejected. Input not mutated.
    """
    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r}; expected 'sigmoid' or 'softmax'")
    Y = np.asarray(Y)
    if output == "softmax" and Y.ndim == 1:
        if Y.shape[0] != shape[0]:
            raise ValueError(f"{Y.shape[0]} labels for {shape[0]} samples")
        return one_hot(Y, shape[1])
    if Y.shape != tuple(shape):
        raise ValueError(f"targets have shape {Y.shape}, predictions have shape {tuple(shape)}")
    return np.asarray(Y, dtype=np.float64)


def init_params(layer_sizes: list[int], seed: int = 0) -> Params:
    """Glorot-normal initial weights W_l ~ N(0, 2 / (n_in + n_out)) and zero biases.

    layer_sizes: [D, H_1, ..., H_{L-1}, K], e.g. [64, 32, 10]. Returns
    [(W_1, b_1), ..., (W_L, b_L)] with W_l float64 of shape (layer_sizes[l], layer_sizes[l-1])
    -- (out, in) -- and b_l float64 zeros of shape (layer_sizes[l],). Seeded with
    numpy.random.default_rng(seed), so equal seeds give equal parameters.
    """
    if len(layer_sizes) < 2:
        raise ValueError("need at least an input and an output size")
    rng = np.random.default_rng(seed)
    params: Params = []
    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        std = np.sqrt(2.0 / (n_in + n_out))
        W = rng.normal(0.0, std, size=(n_out, n_in))
        b = np.zeros(n_out, dtype=np.float64)
        params.append((W, b))
    return params


def loss(A_L: np.ndarray, Y: np.ndarray, output: str = "softmax", Z_L: np.ndarray | None = None) -> float:
    """Mean loss: MSE mean((A_L - Y)^2) over all N*K elements, or cross-entropy -mean_n log A_L[n, y_n].

    A_L: network output (N, K) float64; Y: targets, see ``targets`` ((N, K), or labels (N,) for
    softmax). Z_L: optional output pre-activation (N, K); with output="softmax" the
    cross-entropy is then computed as log-sum-exp(Z_L) - Z_L[y], which is finite for any
    logits. Without Z_L, log A_L is clipped below at the smallest positive float64 (so a
    probability that underflowed to 0 gives a large finite loss, not inf). Returns a float.
    Inputs not mutated.
    """
    A_L = np.asarray(A_L, dtype=np.float64)
    T = targets(Y, A_L.shape, output)
    if output == "sigmoid":
        return float(np.mean((A_L - T) ** 2))
    if Z_L is not None:
        Z = np.asarray(Z_L, dtype=np.float64)
        m = Z.max(axis=1, keepdims=True)
        log_p = Z - m - np.log(np.exp(Z - m).sum(axis=1, keepdims=True))
    else:
        log_p = np.log(np.maximum(A_L, np.finfo(np.float64).tiny))
    return float(-np.mean(np.sum(T * log_p, axis=1)))


# ----------------------------------------------------------------------------------------------
# Graded functions
# ----------------------------------------------------------------------------------------------


def activation_grad(z: np.ndarray, name: str) -> np.ndarray:
    """Derivative of the activation at the pre-activation: sigma'(z) = sigma(z)(1 - sigma(z)), relu'(z) = 1[z > 0].

    z: pre-activation, float64 array of any shape (evaluate at z, NOT at the activation a).
    name: "sigmoid" or "relu". Returns float64 of z's shape. relu'(0) is taken as 0.
    Stable for any finite z (uses the stable ``sigmoid``). Input not mutated.
    """
    z = np.asarray(z, dtype=np.float64)
    if name not in HIDDEN_ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected 'sigmoid' or 'relu'")
    ### BEGIN SOLUTION
    if name == "sigmoid":
        s = sigmoid(z)
        return s * (1.0 - s)
    return (z > 0).astype(np.float64)
    ### END SOLUTION


def forward(X: np.ndarray, params: Params, hidden: str = "sigmoid", output: str = "softmax") -> dict:
    """Forward pass A_0 = X, Z_l = A_{l-1} @ W_l.T + b_l, A_l = act(Z_l) for l = 1..L.

    X: inputs (N, D) float64, one sample per row. params: [(W_l, b_l)], W_l (out, in),
    b_l (out,). hidden: activation of layers 1..L-1 ("sigmoid" | "relu"); output: activation of
    layer L ("sigmoid" | "softmax", the stable ``softmax``).
    Returns the cache {"Z": [Z_1, ..., Z_L], "A": [A_0 = X, A_1, ..., A_L]}: Z has length L,
    A has length L + 1, Z_l and A_l of shape (N, out_l), all float64 (A[0] is a float64 copy
    of X). Inputs not mutated.
    """
    X = np.asarray(X, dtype=np.float64)
    if hidden not in HIDDEN_ACTIVATIONS:
        raise ValueError(f"unknown hidden activation {hidden!r}")
    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r}")
    ### BEGIN SOLUTION
    A = [X.copy()]
    Z = []
    L = len(params)
    for i, (W, b) in enumerate(params):
        z = A[-1] @ np.asarray(W, dtype=np.float64).T + np.asarray(b, dtype=np.float64)
        Z.append(z)
        A.append(activate(z, output if i == L - 1 else hidden))
    return {"Z": Z, "A": A}
    ### END SOLUTION


def output_delta(A_L: np.ndarray, Z_L: np.ndarray, Y: np.ndarray, output: str = "softmax") -> np.ndarray:
    """Output error Delta_L = dLoss/dZ_L: 2(A_L - Y)/(N*K) * sigma'(Z_L) for sigmoid+MSE, (A_L - onehot(Y))/N for softmax+CE.

    A_L, Z_L: output activation and pre-activation, float64 (N, K). Y: targets -- (N, K) for
    sigmoid; integer labels (N,) or one-hot (N, C) for softmax. Returns float64 (N, K).
    The 1/N (and for MSE the 1/K) of the MEAN loss is inside Delta_L, so the later
    dW = Delta.T @ A_prev and db = Delta.sum(0) are already the gradients of the mean loss.
    For softmax + cross-entropy the rows of Delta_L sum to 0. Inputs not mutated.
    """
    A_L = np.asarray(A_L, dtype=np.float64)
    Z_L = np.asarray(Z_L, dtype=np.float64)
    T = targets(Y, A_L.shape, output)
    ### BEGIN SOLUTION
    N, K = A_L.shape
    if output == "sigmoid":
        return 2.0 * (A_L - T) / (N * K) * activation_grad(Z_L, "sigmoid")
    return (A_L - T) / N
    ### END SOLUTION


def deltas(
    cache: dict, params: Params, Y: np.ndarray, hidden: str = "sigmoid", output: str = "softmax"
) -> list[np.ndarray]:
    """Errors of every layer by the delta-recursion Delta_l = (Delta_{l+1} @ W_{l+1}) * act'(Z_l), starting from Delta_L = output_delta.

    cache: the dict returned by ``forward`` ({"Z": [Z_1..Z_L], "A": [A_0..A_L]}); params: the
    same [(W_l, b_l)] (W_l (out, in)); Y: targets as in ``output_delta``.
    Returns [Delta_1, ..., Delta_L], Delta_l = dLoss/dZ_l of shape (N, out_l), float64
    (list index i holds layer i + 1, aligned with cache["Z"][i] and params[i]).
    Column form in the lecture: delta_l = W_{l+1}^T delta_{l+1} * act'(z_l); the row form
    multiplies by W (not W.T) from the right because samples are rows. Inputs not mutated.
    """
    ### BEGIN SOLUTION
    Z, A = cache["Z"], cache["A"]
    L = len(params)
    D = [None] * L
    D[L - 1] = output_delta(A[L], Z[L - 1], Y, output)
    for i in range(L - 2, -1, -1):
        W_next = np.asarray(params[i + 1][0], dtype=np.float64)
        D[i] = (D[i + 1] @ W_next) * activation_grad(Z[i], hidden)
    return D
    ### END SOLUTION


def backward(cache: dict, params: Params, Y: np.ndarray, hidden: str = "sigmoid", output: str = "softmax") -> Params:
    """Gradients of the mean loss dW_l = Delta_l.T @ A_{l-1} and db_l = Delta_l.sum(axis=0) for every layer.

    cache: the dict from ``forward``; params: [(W_l, b_l)], W_l (out, in), b_l (out,);
    Y: targets as in ``output_delta``; hidden/output as in ``forward``.
    Returns [(dW_1, db_1), ..., (dW_L, db_L)] with dW_l of W_l's shape (out, in) and db_l of
    b_l's shape (out,), float64.
    Batched formulas (row layout):   Delta_L = output_delta(A_L, Z_L, Y),
        Delta_l = (Delta_{l+1} @ W_{l+1}) * act'(Z_l),  dW_l = Delta_l.T @ A_{l-1},  db_l = Delta_l.sum(0).
    Column form (one sample, lecture):  delta_l = W_{l+1}^T delta_{l+1} * act'(z_l),
        dW_l = delta_l a_{l-1}^T,  db_l = delta_l  (the batch sums these over samples; the 1/N
        of the mean is already inside Delta_L). Inputs not mutated.
    """
    ### BEGIN SOLUTION
    A = cache["A"]
    D = deltas(cache, params, Y, hidden, output)
    return [(D[i].T @ A[i], D[i].sum(axis=0)) for i in range(len(params))]
    ### END SOLUTION


# The lecture's 2-2-1 network (one sample, sigmoid hidden and output, MSE). Given data.
EXAMPLE_221 = {
    "x": np.array([0.05, 0.10]),
    "y": np.array([0.01]),
    "W1": np.array([[0.15, 0.20], [0.25, 0.30]]),
    "b1": np.array([0.35, 0.35]),
    "W2": np.array([[0.40, 0.45]]),
    "b2": np.array([0.60]),
}


def example_221() -> dict:
    """Every number of the 2-2-1 sigmoid network with MSE loss (a2 - y)^2 on EXAMPLE_221: z1, a1, z2, a2, loss, delta2, delta1 and all gradients.

    Uses EXAMPLE_221 (x (2,), y (1,), W1 (2, 2), b1 (2,), W2 (1, 2), b2 (1,)) with
    z1 = W1 x + b1, a1 = sigma(z1), z2 = W2 a1 + b2, a2 = sigma(z2), loss = mean((a2 - y)^2)
    (N = K = 1, so the mean is the single squared error; no 1/2 factor).
    Returns a plain dict: "z1", "a1" (2,), "z2", "a2" (1,), "loss" (float), "delta2" (1,),
    "delta1" (2,), "dW1" (2, 2), "db1" (2,), "dW2" (1, 2), "db2" (1,), all float64 -- one
    sample, so vectors rather than (1, n) rows. Does not modify EXAMPLE_221.
    """
    ex = EXAMPLE_221
    ### BEGIN SOLUTION
    params = [(ex["W1"], ex["b1"]), (ex["W2"], ex["b2"])]
    X = ex["x"][None, :]
    Y = ex["y"][None, :]
    cache = forward(X, params, hidden="sigmoid", output="sigmoid")
    D = deltas(cache, params, Y, hidden="sigmoid", output="sigmoid")
    (dW1, db1), (dW2, db2) = backward(cache, params, Y, hidden="sigmoid", output="sigmoid")
    return {
        "z1": cache["Z"][0][0],
        "a1": cache["A"][1][0],
        "z2": cache["Z"][1][0],
        "a2": cache["A"][2][0],
        "loss": loss(cache["A"][2], Y, "sigmoid"),
        "delta2": D[1][0],
        "delta1": D[0][0],
        "dW1": dW1,
        "db1": db1,
        "dW2": dW2,
        "db2": db2,
    }
    ### END SOLUTION


def train_step(
    params: Params, X: np.ndarray, Y: np.ndarray, lr: float, hidden: str = "sigmoid", output: str = "softmax"
) -> tuple[Params, float]:
    """One gradient-descent step W_l <- W_l - lr * dW_l, b_l <- b_l - lr * db_l on the mean loss of the batch (X, Y).

    params: [(W_l, b_l)], W_l (out, in), b_l (out,); X: batch (N, D); Y: targets as in
    ``output_delta``; lr: learning rate. Returns (new_params, loss) where new_params are NEW
    float64 arrays of the same shapes and loss is the mean loss at the OLD params (from this
    step's forward pass; cross-entropy via the stable logits form). Inputs not mutated.
    """
    ### BEGIN SOLUTION
    cache = forward(X, params, hidden, output)
    value = loss(cache["A"][-1], Y, output, Z_L=cache["Z"][-1])
    grads = backward(cache, params, Y, hidden, output)
    new_params = [
        (np.asarray(W, dtype=np.float64) - lr * dW, np.asarray(b, dtype=np.float64) - lr * db)
        for (W, b), (dW, db) in zip(params, grads)
    ]
    return new_params, value
    ### END SOLUTION


def train(
    X: np.ndarray,
    Y: np.ndarray,
    layer_sizes: list[int],
    epochs: int = 30,
    batch_size: int = 32,
    lr: float = 0.5,
    seed: int = 0,
    hidden: str = "sigmoid",
    output: str = "softmax",
) -> tuple[Params, list[float]]:
    """Mini-batch gradient descent: each epoch, shuffle, then one ``train_step`` per batch of ``batch_size`` rows.

    X: (N, D) float64 inputs (scale them first, e.g. to [0, 1] or standardised); Y: targets
    as in ``output_delta`` (labels (N,) or one-hot for softmax); layer_sizes: [D, ..., K],
    e.g. [64, 32, 10] or [784, 256, 10]. Parameters start at ``init_params(layer_sizes, seed)``;
    the shuffles use numpy.random.default_rng([seed, 1]), so a run is reproducible.
    Returns (params, history) with history[e] the mean over epoch e's samples of the batch
    losses measured before each step. Given code; it calls your ``train_step``. Inputs not
    mutated.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y)
    N = X.shape[0]
    params = init_params(layer_sizes, seed)
    rng = np.random.default_rng([seed, 1])
    history: list[float] = []
    for _ in range(epochs):
        order = rng.permutation(N)
        total = 0.0
        for start in range(0, N, batch_size):
            idx = order[start : start + batch_size]
            params, batch_loss = train_step(params, X[idx], Y[idx], lr, hidden, output)
            total += batch_loss * len(idx)
        history.append(total / N)
    return params, history


def accuracy(params: Params, X: np.ndarray, y: np.ndarray, hidden: str = "sigmoid") -> float:
    """Classification accuracy mean_n 1[argmax_k Z_L[n, k] = y_n].

    params: [(W_l, b_l)]; X: (N, D) float64; y: integer labels (N,) or one-hot (N, C).
    The argmax of the output logits equals that of softmax or sigmoid outputs, so the output
    activation does not matter. Returns a float in [0, 1]. Given code; it calls your
    ``forward``. Inputs not mutated.
    """
    y = np.asarray(y)
    labels = y.argmax(axis=1) if y.ndim == 2 else y
    cache = forward(X, params, hidden, "softmax")
    return float(np.mean(cache["Z"][-1].argmax(axis=1) == labels))
