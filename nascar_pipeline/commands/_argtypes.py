"""argparse types shared by the commands (this module registers no command)."""

import argparse


def whole_number(minimum: int):
    """An argparse type: a whole number >= minimum, with a message that says what is wrong."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be at least {minimum}")
        return value

    return parse


nonneg_int = whole_number(0)
positive_int = whole_number(1)


def positive_float(text: str) -> float:
    """An argparse type: a number above 0, with a message that says what is wrong."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number above 0")
    return value
