"""Shared by the public and hidden checks of Task 8 (keras_training.py): the trusted one-liners
run in the worker (models, compile configuration, weights, the optimizer's step count) and the
messages both files give.

Nothing here imports Keras: the one-liners are evaluated in the worker (``student.source``).
"""

from __future__ import annotations

from grader.gradients import Mistake

KERAS = "__import__('keras')"
COMPILE_CONFIG = "lambda m: m.get_compile_config()"
INPUT_SHAPE = "lambda m: list(m.input_shape)"
SAME = "lambda a, b: a is b"
FLOATX = f"lambda d: ({KERAS}.config.set_floatx(d), {KERAS}.config.set_dtype_policy(d)) and None"
SET_WEIGHTS = "lambda m, ws: m.set_weights(ws)"
WEIGHT_DTYPES = "lambda m: [str(w.dtype) for w in m.get_weights()]"
PREDICT = "lambda m, X: np.asarray(m(X), dtype=np.float64)"
STORED_LR = "lambda m: float(m.optimizer.learning_rate)"
ITERATIONS = "lambda m: int(m.optimizer.iterations)"
MODEL = (
    f"lambda D, H, C: (lambda k: k.Sequential([k.Input((D,)), k.layers.Dense(H, activation='relu'), "
    f"k.layers.Dense(C, activation='softmax')]))({KERAS})"
)
# keras.utils.set_random_seed(s), then the lecture's model: what build_model(D, H, C, seed=s) documents
SEEDED_MODEL = f"lambda D, H, C, s: ({KERAS}.utils.set_random_seed(s), ({MODEL})(D, H, C))[-1]"
RESEED = f"lambda s: {KERAS}.utils.set_random_seed(s)"
# the accuracy's and the optimizer's variables made at once, as Keras does itself under a distribution
# strategy: the first fit then traces its step once instead of twice (a variable made during tracing makes
# TensorFlow trace again), about 0.3 s less per new model; weights and histories unchanged. Only for a built
# model compiled as documented (Adam, SparseCategoricalCrossentropy, ["accuracy"]): then these are exactly
# the variables fit would make on its first step (the accuracy is chosen from sparse labels, as fit's are);
# any other model is left for fit to build
BUILD = (
    f"lambda m: (m.built and type(m.optimizer) is {KERAS}.optimizers.Adam "
    f"and type(m.loss) is {KERAS}.losses.SparseCategoricalCrossentropy "
    f"and m.get_compile_config().get('metrics') == ['accuracy'] "
    f"and ((lambda x: m.compute_metrics(x, np.zeros(1, 'int64'), m(x)))"
    f"(np.zeros((1, *m.input_shape[1:]), {KERAS}.config.floatx())), m.reset_metrics(), "
    f"m.optimizer.build(m.trainable_variables))) and None"
)
# model.compile as documented, then BUILD
COMPILE = (
    f"lambda m, lr: (m.compile(optimizer={KERAS}.optimizers.Adam(learning_rate=lr), "
    f"loss={KERAS}.losses.SparseCategoricalCrossentropy(from_logits=False), metrics=['accuracy']), "
    f"({BUILD})(m)) and None"
)
# everything a fit changes in a compiled model: its weights and its optimizer's variables (slots, step count,
# learning rate); restoring them lets a second fit reuse the traced step of the first
SNAPSHOT = "lambda m: (m.get_weights(), [np.array(v) for v in m.optimizer.variables])"
RESTORE = "lambda m, s: ([v.assign(a) for v, a in zip(m.optimizer.variables, s[1], strict=True)], m.set_weights(s[0])) and None"

LINEAR_OUTPUT = Mistake(
    "linear_output_layer",
    "the output layer is linear: with from_logits=False the model must end in "
    'Dense(num_classes, activation="softmax") and output probabilities',
)
