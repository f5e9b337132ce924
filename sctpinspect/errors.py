"""Errors the user sees as one sentence (never a traceback)."""


class UserError(Exception):
    """A problem with the user's input or environment.

    ``str(err)`` is the one-line message; ``exit_code`` the process status.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


class CaptureFileError(UserError):
    """A capture file that is truncated, corrupt or not a capture.

    Raised by sources *after* every good record has been yielded;
    ``offset`` is the byte offset where reading stopped.
    """

    def __init__(self, path: str, offset: int, problem: str, exit_code: int = 1):
        super().__init__(f"{path}: {problem} at byte offset {offset}", exit_code)
        self.path = path
        self.offset = offset
        self.problem = problem
