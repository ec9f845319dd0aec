"""The Finnish personal identity code (henkilötunnus, HETU): parse, check and make.

Format DDMMYYCZZZQ: date of birth, century sign C, individual number ZZZ (even for women,
odd for men; 900-999 are temporary codes) and control character Q, which is the nine digits
DDMMYYZZZ as one integer modulo 31, indexed into ``CONTROL_CHARACTERS``. Since 2023 the
century signs include Y, X, W, V, U (1900s) and B, C, D, E, F (2000s) besides -, + and A.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

CONTROL_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"

#: Century sign -> the century the two-digit year belongs to.
CENTURY_SIGNS: dict[str, int] = {
    "+": 1800,
    **dict.fromkeys("-YXWVU", 1900),
    **dict.fromkeys("ABCDEF", 2000),
}

#: The sign used when making a code: the traditional one of each century.
_PREFERRED_SIGN = {1800: "+", 1900: "-", 2000: "A"}


class InvalidHetu(ValueError):
    """The string is not a valid Finnish personal identity code; the message says why."""


@dataclass(frozen=True)
class Hetu:
    """A parsed personal identity code."""

    code: str
    birth_date: dt.date
    sex: Literal["female", "male"]
    temporary: bool


def control_character(digits: str) -> str:
    """Return the control character of the nine digits DDMMYYZZZ."""
    return CONTROL_CHARACTERS[int(digits) % 31]


def parse_hetu(code: str) -> Hetu:
    """Parse and check a personal identity code; raise InvalidHetu with the reason."""
    if not isinstance(code, str):
        raise InvalidHetu(f"a personal identity code is a string, not {type(code).__name__}")
    if len(code) != 11:
        raise InvalidHetu(
            f"a personal identity code has 11 characters (DDMMYYCZZZQ); this one has {len(code)}"
        )
    date_part, sign, individual, control = code[:6], code[6], code[7:10], code[10]
    if not (date_part.isascii() and date_part.isdigit()):
        raise InvalidHetu("the first six characters must be the digits of the birth date DDMMYY")
    if sign not in CENTURY_SIGNS:
        raise InvalidHetu(
            f"unknown century sign {sign!r} (expected one of {''.join(CENTURY_SIGNS)})"
        )
    if not (individual.isascii() and individual.isdigit()):
        raise InvalidHetu("the individual number (characters 8-10) must be three digits")
    day, month, year = int(date_part[:2]), int(date_part[2:4]), int(date_part[4:6])
    try:
        birth_date = dt.date(CENTURY_SIGNS[sign] + year, month, day)
    except ValueError:
        raise InvalidHetu(
            f"the birth date is not a valid date (day {day}, month {month}, "
            f"year {CENTURY_SIGNS[sign] + year})"
        ) from None
    number = int(individual)
    if number < 2:
        raise InvalidHetu(f"individual number {individual} is not in use (it runs from 002)")
    expected = control_character(date_part + individual)
    if control != expected:
        raise InvalidHetu(f"wrong control character {control!r}: expected {expected!r}")
    return Hetu(
        code=code,
        birth_date=birth_date,
        sex="female" if number % 2 == 0 else "male",
        temporary=number >= 900,
    )


def is_valid_hetu(code: object) -> bool:
    """True if `code` is a valid personal identity code."""
    try:
        parse_hetu(code)  # type: ignore[arg-type]
    except InvalidHetu:
        return False
    return True


def make_hetu(birth_date: dt.date, individual: int, *, sign: str | None = None) -> str:
    """Return the personal identity code for a birth date and individual number (2-999).

    For tests and demo data. `sign` picks a century sign other than the traditional one
    (-, + or A), e.g. "Y" for the 1900s signs introduced in 2023.
    """
    century = birth_date.year // 100 * 100
    if century not in _PREFERRED_SIGN:
        raise ValueError(f"no century sign for the year {birth_date.year}")
    if sign is None:
        sign = _PREFERRED_SIGN[century]
    elif CENTURY_SIGNS.get(sign) != century:
        raise ValueError(f"century sign {sign!r} does not belong to the year {birth_date.year}")
    if not 2 <= individual <= 999:
        raise ValueError(f"individual number must be 2-999, got {individual}")
    digits = f"{birth_date:%d%m}{birth_date.year % 100:02d}{individual:03d}"
    return f"{digits[:6]}{sign}{digits[6:]}{control_character(digits)}"
