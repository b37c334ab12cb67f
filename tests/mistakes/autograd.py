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
    },
    # backward() resets every node, leaves included: a second backward() does not accumulate.
    "leaves_reset_by_backward": {
        "find": "            if node._parents:  # intermediate: holds this call's gradient only",
        "replace": "            if True:  # resets the leaves too",
        "expect": "LEAVES accumulate across backward() calls",
    },
    # backward() never resets the intermediate nodes: their .grad piles up across calls.
    "intermediates_not_reset": {
        "find": "        for node in order:\n"
                "            if node._parents:  # intermediate: holds this call's gradient only\n"
                "                node.grad = None\n",
        "replace": "",
        "expect": "reset the INTERMEDIATE nodes' .grad to None",
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
    },
    # Closures run in topological order instead of reversed: parents before their children's gradients.
    "closures_in_forward_order": {
        "find": "        for node in reversed(order):",
        "replace": "        for node in order:",
        "expect": None,
    },
    # mul forgets unbroadcast: the given _accumulate refuses the (broadcast) shape and says why.
    "missing_unbroadcast_mul": {
        "find": "            self._accumulate(unbroadcast(out.grad * other.data, self.shape))",
        "replace": "            self._accumulate(out.grad * other.data)",
        "expect": "did you forget unbroadcast",
    },
    # add accumulates by hand without unbroadcast: gradients of the output's shape reach the leaves.
    "missing_unbroadcast_add_by_hand": {
        "find": "            self._accumulate(unbroadcast(out.grad, self.shape))\n"
                "            other._accumulate(unbroadcast(out.grad, other.shape))",
        "replace": "            for t in (self, other):\n"
                   "                if t.requires_grad:\n"
                   "                    t.grad = out.grad.copy() if t.grad is None else t.grad + out.grad",
        "expect": "missing unbroadcast",
    },
    # tanh'(x) from the input instead of the output.
    "tanh_derivative_of_input": {
        "find": "            self._accumulate(out.grad * (1.0 - out.data**2))",
        "replace": "            self._accumulate(out.grad * (1.0 - self.data**2))",
        "expect": "you used 1 - x**2",
    },
    # sigmoid'(x) from the input instead of the output (sigma'(a) vs sigma'(z) in the engine).
    "sigmoid_derivative_of_input": {
        "find": "            self._accumulate(out.grad * out.data * (1.0 - out.data))",
        "replace": "            self._accumulate(out.grad * self.data * (1.0 - self.data))",
        "expect": "you used x(1 - x)",
    },
    # d(x**p)/dx = p x**p: the exponent does not drop (also breaks division, derived from ** -1).
    "pow_exponent_not_lowered": {
        "find": "            self._accumulate(out.grad * p * self.data ** (p - 1.0))",
        "replace": "            self._accumulate(out.grad * p * self.data ** p)",
        "expect": "the exponent drops by one",
    },
    # other - self computed as self - other: a sign error in the reflected subtraction.
    "rsub_sign_flipped": {
        "find": "        return _as_tensor(other) + (-self)",
        "replace": "        return self + (-_as_tensor(other))",
        "expect": "the sign is flipped",
    },
    # d ln(x)/dx written as x.
    "log_derivative_multiplies": {
        "find": "            self._accumulate(out.grad / self.data)",
        "replace": "            self._accumulate(out.grad * self.data)",
        "expect": "you multiplied by x instead of dividing",
    },
    # The gradient of B in A @ B transposed and silently reshaped.
    "matmul_grad_b_transposed": {
        "find": "            other._accumulate((a.T @ g).reshape(other.shape))",
        "replace": "            other._accumulate((g.T @ a).reshape(other.shape))",
        "expect": None,
    },
    # Naive log-sum-exp: exp(1000) overflows and the loss is nan.
    "naive_softmax_no_max_shift": {
        "find": "    m = logits.data.max(axis=1, keepdims=True)  # constant (N, 1)",
        "replace": "    m = np.zeros((n, 1))  # no shift",
        "expect": "expected finite values",
    },
    # The loss summed over the batch instead of averaged.
    "softmax_sum_instead_of_mean": {
        "find": "    return (log_sum_exp - picked).mean()",
        "replace": "    return (log_sum_exp - picked).sum()",
        "expect": "the loss is the MEAN over the samples",
    },
    # An activation on the output layer too.
    "activation_on_output_layer": {
        "find": "        a = getattr(z, activation)() if layer < n_layers - 1 else z",
        "replace": "        a = getattr(z, activation)()",
        "expect": "the output layer has no activation",
    },
    # No zero_grad in train_step: the second step uses the sum of both steps' gradients.
    "train_step_without_zero_grad": {
        "find": "    for p in params:\n        p.zero_grad()\n    loss = softmax_cross_entropy",
        "replace": "    loss = softmax_cross_entropy",
        "expect": "call p.zero_grad() on every parameter",
    },
}
