"""Where the peer libraries run: datatrove 0.10.1 lives in its own venv (it pins trafilatura < 1.12
and xxhash < 4, which clash with ours), and the benches and tests find its interpreter through one
environment variable, `DATATROVE_PYTHON`, never a path written in the code.
"""

from __future__ import annotations

import os

DATATROVE_ENV = "DATATROVE_PYTHON"
DATATROVE_SETUP = ("create its venv with `python -m venv ../venvs/datatrove && ../venvs/datatrove/bin/pip install "
                   "'datatrove[processing,io]==0.10.1' lxml_html_clean spacy psutil` (without lxml_html_clean its "
                   "trafilatura 1.11 fails to import under lxml 6, and datatrove counts every page as a timeout), "
                   f"then `export {DATATROVE_ENV}=$PWD/../venvs/datatrove/bin/python`")


def datatrove_problem() -> str | None:
    """Why datatrove cannot run here, in one line with the fix; None when $DATATROVE_PYTHON is usable."""
    path = os.environ.get(DATATROVE_ENV)
    if not path:
        return f"{DATATROVE_ENV} is not set: {DATATROVE_SETUP}"
    if not os.path.isfile(path):
        return f"{DATATROVE_ENV}={path} is not a file: {DATATROVE_SETUP}"
    return None


def datatrove_python() -> str:
    """The interpreter of datatrove's venv; exits with `datatrove_problem()` when there is none."""
    problem = datatrove_problem()
    if problem:
        raise SystemExit(f"datatrove is needed here: {problem}")
    return os.environ[DATATROVE_ENV]
