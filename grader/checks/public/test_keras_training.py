"""Public checks of Task 8 (keras_training.py): the layers of the model and how it is compiled.

Your code runs in the grading worker; these checks read the model's layers, weights and compile
configuration from there (``model.get_compile_config()``) and compare them with the docstrings.
"""

import numpy as np
import pytest

from grader.checks.models import verified_export
from grader.checks.support_keras_training import COMPILE_CONFIG, INPUT_SHAPE, LINEAR_OUTPUT, SAME
from grader.gradients import CheckFailure, Diagnosis, Mistake, assert_close, assert_true

NO_SOFTMAX = Diagnosis(
    LINEAR_OUTPUT.id,
    "the last Dense layer has no softmax: the model must output probabilities "
    '(activation="softmax"), because the loss is compiled with from_logits=False',
)
FROM_LOGITS = Diagnosis(
    "from_logits_true", "the model ends in a softmax and outputs probabilities: compile the loss with from_logits=False"
)
ONE_HOT_LOSS = Diagnosis(
    "categorical_not_sparse",
    "the labels are class indices of shape (N,): use "
    "keras.losses.SparseCategoricalCrossentropy, not the one-hot "
    "CategoricalCrossentropy",
)
NOT_ADAM = Diagnosis("optimizer_not_adam", "compile with optimizer=keras.optimizers.Adam(learning_rate=lr)")
LR_IGNORED = Mistake("compile_lr_ignored", "compile_model ignored its lr argument (Adam's default is 1e-3)")


def check_layers(exported, D, H, C, what):
    """Dense(H, relu), Dense(C, softmax), kernels (in, out)."""
    layers = exported["layers"]
    desc = [(layer["class"], layer.get("activation")) for layer in layers]
    assert_true(
        [c for c, _ in desc] == ["Dense", "Dense"],
        f"{what}: expected the layers [Dense, Dense] after keras.Input, got {desc}",
    )
    if desc[0][1] != "relu":
        raise CheckFailure(f"{what}: the hidden Dense layer has activation {desc[0][1]!r}, expected 'relu'")
    if desc[1][1] != "softmax":
        if desc[1][1] in ("linear", "None", None):
            raise CheckFailure(
                f"{what}: the output Dense layer has activation {desc[1][1]!r}: {NO_SOFTMAX.message}",
                diagnosis=NO_SOFTMAX,
            )
        raise CheckFailure(f"{what}: the output Dense layer has activation {desc[1][1]!r}: expected 'softmax'")
    want = [{"kernel": (D, H), "bias": (H,)}, {"kernel": (H, C), "bias": (C,)}]
    for i, (layer, shapes) in enumerate(zip(layers, want)):
        got = {k: v.shape for k, v in layer["params"].items()}
        if got != shapes:
            hint = (
                " (transposed: a Dense kernel is (in, out))"
                if got.get("kernel") == tuple(reversed(shapes["kernel"]))
                else ""
            )
            raise CheckFailure(f"{what}: Dense layer {i} has weight shapes {got}, expected {shapes}{hint}")


def compile_summary(config):
    """(optimizer class, learning rate, loss name, from_logits) from model.get_compile_config()."""
    if not isinstance(config, dict) or not config:  # Keras 3: {} before compile
        raise CheckFailure("compile_model(model) left the model uncompiled: call model.compile(...)")
    opt, loss = config.get("optimizer"), config.get("loss")
    opt_name = opt.get("class_name") if isinstance(opt, dict) else opt
    lr = opt.get("config", {}).get("learning_rate") if isinstance(opt, dict) else None
    if isinstance(loss, dict):
        loss_name = loss.get("class_name") or loss.get("config", {}).get("name")
        from_logits = loss.get("config", {}).get("from_logits", False)
    else:  # a string ("sparse_categorical_crossentropy") or a function: from_logits=False by default
        loss_name, from_logits = str(loss), False
    return opt_name, lr, loss_name, from_logits, config.get("metrics")


def check_compiled(student, model, lr, what):
    opt, got_lr, loss, from_logits, metrics = compile_summary(student.source(COMPILE_CONFIG)(model))
    if str(opt).lower() != "adam":
        raise CheckFailure(f"{what}: the optimizer is {opt}, expected keras.optimizers.Adam", diagnosis=NOT_ADAM)
    assert_true(
        isinstance(got_lr, float), f"{what}: the optimizer's learning rate is {got_lr!r}, expected the number lr = {lr}"
    )
    assert_close(got_lr, lr, f"{what}: Adam's learning rate", rtol=1e-6, atol=0, mistakes={LR_IGNORED: 1e-3})
    name = str(loss).lower().replace("_", "")
    if "categorical" in name and "sparse" not in name:
        raise CheckFailure(
            f"{what}: the loss is {loss}, which expects one-hot labels; the labels are class "
            f"indices of shape (N,): use keras.losses.SparseCategoricalCrossentropy",
            diagnosis=ONE_HOT_LOSS,
        )
    assert_true(
        name in ("sparsecategoricalcrossentropy",),
        f"{what}: the loss is {loss}, expected keras.losses.SparseCategoricalCrossentropy",
    )
    if from_logits is not False:
        raise CheckFailure(
            f"{what}: the loss is compiled with from_logits={from_logits!r}, but the model "
            f"ends in a softmax and outputs probabilities: use from_logits=False",
            diagnosis=FROM_LOGITS,
        )
    assert_true("accuracy" in str(metrics).lower(), f'{what}: the metrics are {metrics}, expected metrics=["accuracy"]')


@pytest.mark.points(1.5)
def test_build_model_layers(student):
    """build_model is Input(D), Dense(hidden, relu), Dense(classes, softmax), kernels of shape (in, out)."""
    kt = student.keras_training
    model = kt.build_model()
    check_layers(verified_export(student, model), 784, 256, 10, "build_model()")
    assert_true(
        student.source(INPUT_SHAPE)(model) == [None, 784],
        f"build_model(): model.input_shape is {student.source(INPUT_SHAPE)(model)}, expected (None, 784): "
        f"start with keras.Input((input_dim,))",
    )
    check_layers(verified_export(student, kt.build_model(5, 6, 4)), 5, 6, 4, "build_model(5, 6, 4)")


@pytest.mark.points(1.5)
def test_compile_model_adam_sparse_ce_from_probabilities(student):
    """compile_model uses Adam(lr) and SparseCategoricalCrossentropy(from_logits=False), and returns the model.

    The model's weights are left as they were."""
    kt = student.keras_training
    model = kt.build_model(5, 6, 4, seed=0)
    before = verified_export(student, model)["layers"]
    out = kt.compile_model(model, lr=0.01)
    assert_true(
        student.source(SAME)(out, model),
        f"compile_model(model, lr) returned {getattr(out, 'type_name', type(out).__name__)}, "
        f"expected the same model it compiled (return model)",
    )
    check_compiled(student, model, 0.01, "compile_model(model, lr=0.01)")
    after = verified_export(student, model)["layers"]
    for i, (a, b) in enumerate(zip(before, after)):
        for key, value in a["params"].items():
            assert_true(
                key in b["params"] and np.array_equal(value, b["params"][key]),
                f"compile_model changed the {key} of Dense layer {i}: compile the model, change no weight",
            )
