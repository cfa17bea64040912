"""Checkers for the exercises: each runs your code on known inputs and explains what is off.

Every checker compares your code with an independent computation, never with your own code. On
success it shows one line starting with ✓ (green in Jupyter); on failure it raises
`ExerciseError` (an AssertionError, so graders count it as a failed test) and Jupyter shows only
its message, a short block saying what was expected, what your code gave, and, when the numbers
match a usual mistake, which one::

    from gradcourse.exercises import check_sigmoid_backward
    check_sigmoid_backward(sigmoid)   # ✓ sigmoid backward matches finite differences at 5 points

How the checkers keep the answers out of reach. This module is imported by every student, so
nothing in it may be an answer one can import:

- the expected values are computed inline, on the checker's own fixed inputs, from a closed form
  (e.g. Adam's m_t as a weighted sum of all the gradients at once, the range test's rates as one
  geometric sequence over losses known in advance) or from central finite differences. None of
  them is a function with the exercise's signature, so there is nothing to call in its place;
- tests that need an implementation to compare with (the course's own `CosineAnnealing`,
  `optim.Adam`, ...) are hidden tests: they live in the test cells of `solutions/` only;
- while your function runs (and while its backward runs), the checker watches which functions
  it calls. If it is, or calls, the course's own implementation of that exercise
  (`COURSE_IMPLEMENTATIONS`, e.g. `gradcourse.functional.sigmoid` for the sigmoid,
  `optim.clip_grad_norm_` for clipping) or any function of this module, the check fails and
  says so: the exercise scores 0. The rest of the course (Tensor operations, `record_op`,
  `nn.Linear`, an optimiser's `step`, ...) is yours to use;
- each test cell imports the checkers it calls, so redefining a checker's name in an answer
  cell changes nothing.

One module per exercise notebook holds its checkers (`background` for notebook 1, ...,
`faq` for notebook 6), `_core` what they share, `_repairs` what the measure-diagnose-repair
exercises share. Every checker is importable from here; `CHECKERS` lists them by notebook.
"""
from . import algorithms, background, core_concepts, faq, future, worked_example
from ._core import COURSE_IMPLEMENTATIONS, ExerciseError, Passed
from ._repairs import other_seeds

# Each notebook's module lists its checkers in CHECKERS; all of them are importable from here.
_MODULES = {"01_background": background, "02_core_concepts": core_concepts, "03_algorithms": algorithms,
            "04_worked_example": worked_example, "05_future": future, "06_faq": faq}
CHECKERS = {notebook: module.CHECKERS for notebook, module in _MODULES.items()}
globals().update({checker.__name__: checker for checkers in CHECKERS.values() for checker in checkers})
