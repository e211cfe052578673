"""The one exception type that means "the user's input is wrong".

Command-line entry points catch it and print its message as a single line with a
non-zero exit; anything else that escapes is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input (argument, file, dataset, folder) explained in one line."""
