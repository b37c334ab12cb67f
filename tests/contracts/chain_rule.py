"""Which checks exercise each promise of solutions/chain_rule.py (see tests/test_contracts.py).

test_neuron_inputs_contract sends lists and integer arrays (array_like) and w, x of other lengths or
shapes (ValueError); test_inputs_left_unmodified scores what the worker observed about every call.
"""

UNMODIFIED = ["hidden:test_inputs_left_unmodified"]

CONTRACTS = {
    # the given stable sigmoid: a list of ints including +-1000
    "sigmoid": {
        "call": ["hidden:test_neuron_inputs_contract"],
        "input:z:array_like": ["hidden:test_neuron_inputs_contract"],
        "effect:no_mutation": UNMODIFIED,
    },
    "f_example": {
        "call": ["public:test_f_example_at_3"],
    },
    "f_example_grad": {
        "call": [
            "public:test_f_example_at_3",
            "hidden:test_f_example_grad_property",
            "mistake:f_grad_forgot_inner_function",
        ],
    },
    # h = f o g and dh = f'(g(x)) g'(x), with trusted f, g living in the worker
    "compose": {
        "call": ["hidden:test_compose_chain_rule", "mistake:compose_df_at_x"],
    },
    "neuron_forward": {
        "call": ["hidden:test_neuron_forward_random"],
        "input:w:array_like": ["hidden:test_neuron_inputs_contract"],
        "input:x:array_like": ["hidden:test_neuron_inputs_contract"],
        "effect:no_mutation": UNMODIFIED,
        "raises:ValueError": ["hidden:test_neuron_inputs_contract", "mistake:neuron_forward_broadcasts"],
    },
    "neuron_backward": {
        "call": ["public:test_neuron_backward_lecture_numbers", "hidden:test_neuron_backward_random"],
        "input:w:array_like": ["hidden:test_neuron_inputs_contract"],
        "input:x:array_like": ["hidden:test_neuron_inputs_contract"],
        "effect:no_mutation": [*UNMODIFIED, "mistake:neuron_backward_mutates_x"],
        "raises:ValueError": ["hidden:test_neuron_inputs_contract"],
    },
}
