"""The one error type for user mistakes.

It lives on the lowest floor so every room can raise it; the CLI turns it into a one-line
message and exit code 2 (no traceback).
"""


class EdgekitError(Exception):
    """A problem the user can fix: the message names the problem and the fix."""


class Interrupted(EdgekitError):
    """Ctrl-C, caught where the run can say how it resumes; the CLI exits 130 with it, as
    with any other interrupt."""
