"""What the COMMAND column shows of a command line, and which part of it to highlight.

htop highlights the base name of the program (argv[0]); for an interpreter that name is
`python3` on every Python row, so here the script or module it runs comes first and is the
part highlighted. At 80 columns the command column keeps a dozen cells (the default columns
take the rest): what tells `python3 /srv/app/worker.py` from `python3 /srv/app/beat.py` must
come first, and the interpreter, its flags and the script's directory, which read alike on
every row, come after in parentheses:

    /usr/bin/python3 -u /srv/app/worker.py --x
    worker.py --x  (/usr/bin/python3 -u /srv/app/worker.py)

The parenthesis holds the command line as typed up to the script, so nothing is lost when the
line is scrolled to its end, and what ran it reads apart from the script's own arguments.

The command line is the one /proc gives (arguments joined by blanks, system/procfs.py): an
argument with a blank in it splits in two, which only costs a skipped option here and there.
Pure, and cached per command line: the table asks for every visible row on every tick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple


class ShownCommand(NamedTuple):
    """A command line as the column shows it; `name` is the [start, end) of what to highlight
    in `text` ((0, 0) for nothing)."""

    text: str
    name: tuple[int, int]


class Interpreter(NamedTuple):
    """How an interpreter's options read, enough to find what it runs."""

    takes_value: frozenset[str]  # options whose value is the next word when not attached
    runs_code: frozenset[str]  # options whose value is code given inline: no script to show
    names_target: frozenset[str]  # options whose value is what runs: python -m, java -jar
    clusters: bool  # short options combine and take values attached (-uB, -Wignore, -mpkg)


_PYTHON = Interpreter(
    frozenset({"-X", "-W", "-Q", "--check-hash-based-pycs"}),
    frozenset({"-c"}),
    frozenset({"-m"}),
    clusters=True,
)
_NODE = Interpreter(
    frozenset(
        {"-r", "--require", "--import", "--loader", "--experimental-loader", "-C"}
        | {"--conditions", "--title", "--input-type", "--env-file"}
    ),
    frozenset({"-e", "--eval", "-p", "--print"}),
    frozenset(),
    clusters=False,
)
_JAVA = Interpreter(
    frozenset(
        {"-cp", "-classpath", "--class-path", "-p", "--module-path", "--upgrade-module-path"}
        | {"--add-modules", "--add-opens", "--add-exports", "--add-reads", "--patch-module"}
        | {"--limit-modules", "--source"}
    ),
    frozenset(),
    frozenset({"-jar", "-m", "--module"}),
    clusters=False,
)
_RUBY = Interpreter(
    frozenset({"-I", "-r", "-C", "-E"}), frozenset({"-e"}), frozenset(), clusters=True
)
# perl's -C takes its digits attached (-CSD) or none: never the next word.
_PERL = Interpreter(frozenset({"-I", "-M", "-m"}), frozenset({"-e", "-E"}), frozenset(), True)
_PHP = Interpreter(
    frozenset({"-c", "-d", "-z", "-t", "-S"}),
    frozenset({"-r", "-B", "-R", "-E"}),
    frozenset({"-f"}),
    clusters=False,
)
_SHELL = Interpreter(
    frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"}),
    frozenset({"-c"}),
    frozenset(),
    clusters=True,
)

_INTERPRETERS = re.compile(
    r"(?P<python>(?:python|pypy)(?:\d+(?:\.\d+)*)?[dmu]?)"
    r"|(?P<node>node|nodejs)"
    r"|(?P<java>java)"
    r"|(?P<ruby>ruby(?:\d+(?:\.\d+)*)?)"
    r"|(?P<perl>perl(?:\d+(?:\.\d+)*)?)"
    r"|(?P<php>php(?:\d+(?:\.\d+)*)?)"
    r"|(?P<shell>(?:ba|da|z|k|mk|a)?sh)"
)
_SPECS = {
    "python": _PYTHON,
    "node": _NODE,
    "java": _JAVA,
    "ruby": _RUBY,
    "perl": _PERL,
    "php": _PHP,
    "shell": _SHELL,
}
# Names that say little alone: shown with their directory (`dist/index.js`, `app/__main__.py`).
_GENERIC = frozenset({"__main__.py", "__init__.py", "index.js", "index.mjs", "index.cjs"})
_WORD = re.compile(r"\S+")
# A script read from a pipe (`bash <(curl …)` runs `bash /dev/fd/63`): its name says nothing.
_PIPES = ("/dev/fd/", "/proc/self/fd/")


def interpreter(program: str) -> Interpreter | None:
    """The interpreter a program's base name (`python3.11`, `node`) is, if it is one."""
    match = _INTERPRETERS.fullmatch(program)
    return None if match is None or match.lastgroup is None else _SPECS[match.lastgroup]


def program_span(cmdline: str) -> tuple[int, int]:
    """Where argv[0]'s base name lies in `cmdline`, as htop highlights it: `cron` in
    `/usr/sbin/cron -f`, `bash` in a login shell's `-bash`, `nginx` in a title the program set
    itself (`nginx: worker process`)."""
    word = _WORD.match(cmdline)
    if word is None:
        return (0, 0)
    start, end = word.span()
    if cmdline[end - 1] == ":" and end - start > 1:
        end -= 1
    base = max(start, cmdline.rfind("/", start, end) + 1)
    if base == end:  # argv[0] ends with a slash: no base name to pick out
        return (start, end)
    if cmdline[base] in "-@" and end - base > 1:  # a login shell; systemd's keep-alive mark
        base += 1
    return (base, end)


@dataclass(frozen=True, slots=True)
class Target:
    """What an interpreter runs: word `index` from offset `at` (not 0 for a value attached
    to its option: `-mhttp.server`), and the option that named it ('' for a plain script)."""

    index: int
    at: int
    option: str


def _value(words: list[str], i: int, at: int, option: str) -> Target | None:
    """An option's value: attached to word `i` from `at`, else the next word."""
    if at < len(words[i]):
        return Target(i, at, option)
    return Target(i + 1, 0, option) if i + 1 < len(words) else None


def find_target(spec: Interpreter, words: list[str]) -> Target | None:
    """The script, module or class an interpreter's words (argv[0] first) run; None for inline
    code (`-c`, `-e`), standard input (`-`) or none at all (a REPL, a login shell)."""
    i = 1
    while i < len(words):
        word = words[i]
        if word == "--":
            return Target(i + 1, 0, "") if i + 1 < len(words) else None
        if word in ("-", "+"):
            return None  # the program comes on standard input
        if word[0] not in "-+":
            return Target(i, 0, "")
        if word.startswith("--") or not spec.clusters:
            name, eq, _ = word.partition("=")
            if name in spec.runs_code:
                return None
            if name in spec.names_target:
                return _value(words, i, len(name) + 1 if eq else len(word), name)
            if name in spec.takes_value and not eq:
                i += 1  # its value is the next word
            i += 1
            continue
        for at in range(1, len(word)):  # a cluster: -uB, -Wignore, -mpkg.mod
            option = word[0] + word[at]
            if option in spec.runs_code:
                return None
            if option in spec.names_target:
                return _value(words, i, at + 1, option)
            if option in spec.takes_value:
                if at + 1 == len(word):
                    i += 1  # its value is the next word
                break
        i += 1
    return None


def _target_name(spec: Interpreter, word: str, option: str) -> str:
    """How the target reads: a script's or a jar's base name, a Python module as given, a Java
    class by its simple name (as jps shows it; the full one is in the parenthesis)."""
    if spec is _JAVA and option in ("-m", "--module"):
        module, _, main = word.partition("/")
        return main.rsplit(".", 1)[-1] if main else module
    if spec is _JAVA and option != "-jar" and not word.endswith(".java"):  # not a source file
        return word.rsplit(".", 1)[-1] or word
    if spec is _PYTHON and option == "-m":
        return word
    head, _, base = word.rstrip("/").rpartition("/")
    if base in _GENERIC and head:
        return head.rpartition("/")[2] + "/" + base
    return base or word


@lru_cache(maxsize=1024)
def shown_command(cmdline: str) -> ShownCommand:
    """`cmdline` as the COMMAND column shows it: an interpreter's target first (see the module
    docstring), anything else as it is; with what to highlight."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(cmdline)]
    span = program_span(cmdline)
    if not words or cmdline[words[0][1] - 1] == ":":  # a title it set itself
        return ShownCommand(cmdline, span)
    spec = interpreter(cmdline[span[0] : span[1]])
    texts = [cmdline[s:e] for s, e in words]
    target = None if spec is None else find_target(spec, texts)
    if spec is None or target is None or texts[target.index].startswith(_PIPES):
        return ShownCommand(cmdline, span)
    name = _target_name(spec, texts[target.index][target.at :], target.option)
    end = words[target.index][1]
    args = cmdline[end:].strip()
    text = f"{name} {args}" if args else name
    return ShownCommand(f"{text}  ({cmdline[:end]})", (0, len(name)))
