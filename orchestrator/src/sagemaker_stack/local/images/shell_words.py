"""Words of a Dockerfile instruction as docker and `/bin/sh` read them: quotes, escapes, `$VAR`.

The Dockerfile parser (`dockerfile-parse`) gives each instruction's text; what a word means is
then the same small language in ENV/ARG/LABEL/WORKDIR/COPY values (docker's own word processing)
and in a shell-form RUN (the shell's): single quotes are literal, double quotes expand `$VAR`
and `${VAR}` (also `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`), a backslash
escapes the next character, unquoted blanks separate words. A shell-form RUN may join simple
commands with `&&` or `;`; any other shell syntax (pipes, redirections, substitutions, `||`,
background jobs, subshells) is refused by name, because the emulator runs no shell.
"""

from __future__ import annotations

from collections.abc import Mapping

_OPERATORS = ("&&", "||", ";", "|", "&", ">", "<", "(", ")", "`")
_SEPARATORS = ("&&", ";")


class ShellSyntaxError(ValueError):
    """Text the emulator cannot read as words; the message names what."""


def expand_words(text: str, env: Mapping[str, str]) -> list[str]:
    """Docker's word processing: split on unquoted blanks, quotes removed, variables expanded."""
    return [word for word, _ in _Lexer(text, env, shell=False).words()]


def expand_word(text: str, env: Mapping[str, str]) -> str:
    """One word (WORKDIR, USER, the value of old-style `ENV KEY value`): blanks are kept."""
    return _Lexer(text.strip(), env, shell=False).whole()


def split_flags(text: str) -> tuple[list[str], str]:
    """Leading `--flag[=value]` words (RUN --mount=..., COPY --chown=...) and the text after them."""
    flags: list[str] = []
    rest = text.lstrip()
    while rest.startswith("--"):
        head, _, tail = rest.partition(" ")
        flags.append(head)
        rest = tail.lstrip()
    return flags, rest


def split_commands(text: str, env: Mapping[str, str]) -> list[list[str]]:
    """A shell-form RUN as its simple commands (joined by `&&` or `;`), each a list of words."""
    commands: list[list[str]] = [[]]
    for word, operator in _Lexer(text, env, shell=True).words():
        if operator is None:
            commands[-1].append(word)
        elif operator in _SEPARATORS:
            if not commands[-1]:
                raise ShellSyntaxError(f"syntax error near {operator!r}")
            commands.append([])
        else:
            raise ShellSyntaxError(
                f"the shell operator {operator!r} is not supported (the emulator runs no shell: "
                "join simple commands with && or ;)"
            )
    if not commands[-1]:
        commands.pop()
    return commands


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], *, shell: bool) -> None:
        self.text, self.env, self.shell = text, env, shell
        self.i = 0

    def whole(self) -> str:
        return "".join(self._word_chars(stop_at_blank=False))

    def words(self) -> list[tuple[str, str | None]]:
        """(word, None) for words and (operator, operator) for shell operators, in order."""
        result: list[tuple[str, str | None]] = []
        while True:
            while self.i < len(self.text) and self.text[self.i].isspace():
                self.i += 1
            if self.i >= len(self.text):
                return result
            operator = self._operator()
            if operator is not None:
                result.append((operator, operator))
                continue
            result.append(("".join(self._word_chars(stop_at_blank=True)), None))

    def _operator(self) -> str | None:
        if not self.shell:
            return None
        if self.text.startswith("$(", self.i):
            raise ShellSyntaxError(
                "command substitution $(...) is not supported (the emulator runs no shell)"
            )
        for operator in _OPERATORS:
            if self.text.startswith(operator, self.i):
                self.i += len(operator)
                return operator
        return None

    def _word_chars(self, *, stop_at_blank: bool) -> list[str]:
        out: list[str] = []
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if stop_at_blank and ch.isspace():
                break
            if stop_at_blank and self.shell and (text.startswith("$(", self.i) or ch in "&|;<>()`"):
                break
            if ch == "\\":
                out.append(text[self.i + 1 : self.i + 2])
                self.i += 2
            elif ch == "'":
                end = text.find("'", self.i + 1)
                if end < 0:
                    raise ShellSyntaxError("unterminated single quote")
                out.append(text[self.i + 1 : end])
                self.i = end + 1
            elif ch == '"':
                self.i += 1
                out.extend(self._double_quoted())
            elif ch == "$":
                out.append(self._variable())
            else:
                out.append(ch)
                self.i += 1
        return out

    def _double_quoted(self) -> list[str]:
        out: list[str] = []
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if ch == '"':
                self.i += 1
                return out
            if ch == "\\" and text[self.i + 1 : self.i + 2] in ('"', "\\", "$", "`"):
                out.append(text[self.i + 1])
                self.i += 2
            elif ch == "$":
                if self.shell and text.startswith("$(", self.i):
                    raise ShellSyntaxError("command substitution $(...) is not supported")
                out.append(self._variable())
            elif ch == "`" and self.shell:
                raise ShellSyntaxError("command substitution `...` is not supported")
            else:
                out.append(ch)
                self.i += 1
        raise ShellSyntaxError("unterminated double quote")

    def _variable(self) -> str:
        """At a `$`: the expansion of $NAME or ${NAME...}; a lone `$` stays a `$`."""
        text = self.text
        start = self.i + 1
        if text.startswith("{", start):
            end = text.find("}", start)
            if end < 0:
                raise ShellSyntaxError("missing '}' in ${...}")
            self.i = end + 1
            return self._braced(text[start + 1 : end])
        end = start
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        if end == start:
            self.i = start
            return "$"
        self.i = end
        return self.env.get(text[start:end], "")

    def _braced(self, body: str) -> str:
        name_end = 0
        while name_end < len(body) and (body[name_end].isalnum() or body[name_end] == "_"):
            name_end += 1
        name, modifier = body[:name_end], body[name_end:]
        if not name:
            raise ShellSyntaxError(f"bad substitution ${{{body}}}")
        value = self.env.get(name)
        if not modifier:
            return value or ""
        for prefix, unset_only in ((":-", False), ("-", True), (":+", False), ("+", True)):
            if modifier.startswith(prefix):
                word = _Lexer(modifier[len(prefix) :], self.env, shell=False).whole()
                present = value is not None if unset_only else bool(value)
                if "-" in prefix:
                    return value if present and value is not None else word
                return word if present else ""
        raise ShellSyntaxError(
            f"unsupported substitution ${{{body}}} (the emulator knows ${{VAR}}, ${{VAR:-word}}, "
            "${VAR-word}, ${VAR:+word} and ${VAR+word})"
        )
