"""Instructor tooling: build the student notebooks, grade submissions, write a handout or an nbgrader course.

Nothing here is imported by `import gradcourse`; the commands need the `instructor` extra (nbgrader).
"""
