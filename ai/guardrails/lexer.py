"""Token-level checks: split the text into statements, and make sure the text between tokens is
only whitespace and comments that every server reads the same way.

sqlglot's tokenizers follow each server's quoting and comment rules closely. Where a server can
still read the text differently (MySQL `/*! ... */` comments run their contents; nested comments
are nested in PostgreSQL and T-SQL but not elsewhere; MySQL's NO_BACKSLASH_ESCAPES and
ANSI_QUOTES modes change where a string ends), the statement is refused rather than guessed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlglot import Token, Tokenizer, TokenType
from sqlglot.dialects.dialect import Dialect

from ai.guardrails.rules import FORBIDDEN_WORDS

QUOTED_TOKEN_TYPES = frozenset(
    {
        TokenType.STRING,
        TokenType.IDENTIFIER,
        TokenType.NATIONAL_STRING,
        TokenType.NATIONAL_RAW_STRING,
        TokenType.RAW_STRING,
        TokenType.BYTE_STRING,
        TokenType.BIT_STRING,
        TokenType.HEX_STRING,
        TokenType.HEREDOC_STRING,
        TokenType.UNICODE_STRING,
    }
)

_WHITESPACE = " \t\r\n\f\v"


@dataclass(frozen=True)
class Lexed:
    tokens: list[Token]
    statements: list[list[Token]]  # tokens of each statement, semicolons removed
    problems: list[str]  # reasons the text is ambiguous; any problem makes it not read-only


def lex(sql: str, dialect: str) -> Lexed:
    """Tokenizes `sql` and splits it into statements. Raises if sqlglot cannot tokenize it."""
    tokens = _tokenizer_class(dialect)(dialect=dialect).tokenize(sql)
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    problems = _gap_problems(sql, tokens, dialect)
    if dialect == "mysql":
        problems += _mysql_quote_problems(sql, tokens)
    return Lexed(tokens=tokens, statements=[s for s in statements if s], problems=problems)


def source(sql: str, tokens: list[Token]) -> str:
    """The original text from the first to the last of `tokens` (comments inside included)."""
    return sql[tokens[0].start : tokens[-1].end + 1]


def word(token: Token) -> str:
    """The token's first word in upper case ("" for strings and quoted names). Some keyword
    tokens span words (LOCK TABLES, UPDATE STATISTICS); the first word says what they are."""
    if token.token_type in QUOTED_TOKEN_TYPES:
        return ""
    words = token.text.split()
    return words[0].upper() if words else ""


def leading_word(tokens: list[Token]) -> str:
    return word(tokens[0])


def forbidden_word_reasons(tokens: list[Token], dialect: str) -> list[str]:
    forbidden = FORBIDDEN_WORDS.get(dialect, {})
    return [
        forbidden[text]
        for token in tokens
        if token.token_type not in QUOTED_TOKEN_TYPES
        for text in token.text.upper().split()
        if text in forbidden
    ]


@functools.cache
def _tokenizer_class(dialect: str) -> type[Tokenizer]:
    # sqlglot's tokenizers fold the rest of a "command" statement (EXPLAIN, CALL, SHOW, ...)
    # into one string token without a usable position. Without the command list every word
    # stays a token with its real position, so EXPLAIN's options and the text between tokens
    # can be checked. Statements still end at the same semicolons.
    base = Dialect.get_or_raise(dialect).tokenizer_class
    return type(f"Guardrail{base.__name__}", (base,), {"COMMANDS": set()})


def _gap_problems(sql: str, tokens: list[Token], dialect: str) -> list[str]:
    """Checks the text the tokenizer skipped: it must be whitespace and plain comments only."""
    problems: list[str] = []
    position = 0
    for token in tokens:
        problems += _scan_gap(sql[position : token.start], dialect)
        position = max(position, token.end + 1)
    problems += _scan_gap(sql[position:], dialect)
    return list(dict.fromkeys(problems))


def _scan_gap(gap: str, dialect: str) -> list[str]:
    i = 0
    while i < len(gap):
        char = gap[i]
        if char in _WHITESPACE:
            i += 1
        elif gap.startswith("--", i) or (char == "#" and dialect in ("mysql", "clickhouse")):
            newline = gap.find("\n", i)
            i = len(gap) if newline < 0 else newline + 1
        elif gap.startswith("/*", i):
            close = gap.find("*/", i + 2)
            if close < 0:
                return ["an unterminated comment"]
            body = gap[i + 2 : close]
            if "/*" in body:
                return ["a nested comment, which servers end in different places"]
            if dialect == "mysql" and (body.startswith("!") or body[:2].upper() == "M!"):
                return ["a MySQL executable comment (/*! ... */), whose contents run"]
            i = close + 2
        else:
            return ["text the SQL tokenizer skipped"]
    return []


def _mysql_quote_problems(sql: str, tokens: list[Token]) -> list[str]:
    for token in tokens:
        if token.token_type in QUOTED_TOKEN_TYPES:
            raw = sql[token.start : token.end + 1]
            if "\\'" in raw or '\\"' in raw or "\\`" in raw:
                return ["a backslash-escaped quote, whose meaning depends on the server's SQL mode"]
    return []
