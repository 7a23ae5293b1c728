"""The one exception type for problems the user can fix (bad input, bad options).

CLIs catch it and print its message as a single line on stderr with a non-zero exit code;
everything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input or options; the message names file, record and problem."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
