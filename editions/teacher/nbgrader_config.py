# nbgrader settings for the teacher edition of vgg-lessons (see the README, "For teachers").
# Copy this file into your course directory, put chapters of editions/teacher/ in
# source/<assignment>/, then run `nbgrader generate_assignment <assignment>` and, on the
# collected submissions, `nbgrader autograde <assignment>`.
c = get_config()  # noqa: F821 (nbgrader defines it)

# A released answer cell reads as in the student edition: the question, then `answer = ...`.
c.ClearSolutions.code_stub = {"python": "answer = ..."}

# Seconds per cell when grading; a cell that runs longer (an endless loop) is interrupted,
# its exercise scores zero and grading goes on. Chapter cells take well under a minute.
c.Execute.timeout = 120
