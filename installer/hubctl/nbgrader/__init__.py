"""Code that runs in the students' and graders' Jupyter servers (the user venv, with nbgrader)."""
