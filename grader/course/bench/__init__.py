"""``course bench``: grading speed, the price of isolation, the engines against PyTorch and Keras.

Runs from a source checkout only (the package is left out of the wheel). Every comparison runs its
contenders side by side in ONE run: a warm-up round, then R rounds in which each contender runs
once, in an order rotated every round (ABC, BCA, CAB...), so a burst of load on the shared
machine hits every contender alike. Tables show the median and min-max over the rounds, and
ratios taken round by round, never against a number from another run. Nothing here asserts a
time; the project's targets are printed next to the measured ratios.

Modules, one idea each:

- ``stats``        medians, spreads, per-round ratios, ``alternate`` (the rotated rounds)
- ``table``        ``Table``: a titled markdown table with notes
- ``settings``     ``Settings`` from the flags of ``course bench`` (``grader.course.cli``)
- ``contenders``   what is run: ``grade`` subprocesses, the class of reference copies and broken variants
- ``nbcourse``     a throw-away nbgrader course (the ``nbgrader autograde`` contender)
- ``inprocess``    the insecure in-process grader: the real pipeline with in-process workers
                   (what it does around a call is ``grader.sandbox.calls``, the worker's own code;
                   ``inprocess_child``: it in a child process, timed, or its CPU seconds: the floor)
- ``klass``        1. (headline) a class of N: ``grade --batch`` against N ``grade`` calls and the floor
- ``one``          2. one submission: ``grade``, unsandboxed, in-process, nbgrader
- ``where``        3. where the time of one ``grade`` goes
- ``engines``      4. the reference engines against PyTorch and Keras (``engines_child``, ``keras_server``)
- ``memory``       5. peak memory of one ``grade`` and of a batch
- ``similarity``   6. the class report's code similarity: the screen against ``compare_files`` on every pair
- ``report``       machine facts, the run of every comparison, ``reference/benchmarks.md``
"""
