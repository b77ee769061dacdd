"""The formula language: grammar, functions, errors with positions, limits, and fuzzing."""

import builtins
import math
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from quarterdeck.lib.formula import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    FormulaError,
    parse,
    validate,
)

TERMS = frozenset({"value", "effort", "reach", "impact", "confidence", "demand"})


def ev(text: str, **values: float | None) -> float | None:
    return parse(text, TERMS).evaluate(values)


def error(text: str, allowed=TERMS) -> FormulaError:
    with pytest.raises(FormulaError) as info:
        parse(text, allowed)
    return info.value


# --- grammar -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),  # left-associative
        ("64 / 4 / 2", 8),
        ("2 ^ 3 ^ 2", 512),  # right-associative
        ("2 ** 3 ** 2", 512),
        ("-2 ^ 2", -4),  # unary minus binds looser than power
        ("2 ^ -1", 0.5),
        ("--3", 3),
        ("+3", 3),
        ("2 * -3", -6),
        ("1 - -1", 2),
        ("3 + 4 * 2 / (1 - 5) ^ 2", 3.5),
        (".5 + 1.", 1.5),
        ("007", 7),
        ("  1\t+\n2  ", 3),
    ],
)
def test_precedence_and_associativity(text, expected):
    assert ev(text) == pytest.approx(expected)


def test_terms_are_looked_up_by_name():
    formula = parse("value / (effort * 2)", TERMS)
    assert formula.terms == {"value", "effort"}
    assert formula.source == "value / (effort * 2)"
    assert formula.evaluate({"value": 9, "effort": 1.5}) == 3


def test_canonical_shows_how_the_formula_was_read():
    assert parse("-value^2 + 1 * effort", TERMS).canonical() == (
        "((-(value ^ 2.0)) + (1.0 * effort))"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ("max(4)", 4),
        ("abs(-2.5)", 2.5),
        ("sqrt(16)", 4),
        ("log(1)", 0),
        ("log10(1000)", 3),
        ("clamp(5, 0, 1)", 1),
        ("clamp(-5, 0, 1)", 0),
        ("clamp(0.5, 0, 1)", 0.5),
        ("if_missing(2, 9)", 2),
        ("max(min(8, 9), abs(-10)) + sqrt(4)", 12),
    ],
)
def test_functions(text, expected):
    assert ev(text) == pytest.approx(expected)


def test_natural_log():
    assert ev("log(value)", value=math.e) == pytest.approx(1)


# --- missing and undefined values ----------------------------------------------------------------


def test_a_missing_term_makes_the_result_missing():
    assert ev("value / effort", value=3, effort=None) is None
    assert ev("value / effort", value=3) is None  # absent from the mapping
    assert ev("effort ^ 0", effort=None) is None  # not 1, as math.pow would say
    assert ev("min(value, 1)", value=None) is None
    assert ev("value * 0", value=None) is None


@pytest.mark.parametrize(
    "text",
    ["1 / 0", "value / (effort - effort)", "log(0)", "log(-1)", "log10(0)", "sqrt(-1)",
     "0 ^ -1", "(-8) ^ 0.5", "10 ^ 400", "clamp(1, 2, 0)", "1 / 0 * 0"],
)  # fmt: skip
def test_undefined_results_are_none(text):
    assert ev(text, value=1, effort=2) is None


def test_if_missing_supplies_a_fallback_for_missing_and_undefined():
    assert ev("if_missing(confidence, 0.5) * 10", confidence=None) == 5
    assert ev("if_missing(confidence, 0.5) * 10", confidence=0.8) == 8
    assert ev("if_missing(value / effort, 0)", value=1, effort=0) == 0
    assert ev("if_missing(value, effort)", value=None, effort=None) is None


def test_overflowing_and_huge_inputs_are_none():
    assert ev("value * value", value=1e200) is None
    assert ev("value + 1", value=10**400) is None
    assert ev("value + 1", value=math.nan) is None


# --- errors --------------------------------------------------------------------------------------


def test_unknown_term_is_named_with_its_position_and_the_known_terms():
    err = error("value / demnd")
    assert err.position == 8
    assert "unknown term 'demnd' at position 8" in err.message
    assert "did you mean 'demand'?" in err.message
    assert "known terms: confidence, demand, effort, impact, reach, value" in err.message
    assert str(err) == err.message


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("value + )", 8, "unexpected ')' at position 8"),
        ("(value + 1", 10, "expected ')' at position 10 to close '(' at position 0"),
        ("value)", 5, "unexpected ')' at position 5"),
        ("value effort", 6, "unexpected name 'effort' at position 6; expected an operator"),
        ("2value", 1, "unexpected name 'value' at position 1"),
        ("1e3", 1, "unexpected name 'e3'"),
        ("value +", 7, "unexpected end of formula at position 7"),
        ("", 0, "formula is empty"),
        ("   ", 0, "formula is empty"),
        ("value $ 2", 6, "unexpected character '$' at position 6"),
        ("value = 2", 6, "unexpected character '='"),
        ("1.2.3", 0, "malformed number at position 0"),
        ("foo(1)", 0, "unknown function 'foo' at position 0"),
        ("mx(1, 2)", 0, "did you mean 'max'?"),
        ("value(1)", 0, "'value' at position 0 is a term, not a function"),
        ("1 + log", 4, "function 'log' at position 4 needs its arguments: log(x)"),
        ("log(1, 2)", 0, "wrong number of arguments to 'log' at position 0: got 2"),
        ("clamp(1, 2)", 0, "expected clamp(x, lo, hi)"),
        ("max()", 0, "got 0"),
        ("min(1,)", 6, "unexpected ')' at position 6"),
        ("(,)", 1, "unexpected ','"),
        ("9" * 400, 0, "number too large at position 0"),
    ],
)
def test_syntax_errors_name_the_problem_and_its_position(text, position, words):
    err = error(text)
    assert words in err.message
    assert err.position == position


def test_empty_allowed_set_is_reported():
    assert "known terms: (none)" in error("value", allowed=()).message


def test_validate_raises_or_returns_none():
    assert validate("value / effort", TERMS) is None
    with pytest.raises(FormulaError):
        validate("value /", TERMS)


def test_formula_error_is_a_value_error():
    assert issubclass(FormulaError, ValueError)


# --- limits --------------------------------------------------------------------------------------


def test_too_long():
    text = "1+" * (MAX_LENGTH // 2) + "1"
    err = error(text)
    assert "too long" in err.message
    assert err.position == MAX_LENGTH


def test_longest_allowed_length_parses():
    text = ("value" + " " * (MAX_LENGTH - 10) + "+ 123")[:MAX_LENGTH]
    assert len(text) == MAX_LENGTH
    assert parse(text, TERMS).evaluate({"value": 1}) == 124


def test_too_deeply_nested_parentheses():
    err = error("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    assert "nested too deeply" in err.message
    assert err.position == MAX_DEPTH  # the parenthesis that opens level 51


def test_nesting_at_the_limit_parses():
    text = "(" * (MAX_DEPTH - 1) + "1" + ")" * (MAX_DEPTH - 1)
    assert parse(text, TERMS).evaluate({}) == 1


@pytest.mark.parametrize(
    "text",
    [
        "-" * (MAX_DEPTH + 1) + "1",
        "2^" * (MAX_DEPTH + 1) + "1",
        "abs(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1),
        "+".join(["1"] * (MAX_DEPTH + 2)),  # a long chain is a deep tree too
    ],
)
def test_too_deep_trees(text):
    assert "nested too deeply" in error(text).message


def test_too_many_nodes():
    text = "max(" + ",".join(["1"] * MAX_NODES) + ")"  # shallow and short, but 201 nodes
    assert len(text) <= MAX_LENGTH
    err = error(text)
    assert "too long" in err.message
    assert f"at most {MAX_NODES} numbers, names and operations" in err.message


def test_most_nodes_allowed_parses():
    text = "max(" + ",".join(["1"] * (MAX_NODES - 1)) + ")"
    assert parse(text, TERMS).evaluate({}) == 1


# --- safety --------------------------------------------------------------------------------------

HOSTILE = [
    "__import__('os').system('echo pwned')",
    "__import__",
    "value.__class__",
    "().__class__.__bases__[0]",
    "exec('1')",
    "eval",
    "lambda: 1",
    "open('/etc/passwd')",
    "[x for x in value]",
    "value if effort else 1",
    "value; 1",
    "1_000",
    "0x10",
    "value @ effort",
    "value // effort",
    "value % effort",
    "`value`",
    '"1"',
    "\x00",
    "١٢",  # Arabic-Indic digits: not ASCII
    "ｖalue",  # fullwidth letter
]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_code_is_ever_run(text):
    def refuse(*args, **kwargs):
        raise AssertionError("the formula module called a Python evaluator")

    with (
        mock.patch.object(builtins, "eval", refuse),
        mock.patch.object(builtins, "exec", refuse),
        mock.patch.object(builtins, "compile", refuse),
        mock.patch.object(builtins, "__import__", refuse),
    ):
        with pytest.raises(FormulaError):
            parse(text, TERMS)


# --- fuzzing -------------------------------------------------------------------------------------

TOKENS = [
    *TERMS, *FUNCTIONS, "1", "0", "2.5", ".5", "+", "-", "*", "/", "^", "**", "(", ")", ",",
    " ", "__import__", "'", "x", "1.2.3", "[", "]", "=", ".",
]  # fmt: skip

fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_formula_errors(text: str) -> None:
    try:
        formula = parse(text, TERMS)
    except FormulaError as err:
        assert isinstance(err.message, str) and err.message
        assert 0 <= err.position <= max(len(text), MAX_LENGTH)
        return
    result = formula.evaluate(dict.fromkeys(formula.terms, 1.5))
    assert result is None or math.isfinite(result)


@fuzz
@given(st.text(max_size=MAX_LENGTH + 20))
def test_random_text_only_ever_raises_formula_errors(text):
    _only_formula_errors(text)


@fuzz
@given(st.lists(st.sampled_from(TOKENS), max_size=80))
def test_token_soup_only_ever_raises_formula_errors(tokens):
    _only_formula_errors("".join(tokens))


@fuzz
@given(st.lists(st.sampled_from(TOKENS), max_size=80))
def test_error_positions_point_into_the_text(tokens):
    text = " ".join(tokens)
    try:
        parse(text, TERMS)
    except FormulaError as err:
        assert 0 <= err.position <= len(text)


numbers = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: repr(round(x, 3)))
atoms = st.one_of(numbers, st.sampled_from(sorted(TERMS)))


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "^", "**"]), children).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    unary = children.map(lambda c: f"-{c}")
    one_arg = st.tuples(st.sampled_from(["abs", "sqrt", "log", "log10"]), children).map(
        lambda t: f"{t[0]}({t[1]})"
    )
    many = st.tuples(st.sampled_from(["min", "max"]), st.lists(children, min_size=1, max_size=3))
    many_args = many.map(lambda t: f"{t[0]}({', '.join(t[1])})")
    clamp = st.tuples(children, children, children).map(lambda t: "clamp({}, {}, {})".format(*t))
    fallback = st.tuples(children, children).map(lambda t: "if_missing({}, {})".format(*t))
    return st.one_of(binary, unary, one_arg, many_args, clamp, fallback)


formulas = st.recursive(atoms, _combine, max_leaves=25)
values = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([0.0, -0.0, 1.0, -1.0]),
)


@fuzz
@given(formulas, st.fixed_dictionaries({name: values for name in TERMS}))
def test_valid_formulas_evaluate_without_raising(text, term_values):
    try:
        formula = parse(text, TERMS)
    except FormulaError as err:
        assert "too long" in err.message or "nested too deeply" in err.message
        assume(False)
    result = formula.evaluate(term_values)
    assert result is None or (isinstance(result, float) and math.isfinite(result))


@fuzz
@given(formulas)
def test_canonical_text_parses_to_the_same_formula(text):
    try:
        formula = parse(text, TERMS)
    except FormulaError:
        assume(False)
    canonical = formula.canonical()
    assume(len(canonical) <= MAX_LENGTH)
    try:
        again = parse(canonical, TERMS)
    except FormulaError as err:  # parentheses add depth only through MAX_DEPTH
        assert "nested too deeply" in err.message
        return
    assert again.canonical() == canonical
    sample = dict.fromkeys(TERMS, 1.7)
    assert again.evaluate(sample) == formula.evaluate(sample)
