"""The Finnish personal identity code: known codes parse, broken ones say what is wrong."""

import contextlib
import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.hetu import CENTURY_SIGNS, InvalidHetu, is_valid_hetu, make_hetu, parse_hetu

# Control characters checked by hand: DDMMYYZZZ mod 31 indexed into 0-9, A-Y without G I O Q Z.
# 131052308 = 31 * 4227493 + 25 -> T;  010594902 = 31 * 341771 + 1 -> 1 (DVV's 2023 example).
VALID = [
    ("131052-308T", dt.date(1952, 10, 13), "female", False),
    ("010594Y9021", dt.date(1994, 5, 1), "female", True),
    ("311280-888Y", dt.date(1980, 12, 31), "female", False),
    ("010101A002S", dt.date(2001, 1, 1), "female", False),
    ("290200A002C", dt.date(2000, 2, 29), "female", False),
    ("010150+123A", dt.date(1850, 1, 1), "male", False),
    ("311299-999E", dt.date(1999, 12, 31), "male", True),
]


@pytest.mark.parametrize(("code", "birth_date", "sex", "temporary"), VALID)
def test_known_valid_codes_parse(code, birth_date, sex, temporary):
    hetu = parse_hetu(code)
    assert (hetu.code, hetu.birth_date, hetu.sex, hetu.temporary) == (
        code,
        birth_date,
        sex,
        temporary,
    )
    assert is_valid_hetu(code)


@pytest.mark.parametrize("sign", "-YXWVU")
def test_every_1900s_century_sign_of_the_2023_reform_gives_the_same_person(sign):
    assert parse_hetu(f"131052{sign}308T").birth_date == dt.date(1952, 10, 13)


@pytest.mark.parametrize("sign", "ABCDEF")
def test_every_2000s_century_sign_gives_a_2000s_date(sign):
    assert parse_hetu(f"010101{sign}002S").birth_date == dt.date(2001, 1, 1)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("131052-308", "has 11 characters (DDMMYYCZZZQ); this one has 10"),
        ("131052-308TT", "this one has 12"),
        ("", "this one has 0"),
        ("131052-308U", "wrong control character 'U': expected 'T'"),
        ("010101A9003", "wrong control character '3': expected 'R'"),
        ("131052Z308T", "unknown century sign 'Z'"),
        ("131052a308T", "unknown century sign 'a'"),
        ("131052G308T", "unknown century sign 'G'"),
        ("290200-002C", "not a valid date (day 29, month 2, year 1900)"),
        ("320152-308T", "not a valid date (day 32, month 1, year 1952)"),
        ("131352-308T", "not a valid date"),
        ("13105X-308T", "first six characters must be the digits"),
        ("131052-3O8T", "individual number (characters 8-10) must be three digits"),
        ("010101-000?", "individual number 000 is not in use"),
        ("010101-001?", "individual number 001 is not in use"),
    ],
)
def test_invalid_codes_say_precisely_what_is_wrong(code, fragment):
    with pytest.raises(InvalidHetu, match=re.escape(fragment)):
        parse_hetu(code)
    assert not is_valid_hetu(code)


def test_invalid_hetu_is_a_value_error():
    assert issubclass(InvalidHetu, ValueError)


@pytest.mark.parametrize("value", [None, 131052308, b"131052-308T"])
def test_non_strings_are_not_valid(value):
    assert not is_valid_hetu(value)


def test_make_hetu_builds_the_known_codes():
    assert make_hetu(dt.date(1952, 10, 13), 308) == "131052-308T"
    assert make_hetu(dt.date(1994, 5, 1), 902, sign="Y") == "010594Y9021"
    assert make_hetu(dt.date(2001, 1, 1), 2) == "010101A002S"
    assert make_hetu(dt.date(1850, 1, 1), 123) == "010150+123A"


@pytest.mark.parametrize(
    ("birth_date", "individual", "sign"),
    [
        (dt.date(1952, 10, 13), 1, None),
        (dt.date(1952, 10, 13), 1000, None),
        (dt.date(1752, 10, 13), 308, None),
        (dt.date(1952, 10, 13), 308, "A"),
    ],
)
def test_make_hetu_refuses_what_cannot_be_a_code(birth_date, individual, sign):
    with pytest.raises(ValueError):
        make_hetu(birth_date, individual, sign=sign)


@given(
    birth_date=st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2099, 12, 31)),
    individual=st.integers(min_value=2, max_value=999),
    data=st.data(),
)
def test_every_made_code_parses_back_to_its_date_and_number(birth_date, individual, data):
    century = birth_date.year // 100 * 100
    sign = data.draw(st.sampled_from([s for s, c in CENTURY_SIGNS.items() if c == century]))
    code = make_hetu(birth_date, individual, sign=sign)
    hetu = parse_hetu(code)
    assert hetu.birth_date == birth_date
    assert hetu.sex == ("female" if individual % 2 == 0 else "male")
    assert hetu.temporary == (individual >= 900)
    assert code[7:10] == f"{individual:03d}"


@given(st.text(max_size=12))
def test_any_string_either_parses_or_raises_invalid_hetu(text):
    with contextlib.suppress(InvalidHetu):
        parse_hetu(text)
