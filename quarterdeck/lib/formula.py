"""A small, safe arithmetic language for a workspace's own scoring formula.

A formula combines named terms (``value``, ``effort``, ``confidence``…) with numbers, operators
and a few functions, for example::

    (user_value + 2 * company_value) / (effort * risk_factor)
    clamp(reach, 0, 1000) * impact * if_missing(confidence, 0.5) / effort

The text is read by a hand-written tokenizer and a recursive-descent parser into an abstract syntax
tree, which is compiled into a tree of closures. User text is never given to ``eval``, ``exec``,
``compile`` or any other Python parser: the only things a formula can do are listed here.

Grammar (lowest precedence first)::

    expr    := product (('+' | '-') product)*          left-associative
    product := unary (('*' | '/') unary)*              left-associative
    unary   := ('-' | '+') unary | power
    power   := atom (('^' | '**') unary)?              right-associative: 2^3^2 = 2^9
    atom    := NUMBER | TERM | FUNCTION '(' expr (',' expr)* ')' | '(' expr ')'

So ``-x^2`` is ``-(x^2)`` and ``2^-1`` is ``0.5``, as in mathematics. Numbers are plain decimals
(``3``, ``0.25``, ``.5``); there is no exponent notation. Names are ASCII letters, digits and ``_``
and must be among the terms the caller allows. Functions:

===================  ======================================================================
``min(a, b, …)``     smallest argument (one or more)
``max(a, b, …)``     largest argument (one or more)
``abs(x)``           absolute value
``sqrt(x)``          square root; undefined for x < 0
``log(x)``           natural logarithm; undefined for x ≤ 0
``log10(x)``         base-10 logarithm; undefined for x ≤ 0
``clamp(x, lo, hi)`` x limited to [lo, hi]; undefined when lo > hi
``if_missing(x, d)`` x, or d when x is missing or undefined
===================  ======================================================================

Evaluation never raises for valid formulas. A term that is absent or ``None`` in the values is
*missing*; a missing value, a division by zero, a logarithm or square root out of its domain, a
power that is not a real number or overflows are all *undefined*, and anything computed from an
undefined value is undefined too — except through ``if_missing``, which supplies a fallback, e.g.
``if_missing(value / effort, 0)``. ``Formula.evaluate`` returns ``None`` when the result is
undefined or not finite. (Inside, undefined values travel as NaN, so the closures need no
checks on the fast path.)

Limits keep parsing and evaluation cheap: at most ``MAX_LENGTH`` characters, ``MAX_NODES``
numbers, names, operators and calls, and ``MAX_DEPTH`` levels of nesting (parentheses, calls, unary
signs and operators all count, including chained ones: ``a+b+c`` is three levels deep).

Every problem is a ``FormulaError`` with a readable message and ``position``, the 0-based offset in
the text where the problem was found (the same number the message shows), e.g.
``unknown term 'demnd' at position 12 (did you mean 'demand'?); known terms: demand, effort``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "Formula",
    "FormulaError",
    "parse",
    "validate",
]

MAX_LENGTH = 500
MAX_DEPTH = 50
MAX_NODES = 200

NAN = math.nan

Values = Mapping[str, float | int | None]
_Compiled = Callable[[Values], float]


class FormulaError(ValueError):
    """A formula that cannot be parsed; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return self.message


# --- functions ------------------------------------------------------------------------------------
# Every function takes and returns floats, NaN meaning "missing or undefined".


def _min(*xs: float) -> float:
    for x in xs:
        if x != x:
            return NAN
    return min(xs)


def _max(*xs: float) -> float:
    for x in xs:
        if x != x:
            return NAN
    return max(xs)


def _log(x: float) -> float:
    return math.log(x) if x > 0 else NAN  # NaN > 0 is False


def _log10(x: float) -> float:
    return math.log10(x) if x > 0 else NAN


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else NAN


def _clamp(x: float, lo: float, hi: float) -> float:
    if not lo <= hi or x != x:  # also catches NaN bounds
        return NAN
    return lo if x < lo else hi if x > hi else x


def _if_missing(x: float, default: float) -> float:
    return x if x == x else default


def _pow(base: float, exponent: float) -> float:
    if base != base or exponent != exponent:
        return NAN  # math.pow(NaN, 0) would be 1.0
    try:
        return math.pow(base, exponent)
    except (ValueError, OverflowError):  # 0 ** -1, (-8) ** 0.5, 10 ** 999
        return NAN


class _Function(NamedTuple):
    impl: Callable[..., float]
    min_args: int
    max_args: int | None  # None: any number
    signature: str


FUNCTIONS: Mapping[str, _Function] = {
    "abs": _Function(abs, 1, 1, "abs(x)"),
    "clamp": _Function(_clamp, 3, 3, "clamp(x, lo, hi)"),
    "if_missing": _Function(_if_missing, 2, 2, "if_missing(x, default)"),
    "log": _Function(_log, 1, 1, "log(x)"),
    "log10": _Function(_log10, 1, 1, "log10(x)"),
    "max": _Function(_max, 1, None, "max(a, b, ...)"),
    "min": _Function(_min, 1, None, "min(a, b, ...)"),
    "sqrt": _Function(_sqrt, 1, 1, "sqrt(x)"),
}


# --- syntax tree ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    position: int


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    position: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # only "-": a unary plus is dropped by the parser
    operand: Node
    position: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # one of + - * / ^
    left: Node
    right: Node
    position: int


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    args: tuple[Node, ...]
    position: int


Node = Number | Name | Unary | Binary | Call


def unparse(node: Node) -> str:
    """Fully parenthesised text for ``node``; parsing it gives back an equivalent tree."""
    if isinstance(node, Number):
        return repr(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Unary):
        return f"(-{unparse(node.operand)})"
    if isinstance(node, Binary):
        return f"({unparse(node.left)} {node.op} {unparse(node.right)})"
    return f"{node.function}({', '.join(unparse(arg) for arg in node.args)})"


# --- tokenizer ------------------------------------------------------------------------------------

_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | _DIGITS
_SPACE = frozenset(" \t\r\n")
_SINGLE = {"+": "op", "-": "op", "*": "op", "/": "op", "^": "op", "(": "(", ")": ")", ",": ","}


class Token(NamedTuple):
    kind: str  # "number", "name", "op", "(", ")", ",", "end"
    text: str
    position: int


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "end of formula"
    if token.kind == "name":
        return f"name '{token.text}'"
    if token.kind == "number":
        return f"number {token.text}"
    return f"'{token.text}'"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token; ``**`` becomes ``^``."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            i += 1
        elif c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            start = i
            while i < n and text[i] in _DIGITS:
                i += 1
            if i < n and text[i] == ".":
                i += 1
                while i < n and text[i] in _DIGITS:
                    i += 1
            if i < n and text[i] == ".":
                raise FormulaError(f"malformed number at position {start}", start)
            tokens.append(Token("number", text[start:i], start))
        elif c in _NAME_START:
            start = i
            while i < n and text[i] in _NAME_CHARS:
                i += 1
            tokens.append(Token("name", text[start:i], start))
        elif c == "*" and text.startswith("**", i):
            tokens.append(Token("op", "^", i))
            i += 2
        elif c in _SINGLE:
            tokens.append(Token(_SINGLE[c], c, i))
            i += 1
        else:
            raise FormulaError(f"unexpected character {c!r} at position {i}", i)
    tokens.append(Token("end", "", n))
    return tokens


# --- parser ---------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, allowed: Collection[str]) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.allowed = allowed
        self.depth = 0
        self.nodes = 0
        self.heights: dict[int, int] = {}  # id(node) -> levels below and including it

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def count(self, position: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FormulaError(
                f"formula is too long at position {position}: "
                f"at most {MAX_NODES} numbers, names and operations",
                position,
            )

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise FormulaError("formula is empty at position 0", 0)
        node = self.expr()
        if self.token.kind != "end":
            token = self.token
            expected = "an operator" if token.kind != ")" else "an operator or end of formula"
            raise FormulaError(
                f"unexpected {_describe(token)} at position {token.position}; expected {expected}",
                token.position,
            )
        return node

    def expr(self) -> Node:
        node = self.product()
        while self.token.kind == "op" and self.token.text in "+-":
            op = self.advance()
            node = self.binary(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.token.kind == "op" and self.token.text in "*/":
            op = self.advance()
            node = self.binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.too_deep(self.token.position)
        try:
            if self.token.kind == "op" and self.token.text in "+-":
                op = self.advance()
                operand = self.unary()
                if op.text == "+":
                    return operand
                self.count(op.position)
                return self.checked(Unary("-", operand, op.position))
            return self.power()
        finally:
            self.depth -= 1

    def power(self) -> Node:
        node = self.atom()
        if self.token.kind == "op" and self.token.text == "^":
            op = self.advance()
            node = self.binary(op, node, self.unary())
        return node

    def atom(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            value = float(token.text)
            if not math.isfinite(value):
                raise FormulaError(f"number too large at position {token.position}", token.position)
            self.count(token.position)
            return Number(value, token.position)
        if token.kind == "name":
            if self.token.kind == "(":
                return self.call(token)
            return self.name(token)
        if token.kind == "(":
            node = self.expr()
            self.expect_close(token)
            return node
        raise FormulaError(
            f"unexpected {_describe(token)} at position {token.position}; "
            "expected a number, a term, a function or '('",
            token.position,
        )

    def name(self, token: Token) -> Node:
        if token.text not in self.allowed:
            if token.text in FUNCTIONS:
                signature = FUNCTIONS[token.text].signature
                raise FormulaError(
                    f"function '{token.text}' at position {token.position} needs its arguments: "
                    f"{signature}",
                    token.position,
                )
            raise FormulaError(
                f"unknown term '{token.text}' at position {token.position}"
                f"{_suggest(token.text, self.allowed)}; known terms: {_listing(self.allowed)}",
                token.position,
            )
        self.count(token.position)
        return Name(token.text, token.position)

    def call(self, name: Token) -> Node:
        function = FUNCTIONS.get(name.text)
        if function is None:
            if name.text in self.allowed:
                raise FormulaError(
                    f"'{name.text}' at position {name.position} is a term, not a function",
                    name.position,
                )
            raise FormulaError(
                f"unknown function '{name.text}' at position {name.position}"
                f"{_suggest(name.text, FUNCTIONS)}; functions: {_listing(FUNCTIONS)}",
                name.position,
            )
        opening = self.advance()
        args: list[Node] = []
        if self.token.kind != ")":
            args.append(self.expr())
            while self.token.kind == ",":
                self.advance()
                args.append(self.expr())
        self.expect_close(opening)
        too_few = len(args) < function.min_args
        too_many = function.max_args is not None and len(args) > function.max_args
        if too_few or too_many:
            raise FormulaError(
                f"wrong number of arguments to '{name.text}' at position {name.position}: "
                f"got {len(args)}, expected {function.signature}",
                name.position,
            )
        self.count(name.position)
        return self.checked(Call(name.text, tuple(args), name.position))

    def binary(self, op: Token, left: Node, right: Node) -> Node:
        self.count(op.position)
        return self.checked(Binary(op.text, left, right, op.position))

    def expect_close(self, opening: Token) -> None:
        token = self.token
        if token.kind == ")":
            self.advance()
            return
        raise FormulaError(
            f"expected ')' at position {token.position} to close '(' at position "
            f"{opening.position}, found {_describe(token)}",
            token.position,
        )

    def checked(self, node: Node) -> Node:
        """Record the height of a new operator node, refusing trees deeper than MAX_DEPTH."""
        if isinstance(node, Unary):
            children: tuple[Node, ...] = (node.operand,)
        elif isinstance(node, Binary):
            children = (node.left, node.right)
        else:
            assert isinstance(node, Call)
            children = node.args
        height = 1 + max(self.heights.get(id(child), 1) for child in children)
        if height > MAX_DEPTH:
            raise self.too_deep(node.position)
        self.heights[id(node)] = height
        return node

    @staticmethod
    def too_deep(position: int) -> FormulaError:
        return FormulaError(
            f"formula is nested too deeply at position {position}: at most {MAX_DEPTH} levels",
            position,
        )


def _listing(names: Collection[str]) -> str:
    return ", ".join(sorted(names)) or "(none)"


def _suggest(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- compiling ------------------------------------------------------------------------------------


def _compile(node: Node) -> _Compiled:
    """A closure computing ``node`` from a mapping of term values, NaN meaning undefined."""
    if isinstance(node, Number):
        constant = node.value
        return lambda values: constant
    if isinstance(node, Name):
        name = node.name

        def term(values: Values) -> float:
            value = values.get(name)
            return NAN if value is None else float(value)

        return term
    if isinstance(node, Unary):
        operand = _compile(node.operand)
        return lambda values: -operand(values)
    if isinstance(node, Binary):
        return _compile_binary(node.op, _compile(node.left), _compile(node.right))
    impl = FUNCTIONS[node.function].impl
    args = tuple(_compile(arg) for arg in node.args)
    if len(args) == 1:
        (only,) = args
        return lambda values: impl(only(values))
    if len(args) == 2:
        first, second = args
        return lambda values: impl(first(values), second(values))
    return lambda values: impl(*[arg(values) for arg in args])


def _compile_binary(op: str, left: _Compiled, right: _Compiled) -> _Compiled:
    if op == "+":
        return lambda values: left(values) + right(values)
    if op == "-":
        return lambda values: left(values) - right(values)
    if op == "*":
        return lambda values: left(values) * right(values)
    if op == "/":

        def divide(values: Values) -> float:
            numerator = left(values)
            denominator = right(values)
            return numerator / denominator if denominator else NAN  # NaN is truthy

        return divide
    return lambda values: _pow(left(values), right(values))


# --- public API -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Formula:
    """A parsed formula: ``evaluate`` it over term values as often as needed."""

    source: str
    tree: Node
    terms: frozenset[str]
    _compiled: _Compiled = field(repr=False, compare=False)

    def evaluate(self, values: Values) -> float | None:
        """The formula's value, or ``None`` when it is undefined (see the module docstring)."""
        try:
            result = self._compiled(values)
        except OverflowError:  # an integer term too large for a float
            return None
        return result if math.isfinite(result) else None

    def canonical(self) -> str:
        """The formula fully parenthesised, as the parser understood it."""
        return unparse(self.tree)


def _names(node: Node) -> set[str]:
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Unary):
        return _names(node.operand)
    if isinstance(node, Binary):
        return _names(node.left) | _names(node.right)
    if isinstance(node, Call):
        return set().union(*(_names(arg) for arg in node.args))
    return set()


def parse(text: str, allowed: Collection[str]) -> Formula:
    """Parse ``text`` over the term names in ``allowed``; ``FormulaError`` if it is invalid."""
    if not isinstance(text, str):
        raise FormulaError("formula must be text at position 0", 0)
    if len(text) > MAX_LENGTH:
        raise FormulaError(
            f"formula is too long at position {MAX_LENGTH}: at most {MAX_LENGTH} characters",
            MAX_LENGTH,
        )
    allowed = frozenset(allowed)
    tree = _Parser(text, allowed).parse()
    return Formula(source=text, tree=tree, terms=frozenset(_names(tree)), _compiled=_compile(tree))


def validate(text: str, allowed: Collection[str]) -> None:
    """Raise ``FormulaError`` unless ``text`` is a valid formula over ``allowed``."""
    parse(text, allowed)
