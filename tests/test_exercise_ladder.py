"""Each exercise notebook climbs a ladder (warm-up, implement, measure, diagnose), and says what
every exercise is worth and how long it takes; together they train measuring and diagnosing.

The intro of each notebook has a table with one row per exercise,

    | exercise | level | what you do | points | time |
    | 2.1 | warm-up | ... | 3 | about 10 min |

and each exercise's heading repeats its points and time:
`## Exercise 2.1 · Title (3 points, about 10 minutes)`, or for an answer graded by hand
`## Question 2.4 · Title (2 points, graded by hand, about 10 minutes)`.
"""
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import is_grade

from gradcourse.instructor.grade import grade_id, is_test, nbgrader_meta

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
PATHS = sorted(SOLUTIONS.glob("*.ipynb"))
LEVELS = ("warm-up", "implement", "measure", "diagnose")
HEADING = re.compile(r"^## (Exercise|Question) (\d)\.(\d+) · (.+) \((\d+) points?(, graded by hand)?, "
                     r"about (\d+) minutes\)$")
ROW = re.compile(r"^\| (\d)\.(\d+) \| ([a-z-]+) \| (.+?) \| (\d+) \| about (\d+) min \|$")
REPAIR = re.compile(r"\bcheck_case(\d+)_repair\(")


def read(path):
    return nbformat.read(path, as_version=4)


def exercises(nb):
    """[(heading match, points of the graded cells under it)] in the order of the notebook."""
    found = []
    for cell in nb.cells:
        first = cell.source.split("\n")[0]
        if cell.cell_type == "markdown" and first.startswith("## "):
            found.append([HEADING.match(first), 0, first])
        if is_grade(cell):
            assert found and found[-1][0], f"{grade_id(cell)} is under no exercise heading"
            found[-1][1] += nbgrader_meta(cell)["points"]
    return [(match, points, line) for match, points, line in found if line.startswith(("## Exercise", "## Question"))]


def table(nb):
    return [ROW.match(line) for line in nb.cells[0].source.split("\n") if ROW.match(line)]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_each_exercise_states_its_points_and_time(path):
    number = int(path.name[1])
    found = exercises(read(path))
    assert found, path.name
    for index, (match, points, line) in enumerate(found, start=1):
        assert match, f"{line!r} does not say (P points, about T minutes)"
        assert (int(match[2]), int(match[3])) == (number, index), f"{line}: numbered out of order"
        assert int(match[5]) == points, f"{line}: its graded cells are worth {points} points"
        assert (match[1] == "Question") == bool(match[6]), f"{line}: a question is graded by hand"
        assert 2 <= int(match[7]) <= 40, line


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_the_intro_table_lists_each_exercise_and_climbs_the_ladder(path):
    nb = read(path)
    rows, found = table(nb), exercises(nb)
    assert [(r[1], r[2], r[5], r[6]) for r in rows] == [(m[2], m[3], m[5], m[7]) for m, _, _ in found], \
        "the intro's table and the headings disagree (number, points or time)"
    levels = [r[3] for r in rows]
    assert set(levels) <= set(LEVELS), levels
    assert levels[0] == "warm-up" and levels == sorted(levels, key=LEVELS.index), levels
    assert levels[-1] in ("measure", "diagnose"), levels


def test_there_are_26_graded_cells_and_8_graded_on_what_a_trained_network_does():
    graded = [c for path in PATHS for c in read(path).cells if is_grade(c)]
    repaired = {case for c in graded if is_test(c) for case in REPAIR.findall(c.source)}
    assert len(graded) >= 26 and len(repaired) >= 8, (len(graded), sorted(repaired))
