"""The one exception type that means "the user's input is wrong".

Command-line entry points catch it and print its message as a single line with a
non-zero exit; anything else that escapes is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input (argument, file, dataset, folder) explained in one line."""


EXIT_RUN_FAILED = 1
"""A run (or a regression check) finished and failed."""
EXIT_USER_ERROR = 2
"""Bad input (a UserError), said in one `error:` line before any work started."""
EXIT_INTERRUPTED = 130
"""Ctrl-C or SIGTERM: stopped cleanly, finished results kept (128 + SIGINT)."""
