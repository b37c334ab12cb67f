"""Planted mistakes of Task 4 (autograd.py): each must lose points in autograd only, and the named
ones must be named in the feedback (``expect``). Run ``python tests/mistakes/run_catalog.py autograd``."""

MISTAKES = {
    # `=` instead of `+=`: the add closure overwrites the parents' gradients (the diamond).
    "assign_instead_of_accumulate": {
        "find": "            self._accumulate(unbroadcast(out.grad, self.shape))\n"
        "            other._accumulate(unbroadcast(out.grad, other.shape))",
        "replace": "            self.grad = unbroadcast(out.grad, self.shape)\n"
        "            other.grad = unbroadcast(out.grad, other.shape)",
        "expect": "= instead of += in backward",
        "names": ["accumulate_assigned"],
    },
    # backward() resets every node, leaves included: a second backward() does not accumulate.
    "leaves_reset_by_backward": {
        "find": "            if node._parents:  # intermediate: holds this call's gradient only",
        "replace": "            if True:  # resets the leaves too",
        "expect": "LEAVES accumulate across backward() calls",
        "names": ["leaves_reset_by_backward"],
    },
    # backward() never resets the intermediate nodes: their .grad piles up across calls.
    "intermediates_not_reset": {
        "find": "        for node in order:\n"
        "            if node._parents:  # intermediate: holds this call's gradient only\n"
        "                node.grad = None\n",
        "replace": "",
        "expect": "reset the INTERMEDIATE nodes' .grad to None",
        "names": ["intermediates_not_reset"],
    },
    # A recursive depth-first search: fine on small graphs, RecursionError on a 2000-op chain
    # (Python's default limit of 1000 frames, unchanged in the worker).
    "recursive_topological_sort": {
        "find": "        order: list[Tensor] = []\n"
        "        visited: set[int] = set()\n"
        "        stack: list[tuple[Tensor, bool]] = [(self, False)]\n"
        "        while stack:\n"
        "            node, parents_done = stack.pop()\n"
        "            if parents_done:\n"
        "                order.append(node)  # post-order: all parents were appended before\n"
        "                continue\n"
        "            if id(node) in visited:\n"
        "                continue\n"
        "            visited.add(id(node))\n"
        "            stack.append((node, True))\n"
        "            for parent in node._parents:\n"
        "                if id(parent) not in visited:\n"
        "                    stack.append((parent, False))\n"
        "        return order",
        "replace": "        order: list[Tensor] = []\n"
        "        visited: set[int] = set()\n"
        "\n"
        "        def visit(node: Tensor) -> None:\n"
        "            if id(node) in visited:\n"
        "                return\n"
        "            visited.add(id(node))\n"
        "            for parent in node._parents:\n"
        "                visit(parent)\n"
        "            order.append(node)\n"
        "\n"
        "        visit(self)\n"
        "        return order",
        "expect": "recursive topological sort hit the recursion limit",
        "names": ["recursive_topological_sort"],
    },
    # Closures run in topological order instead of reversed: parents before their children's gradients.
    "closures_in_forward_order": {
        "find": "        for node in reversed(order):",
        "replace": "        for node in order:",
        "expect": None,
        "names": ["closures_in_forward_order", "gradients_erased_or_never_computed"],
    },
    # mul forgets unbroadcast: the given _accumulate refuses the (broadcast) shape and says why.
    "missing_unbroadcast_mul": {
        "find": "            self._accumulate(unbroadcast(out.grad * other.data, self.shape))",
        "replace": "            self._accumulate(out.grad * other.data)",
        "expect": "did you forget unbroadcast",
        "names": ["missing_unbroadcast"],
    },
    # add accumulates by hand without unbroadcast: gradients of the output's shape reach the leaves.
    "missing_unbroadcast_add_by_hand": {
        "find": "            self._accumulate(unbroadcast(out.grad, self.shape))\n"
        "            other._accumulate(unbroadcast(out.grad, other.shape))",
        "replace": "            for t in (self, other):\n"
        "                if t.requires_grad:\n"
        "                    t.grad = out.grad.copy() if t.grad is None else t.grad + out.grad",
        "expect": "missing unbroadcast",
        "names": ["missing_unbroadcast", "bias_not_summed"],
    },
    # tanh'(x) from the input instead of the output.
    "tanh_derivative_of_input": {
        "find": "            self._accumulate(out.grad * (1.0 - out.data**2))",
        "replace": "            self._accumulate(out.grad * (1.0 - self.data**2))",
        "expect": "you used 1 - x**2",
        "names": ["tanh_derivative_wrong_operand"],
    },
    # sigmoid'(x) from the input instead of the output (sigma'(a) vs sigma'(z) in the engine).
    "sigmoid_derivative_of_input": {
        "find": "            self._accumulate(out.grad * out.data * (1.0 - out.data))",
        "replace": "            self._accumulate(out.grad * self.data * (1.0 - self.data))",
        "expect": "you used x(1 - x)",
        "names": ["sigmoid_derivative_wrong_operand"],
    },
    # d(x**p)/dx = p x**p: the exponent does not drop (also breaks division, derived from ** -1).
    "pow_exponent_not_lowered": {
        "find": "            self._accumulate(out.grad * p * self.data ** (p - 1.0))",
        "replace": "            self._accumulate(out.grad * p * self.data ** p)",
        "expect": "the exponent drops by one",
        "names": ["pow_exponent_not_lowered"],
    },
    # other - self computed as self - other: a sign error in the reflected subtraction.
    "rsub_sign_flipped": {
        "find": "        return _as_tensor(other) + (-self)",
        "replace": "        return self + (-_as_tensor(other))",
        "expect": "the reflected subtraction has its sign flipped",
        "names": ["rsub_sign_flipped"],
    },
    # d ln(x)/dx written as x.
    "log_derivative_multiplies": {
        "find": "            self._accumulate(out.grad / self.data)",
        "replace": "            self._accumulate(out.grad * self.data)",
        "expect": "you multiplied by x instead of dividing",
        "names": ["log_derivative_multiplies"],
    },
    # The gradient of B in A @ B transposed and silently reshaped.
    "matmul_grad_b_transposed": {
        "find": "            other._accumulate((a.T @ g).reshape(other.shape))",
        "replace": "            other._accumulate((g.T @ a).reshape(other.shape))",
        "expect": None,
        "names": ["matmul_grad_b_transposed"],
    },
    # Naive log-sum-exp: exp(1000) overflows and the loss is nan.
    "naive_softmax_no_max_shift": {
        "find": "    m = logits.data.max(axis=1, keepdims=True)  # constant (N, 1)",
        "replace": "    m = np.zeros((n, 1))  # no shift",
        "expect": "expected finite values",
        "names": ["not_finite"],
    },
    # The loss summed over the batch instead of averaged.
    "softmax_sum_instead_of_mean": {
        "find": "    return (log_sum_exp - picked).mean()",
        "replace": "    return (log_sum_exp - picked).sum()",
        "expect": "the loss is the MEAN over the samples",
        "names": ["loss_summed_not_averaged"],
    },
    # An activation on the output layer too.
    "activation_on_output_layer": {
        "find": "        a = getattr(z, activation)() if layer < n_layers - 1 else z",
        "replace": "        a = getattr(z, activation)()",
        "expect": "the output layer has no activation",
        "names": ["activation_on_output_layer"],
    },
    # No zero_grad in train_step: the second step uses the sum of both steps' gradients.
    "train_step_without_zero_grad": {
        "find": "    for p in params:\n        p.zero_grad()\n    loss = softmax_cross_entropy",
        "replace": "    loss = softmax_cross_entropy",
        "expect": "call p.zero_grad() on every parameter",
        "names": ["zero_grad_missing"],
    },
    # ---- systematic: each op's local gradient with the wrong operand or another op's derivative ----
    "exp_derivative_of_input": {
        "find": "            self._accumulate(out.grad * out.data)",
        "replace": "            self._accumulate(out.grad * self.data)",
        "expect": "you used x",
        "names": ["exp_derivative_wrong_operand"],
    },
    "log_derivative_of_output": {
        "find": "            self._accumulate(out.grad / self.data)",
        "replace": "            self._accumulate(out.grad / out.data)",
        "expect": "you used 1/ln(x)",
        "names": ["log_derivative_wrong_operand"],
    },
    "mul_grad_own_operand": {
        "find": "            self._accumulate(unbroadcast(out.grad * other.data, self.shape))",
        "replace": "            self._accumulate(unbroadcast(out.grad * self.data, self.shape))",
        "expect": "you used x itself",
        "names": ["mul_grad_wrong_operand", "accumulate_assigned"],
    },
    "sigmoid_with_tanh_derivative": {
        "find": "            self._accumulate(out.grad * out.data * (1.0 - out.data))",
        "replace": "            self._accumulate(out.grad * (1.0 - out.data**2))",
        "expect": "you used the derivative of tanh",
        "names": ["sigmoid_used_tanh_derivative"],
    },
    "tanh_square_missing": {
        "find": "            self._accumulate(out.grad * (1.0 - out.data**2))",
        "replace": "            self._accumulate(out.grad * (1.0 - out.data))",
        "expect": "the square is missing",
        "names": ["tanh_square_missing"],
    },
    "tanh_forgot_upstream": {
        "find": "            self._accumulate(out.grad * (1.0 - out.data**2))",
        "replace": "            self._accumulate(1.0 - out.data**2)",
        "expect": "forgot to multiply by the upstream gradient",
        "names": ["upstream_not_multiplied"],
    },
    "relu_times_output": {
        "find": "            self._accumulate(out.grad * (self.data > 0))",
        "replace": "            self._accumulate(out.grad * out.data)",
        "expect": "you multiplied by relu(x)",
        "names": ["relu_times_output"],
    },
    "pow_factor_p_missing": {
        "find": "            self._accumulate(out.grad * p * self.data ** (p - 1.0))",
        "replace": "            self._accumulate(out.grad * self.data ** (p - 1.0))",
        "expect": "the factor p is missing",
        "names": ["pow_factor_p_missing", "div_grad_sign_flipped"],
    },
    "matmul_grad_a_transposed": {
        "find": "            self._accumulate((g @ b.T).reshape(self.shape))",
        "replace": "            self._accumulate((b @ g.T).reshape(self.shape))",
        "expect": "you computed its transpose B @ G^T",
        "names": ["matmul_grad_a_transposed"],
    },
    # ---- a reduction's gradient not re-expanded over its axis ----
    "sum_axes_not_reinserted": {
        "find": "            g = out.grad if keepdims else np.expand_dims(out.grad, axes)",
        "replace": "            g = out.grad",
        "expect": None,
        "names": ["sum_axes_not_reinserted"],
    },
    # ---- the backward pass ----
    "topological_order_without_visited_check": {
        "find": "            if id(node) in visited:\n                continue\n",
        "replace": "",
        "expect": "so that each node appears once",
        "names": ["node_processed_twice"],
    },
    # ---- the network helpers ----
    "lse_shift_in_one_term": {
        "find": "    picked = (shifted * onehot).sum(axis=1)  # (N,)",
        "replace": "    picked = (logits * onehot).sum(axis=1)  # (N,)",
        "expect": "the row maximum m was subtracted in one term only",
        "names": ["lse_shift_in_one_term_only", "not_finite"],
    },
    "mlp_forward_ignores_activation": {
        "find": "        a = getattr(z, activation)() if layer < n_layers - 1 else z",
        "replace": "        a = z.sigmoid() if layer < n_layers - 1 else z",
        "expect": "apply the activation named by the argument",
        "names": ["mlp_forward_ignores_activation"],
    },
    "mlp_forward_without_bias": {
        "find": "        z = a @ w.T + b\n",
        "replace": "        z = a @ w.T\n",
        "expect": "the biases are missing",
        "names": ["mlp_forward_without_bias"],
    },
    "train_step_returns_loss_after_update": {
        "find": "    return float(loss.data)",
        "replace": "    return float(softmax_cross_entropy(mlp_forward(Tensor(X), params, activation), y).data)",
        "expect": "returned the loss of the UPDATED parameters",
        "names": ["loss_after_the_step"],
    },
    "train_step_zero_grad_after_backward": {
        "find": "    loss.backward()\n    for p in params:\n        p.data = p.data - lr * p.grad",
        "replace": "    loss.backward()\n    for p in params:\n        p.zero_grad()\n        p.data = p.data - lr * p.grad",
        "expect": "p.zero_grad() goes BEFORE loss.backward()",
        "names": ["gradients_erased_or_never_computed"],
    },
}
