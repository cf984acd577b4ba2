"""What the COMMAND column shows of a command line (system/command_line.py): an interpreter's
script, module, jar or class first, what ran it after in parentheses, and the name to
highlight."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from perftop.system.command_line import (
    find_target,
    interpreter,
    program_span,
    shown_command,
)


def name_of(cmdline: str) -> str:
    shown = shown_command(cmdline)
    return shown.text[shown.name[0] : shown.name[1]]


@pytest.mark.parametrize(
    ("cmdline", "text"),
    [
        # the brief's own: the script first, the rest of its line, then what ran it
        (
            "/usr/bin/python3 /srv/app/worker.py --x",
            "worker.py --x  (/usr/bin/python3 /srv/app/worker.py)",
        ),
        ("python -m pkg.mod --port 80", "pkg.mod --port 80  (python -m pkg.mod)"),
        ("python3 -mhttp.server 8000", "http.server 8000  (python3 -mhttp.server)"),
        ("java -Xmx2g -jar /opt/app.jar serve", "app.jar serve  (java -Xmx2g -jar /opt/app.jar)"),
        ("node server.js", "server.js  (node server.js)"),
        (
            "/usr/bin/python3 /usr/local/bin/perftop",
            "perftop  (/usr/bin/python3 /usr/local/bin/perftop)",
        ),
        # interpreter flags are skipped, with the values some of them take
        ("python3 -u -X dev -W ignore -O x.py a", "x.py a  (python3 -u -X dev -W ignore -O x.py)"),
        ("python3 -uBWignore x.py", "x.py  (python3 -uBWignore x.py)"),
        (
            "python3 -Es /usr/sbin/firewalld --nofork",
            "firewalld --nofork  (python3 -Es /usr/sbin/firewalld)",
        ),
        (
            "python3 --check-hash-based-pycs never x.py",
            "x.py  (python3 --check-hash-based-pycs never x.py)",
        ),
        ("python3 -- -x.py", "-x.py  (python3 -- -x.py)"),
        ("python3.11 a.py", "a.py  (python3.11 a.py)"),
        ("pypy3 bench.py", "bench.py  (pypy3 bench.py)"),
        ("python3 /app/pkg/__main__.py", "pkg/__main__.py  (python3 /app/pkg/__main__.py)"),
        # Java: the main class by its simple name, as jps; a module's main class; a source file
        ("java -cp lib/* org.foo.Main arg", "Main arg  (java -cp lib/* org.foo.Main)"),
        ("java --module=jdk.jshell/a.b.Tool -q", "Tool -q  (java --module=jdk.jshell/a.b.Tool)"),
        ("java -m app.core serve", "app.core serve  (java -m app.core)"),
        ("java -Dx=y -server Main.java", "Main.java  (java -Dx=y -server Main.java)"),
        # node, ruby, perl, php, the shells
        (
            "node --require dotenv/config /app/dist/index.js",
            "dist/index.js  (node --require dotenv/config /app/dist/index.js)",
        ),
        (
            "node --max-old-space-size=4096 /usr/bin/npm run dev",
            "npm run dev  (node --max-old-space-size=4096 /usr/bin/npm)",
        ),
        (
            "ruby -rbundler/setup -I lib app.rb -p 3000",
            "app.rb -p 3000  (ruby -rbundler/setup -I lib app.rb)",
        ),
        ("perl -MFoo -w -I lib /usr/bin/ack x", "ack x  (perl -MFoo -w -I lib /usr/bin/ack)"),
        (
            "php -d memory_limit=1G -f /srv/cron.php",
            "cron.php  (php -d memory_limit=1G -f /srv/cron.php)",
        ),
        ("/bin/sh /etc/init.d/foo start", "foo start  (/bin/sh /etc/init.d/foo)"),
        ("bash -e --rcfile x deploy.sh prod", "deploy.sh prod  (bash -e --rcfile x deploy.sh)"),
        ("bash +o history run.sh", "run.sh  (bash +o history run.sh)"),
    ],
)
def test_an_interpreter_shows_what_it_runs_first(cmdline: str, text: str) -> None:
    shown = shown_command(cmdline)
    assert shown.text == text
    assert shown.name[0] == 0 and text[shown.name[1] :].startswith((" ", "  ("))


@pytest.mark.parametrize(
    ("cmdline", "name"),
    [
        # no script to show: inline code, standard input, a REPL, a login shell
        ("python3 -c import sys; print(sys.argv)", "python3"),
        ("python3 -uc pass", "python3"),
        ("python3 -", "python3"),
        ("python3 -i", "python3"),
        ("python3 -W", "python3"),  # an option whose value is missing
        ("node -e console.log(1)", "node"),
        ("node --print 1+1", "node"),
        ("ruby -e puts", "ruby"),
        ("perl -E say", "perl"),
        ("php -r echo;", "php"),
        ("bash -c sleep 1", "bash"),
        ("-bash", "bash"),
        ("bash --login", "bash"),
        ("java -version", "java"),
        ("java -jar", "java"),
        ("bash /dev/fd/63", "bash"),  # bash <(curl ...): a pipe's name says nothing
        ("python3 /proc/self/fd/3 x", "python3"),
        # not interpreters, or interpreters that renamed themselves: as they are
        ("/usr/sbin/cron -f", "cron"),
        ("sshd: /usr/sbin/sshd -D [listener]", "sshd"),
        ("nginx: worker process", "nginx"),
        ("postgres: 16/main: checkpointer", "postgres"),
        ("python3: celery worker", "python3"),
        ("@dbus-daemon --system", "dbus-daemon"),
        ("/usr/bin/", "/usr/bin/"),
        ("ssh host", "ssh"),
        ("pythonista app.py", "pythonista"),
    ],
)
def test_anything_else_reads_as_it_is_with_its_program_name_highlighted(
    cmdline: str, name: str
) -> None:
    shown = shown_command(cmdline)
    assert shown.text == cmdline
    assert name_of(cmdline) == name


def test_the_highlighted_name_is_the_target_for_an_interpreter() -> None:
    assert name_of("/usr/bin/python3 /srv/app/worker.py --x") == "worker.py"
    assert name_of("python -m pkg.mod") == "pkg.mod"
    assert name_of("java -cp . org.foo.Main") == "Main"
    assert name_of("node /app/dist/index.js") == "dist/index.js"


def test_program_span_is_argv0s_base_name() -> None:
    assert program_span("") == (0, 0)
    assert program_span("/usr/sbin/cron -f") == (10, 14)
    assert program_span("-bash") == (1, 5)
    assert program_span("nginx: master process") == (0, 5)
    assert program_span("-") == (0, 1)  # a lone dash stays itself


@pytest.mark.parametrize(
    "program",
    [
        *("python", "python3", "python3.11", "python3.12d", "pypy", "pypy3.10", "node", "nodejs"),
        *("java", "ruby", "ruby3.2", "perl", "perl5.36", "php", "php8.2", "sh", "bash", "dash"),
        *("zsh", "ksh"),
    ],
)
def test_interpreters_are_known_by_name(program: str) -> None:
    assert interpreter(program) is not None


@pytest.mark.parametrize("program", ["python3-config", "pythonw", "ssh", "fish", "javac", "nod"])
def test_other_programs_are_not_interpreters(program: str) -> None:
    assert interpreter(program) is None


def test_find_target_says_where_an_attached_value_starts() -> None:
    python = interpreter("python3")
    assert python is not None
    target = find_target(python, ["python3", "-u", "-mpkg.mod", "x"])
    assert target is not None and (target.index, target.at, target.option) == (2, 2, "-m")
    target = find_target(python, ["python3", "-m", "pkg"])
    assert target is not None and (target.index, target.at, target.option) == (2, 0, "-m")
    assert find_target(python, ["python3", "-m"]) is None


def test_it_is_cached_with_a_bound() -> None:
    # It runs for every visible row on every tick: a command line is parsed once.
    assert shown_command.cache_info().maxsize == 1024
    cmdline = "python3 /srv/a/cached_once.py"
    first = shown_command(cmdline)
    assert shown_command(cmdline) is first


# Words that drive the parser through its branches, and a few arbitrary ones.
WORDS = ["python3", "/usr/bin/java", "node", "bash", "-m", "-c", "-jar", "-u", "-X", "--", "-"]
word = st.sampled_from(WORDS) | st.text(alphabet="abxyz./-=+:_", min_size=1, max_size=8)


@given(st.lists(word, max_size=7).map(" ".join))
@example("python3 -m")
@example("java -jar  x")
@example("node --")
def test_nothing_is_lost_and_the_name_lies_in_the_text(cmdline: str) -> None:
    cmdline = cmdline.strip()
    shown = shown_command(cmdline)
    start, end = shown.name
    assert 0 <= start <= end <= len(shown.text)
    if shown.text != cmdline:
        # Reordered: the parenthesis is the line up to the target, the rest follows the name.
        head, _, tail = shown.text.rpartition("  (")
        assert tail.endswith(")")
        ran = tail[:-1]
        assert cmdline.startswith(ran)
        rest = cmdline[len(ran) :].strip()
        assert head == (shown.text[start:end] + (" " + rest if rest else ""))
        assert start == 0 and end > 0
