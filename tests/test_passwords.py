"""The generator always satisfies the checker, the checker names every broken rule, draws are uniform."""

from __future__ import annotations

import string
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.passwords import (
    PASSWORD_POLICY,
    Rule,
    check_password,
    generate_password,
)

SPECIALS = "!@%-_=+[]:./?"
OS_TYPES = ["Linux", "Windows", None]


def rules(password: str, os_type: str | None = None) -> set[Rule]:
    return {v.rule for v in check_password(password, os_type=os_type)}


def test_policy_data_matches_reference() -> None:
    assert PASSWORD_POLICY.min_length == 8
    assert PASSWORD_POLICY.max_length == 26
    assert PASSWORD_POLICY.classes[-1].characters == SPECIALS
    assert set(PASSWORD_POLICY.alphabet) == set(string.ascii_letters + string.digits + SPECIALS)
    assert len(PASSWORD_POLICY.alphabet) == 75
    assert PASSWORD_POLICY.forbidden_substrings == ("root", "administrator", "toor", "rotartsinimda")
    assert PASSWORD_POLICY.windows_forbidden_runs == set(
        "adm dmi min ini nis ist str tra rat ato tor".split()
    )


def test_ten_thousand_generated_passwords_pass_every_check() -> None:
    for _ in range(10_000):
        password = generate_password()
        assert len(password) == 20
        for os_type in OS_TYPES:
            assert check_password(password, os_type=os_type) == []
        # The generator is stricter than the API: every class, always.
        for cls in PASSWORD_POLICY.classes:
            assert any(c in cls.characters for c in password)


@settings(max_examples=2_000, deadline=None)
@given(st.integers(min_value=16, max_value=26))
def test_generated_passwords_valid_at_every_length(length: int) -> None:
    password = generate_password(length)
    assert len(password) == length
    assert check_password(password, os_type="Windows") == []
    assert check_password(password, os_type="Linux") == []


@pytest.mark.parametrize("length", [16, 26])
def test_lengths_at_bounds(length: int) -> None:
    assert len(generate_password(length)) == length


@pytest.mark.parametrize("length", [-1, 0, 7, 8, 15, 27, 100])
def test_invalid_length_raises(length: int) -> None:
    with pytest.raises(ValueError, match="16 to 26"):
        generate_password(length)


@pytest.mark.parametrize("length", [20.0, "20", True])
def test_non_int_length_raises(length: object) -> None:
    with pytest.raises(TypeError):
        generate_password(length)  # type: ignore[arg-type]


def test_checker_length_bounds() -> None:
    assert rules("Ab1!" * 2) == set()  # 8
    assert rules("Ab1!xyz") == {Rule.LENGTH}  # 7
    assert rules(("Ab1!" * 7)[:26]) == set()
    assert rules(("Ab1!" * 7)[:27]) == {Rule.LENGTH}
    assert rules("") >= {Rule.LENGTH, Rule.CHARACTER_CLASSES}


def test_three_of_four_classes_is_enough_for_the_checker() -> None:
    assert rules("Abcdefg1") == set()  # no special
    assert rules("abcdef1!") == set()  # no upper
    assert rules("ABCDEF1!") == set()  # no lower
    assert rules("Abcdefg!") == set()  # no digit
    assert rules("abcdefgh1") == {Rule.CHARACTER_CLASSES}
    assert rules("ABCDEFGH") == {Rule.CHARACTER_CLASSES}


@pytest.mark.parametrize("bad", [" ", "#", "$", "^", "&", "*", "(", "é", "\n", "'", '"', "\\"])
def test_characters_outside_the_alphabet(bad: str) -> None:
    assert rules(f"Abcdef1!{bad}") == {Rule.ALLOWED_CHARACTERS}


@pytest.mark.parametrize(
    "password",
    ["xRoot1!xyz", "xTOOR1!xyz", "Xadministrator1!", "Xrotartsinimda1!", "ROOT-x1yzQ"],
)
def test_user_names_and_reverses_any_case(password: str) -> None:
    assert Rule.USER_NAME in rules(password, "Linux")


@pytest.mark.parametrize("run", sorted(PASSWORD_POLICY.windows_forbidden_runs))
def test_windows_runs_of_administrator(run: str) -> None:
    for variant in (run, run.upper(), run.capitalize()):
        password = f"Q9!{variant}Zq8"
        assert rules(password, "Windows") == {Rule.WINDOWS_ADMINISTRATOR_RUN}
        assert rules(password, None) == {Rule.WINDOWS_ADMINISTRATOR_RUN}
        assert rules(password, "Linux") == set()
        assert rules(password, "windows") == {Rule.WINDOWS_ADMINISTRATOR_RUN}


def test_reversed_runs_are_not_windows_runs() -> None:
    # "mda" is "adm" reversed: not three consecutive characters of Administrator.
    assert rules("Q9!mdaZq8", "Windows") == set()


def test_several_violations_reported_together() -> None:
    found = rules("rootor#", "Windows")
    assert found == {
        Rule.LENGTH,
        Rule.ALLOWED_CHARACTERS,
        Rule.CHARACTER_CLASSES,
        Rule.USER_NAME,
        Rule.WINDOWS_ADMINISTRATOR_RUN,
    }


@given(st.text(min_size=0, max_size=40))
def test_messages_never_echo_the_password(password: str) -> None:
    canary = "Zq7!" + password + "Zq7!"
    for violation in check_password(canary, os_type="Windows"):
        assert canary not in violation.message
        assert canary not in str(violation)
        assert violation.message.endswith(".")


@given(st.text(alphabet=PASSWORD_POLICY.alphabet + "#", max_size=30))
def test_checker_agrees_with_an_independent_reading(password: str) -> None:
    """A second, naive statement of the rules must agree with the data-driven checker."""
    lowered = password.lower()
    classes = sum(
        any(c in chars for c in password)
        for chars in (string.ascii_uppercase, string.ascii_lowercase, string.digits, SPECIALS)
    )
    expected = set()
    if not 8 <= len(password) <= 26:
        expected.add(Rule.LENGTH)
    if "#" in password:
        expected.add(Rule.ALLOWED_CHARACTERS)
    if classes < 3:
        expected.add(Rule.CHARACTER_CLASSES)
    if any(n in lowered for n in ("root", "toor", "administrator", "rotartsinimda")):
        expected.add(Rule.USER_NAME)
    linux = set(expected)
    if any("administrator"[i : i + 3] in lowered for i in range(11)):
        expected.add(Rule.WINDOWS_ADMINISTRATOR_RUN)
    assert rules(password, "Linux") == linux
    assert rules(password, "Windows") == expected


def test_characters_uniform_within_each_class() -> None:
    """Chi-square per class over 4,000 passwords; the bound is far above what chance gives."""
    counts = Counter("".join(generate_password() for _ in range(4_000)))
    for cls in PASSWORD_POLICY.classes:
        observed = [counts[c] for c in cls.characters]
        total = sum(observed)
        expected = total / len(observed)
        chi2 = sum((o - expected) ** 2 / expected for o in observed)
        dof = len(observed) - 1
        # Mean of chi2 is dof, sd sqrt(2 dof); the Windows rule slightly lowers a few letters.
        # 10 sd plus a margin: a real bias (e.g. modulo) would be orders of magnitude larger.
        assert chi2 < dof + 10 * (2 * dof) ** 0.5 + 60, (cls.name, chi2)


def test_classes_share_the_alphabet_in_proportion() -> None:
    """Classes are drawn in proportion to their size, not one forced character each."""
    counts = Counter("".join(generate_password() for _ in range(4_000)))
    total = sum(counts.values())
    for cls in PASSWORD_POLICY.classes:
        share = sum(counts[c] for c in cls.characters) / total
        assert share == pytest.approx(len(cls.characters) / 75, rel=0.1), cls.name


def test_passwords_differ() -> None:
    assert len({generate_password() for _ in range(1_000)}) == 1_000


def test_uniform_draw_has_no_modulo_bias_even_when_256_is_not_a_multiple() -> None:
    """With 100 symbols a plain `byte % 100` would give the first 56 symbols 3/256 and the rest 2/256
    (+17 % and -22 % around the mean); the draw rejects the top bytes instead. 200,000 draws: every
    symbol within 15 % of its share (6.7 standard deviations), so the test fails on bias, not by chance."""
    from collections import Counter

    from bot.passwords import _uniform_draw

    alphabet = "".join(chr(0x100 + i) for i in range(100))
    counts = Counter(_uniform_draw(alphabet, 200_000))
    assert set(counts) == set(alphabet)
    for symbol, n in counts.items():
        assert abs(n - 2_000) < 300, (symbol, n)
