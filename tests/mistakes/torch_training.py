"""Planted mistakes of Task 7 (torch_training.py), applied to a copy of solutions/torch_training.py by run_catalog.py.

Each entry: the exact reference text to find, the buggy text, and a phrase the feedback must
contain (None: losing points is enough).
"""

MISTAKES = {
    # no zero_grad in a training loop (the first step is still right; the second is not)
    "no_zero_grad": {
        "find": "    optimizer.zero_grad()\n    logits = model(X_batch)\n",
        "replace": "    logits = model(X_batch)\n",
        "expect": "optimizer.zero_grad() is missing",
    },
    # softmax before CrossEntropyLoss, as a layer of the model ...
    "softmax_layer_in_model": {
        "find": "        nn.Linear(hidden, out_features),\n    )",
        "replace": "        nn.Linear(hidden, out_features),\n        nn.Softmax(dim=1),\n    )",
        "expect": "there is a softmax layer in the model",
    },
    # ... or inside train_step
    "softmax_in_train_step": {
        "find": "    logits = model(X_batch)\n",
        "replace": "    logits = torch.softmax(model(X_batch), dim=1)\n",
        "expect": "a softmax before nn.CrossEntropyLoss",
    },
    "loss_returned_after_the_step": {
        "find": "    return float(loss.item())",
        "replace": "    return float(loss_fn(model(X_batch), y_batch).item())",
        "expect": "returned the loss AFTER optimizer.step()",
    },
    "sgd_instead_of_adam": {
        "find": "optimizer = torch.optim.Adam(model.parameters(), lr=lr)",
        "replace": "optimizer = torch.optim.SGD(model.parameters(), lr=lr)",
        "expect": "train used SGD",
    },
    "lr_ignored": {
        "find": "optimizer = torch.optim.Adam(model.parameters(), lr=lr)",
        "replace": "optimizer = torch.optim.Adam(model.parameters())",
        "expect": "train ignored its lr argument",
    },
    "unweighted_epoch_mean": {
        "find": "            total += batch_loss * len(idx)\n        history.append(total / n)",
        "replace": "            total += batch_loss\n        history.append(total / len(range(0, n, batch_size)))",
        "expect": "plain mean of the batch losses",
    },
    "epochs_ignored": {
        "find": "    for _ in range(epochs):",
        "replace": "    for _ in range(5):",
        "expect": "epoch losses, expected 3",
    },
    # the seeded generator is ignored: other batches than the documented perm[i:i + batch_size]
    "permutation_not_from_the_generator": {
        "find": "perm = torch.randperm(n, generator=g)",
        "replace": "perm = torch.randperm(n)",
        "expect": None,
    },
    "accuracy_as_percentage": {
        "find": "return float((pred == y_t).to(torch.float64).mean().item())",
        "replace": "return float((pred == y_t).to(torch.float64).mean().item() * 100)",
        "expect": "returned a percentage",
    },
    "autograd_demo_returns_y": {
        "find": "    y.backward()\n    return float(x.grad.item())",
        "replace": "    y.backward()\n    return float(y.item())",
        "expect": "returned y = x^2 + 2x instead of dy/dx",
    },
}
