"""What the public and the hidden checks of Task 5 (gradcheck.py) share: the named mistakes and
the advice given when x is left changed. Ships to students with the public checks (no reference,
no hidden inputs); a mistake is named only when its wrong answer, computed by the check from its
own inputs, equals what was received, or when what the check observed proves it."""

from grader.gradients import Mistake

RESTORE_HINT = (
    "numerical_gradient may perturb x[i] in place, but must put back the exact original "
    "value (save old = x[i]; ...; x[i] = old, in a finally block)"
)

CUBE = "lambda x: (x ** 3).sum()"

FORWARD_DIFFERENCE = Mistake(
    "forward_difference",
    "forward difference used where a centred one belongs: use "
    "(f(x + h e_i) - f(x - h e_i)) / (2h), error O(h^2) instead of O(h)",
)
BACKWARD_DIFFERENCE = Mistake(
    "backward_difference", "backward difference (f(x) - f(x - h e_i)) / h used where a centred one belongs"
)
DIVIDED_BY_H = Mistake("divided_by_h_not_2h", "divided by h instead of 2h")
H_IGNORED = Mistake(
    "h_ignored",
    "the h argument was not used: every entry was perturbed by 1e-5 whatever h was "
    "given (use the parameter h, 1e-5 is only its default)",
)
MEAN_NOT_MAX = Mistake("relative_error_mean", "took the mean of the entrywise errors; report the max")
SUM_NOT_MAX = Mistake("relative_error_sum", "summed the entrywise errors; report the max")
NO_FLOOR = Mistake(
    "relative_error_no_floor",
    "no 1e-8 floor: the denominator is max(1e-8, |a| + |b|), so tiny differences of near-zero entries count as small",
)
ABS_OF_SUM = Mistake("relative_error_abs_of_sum", "the denominator is max(1e-8, |a| + |b|), not max(1e-8, |a + b|)")
MAX_OF_ABS = Mistake("relative_error_max_of_abs", "the denominator is max(1e-8, |a| + |b|), not max(|a|, |b|)")
FLOOR_ADDED = Mistake("relative_error_floor_added", "the floor is max(1e-8, |a| + |b|), not 1e-8 + |a| + |b|")
ONE_SIDED_DENOMINATOR = Mistake(
    "relative_error_one_sided",
    "divided by one of the two gradients only: the denominator is max(1e-8, |a| + |b|), symmetric in a and b",
)
