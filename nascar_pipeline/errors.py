"""Errors the user can fix: they name the file, the row or field, and the problem."""


class UserInputError(ValueError):
    """Bad input from a user or an input file. The CLI prints it and exits 2."""
