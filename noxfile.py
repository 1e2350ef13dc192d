"""Developer and CI sessions: ``nox -s tests lint typecheck`` is what CI runs."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
# server: docs/embedding.md runs a Starlette app (with httpx from webhook)
EXTRAS_FOR_TESTS = ".[sql,postgres,calendars,re2,charts,email,webhook,server,cli]"
SERVER_TEST_TOOLS = ("playwright", "schemathesis")


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (PostgreSQL tests run when HELPDESK_TEST_POSTGRES_URL is set)."""
    session.install("-e", EXTRAS_FOR_TESTS, *_group("tests"))
    # The example third-party plugin distribution proves entry-point discovery.
    session.install("-e", "examples/helpdesk_example_plugin")
    # The SMS notifier: a separately installable plugin package with its own dependency.
    session.install("-e", "examples/helpdesk_sms_plugin")
    # The reference server (its API is fuzzed with schemathesis, its UI driven by playwright
    # on the system's chromium).
    session.install("-e", "examples/helpdesk_server", *SERVER_TEST_TOOLS)
    session.run("pytest", *session.posargs)


@nox.session
def tests_postgres(session: nox.Session) -> None:
    """Only the tests that need PostgreSQL; fails instead of skipping without a server."""
    session.install("-e", EXTRAS_FOR_TESTS, *_group("tests"))
    env = {"HELPDESK_REQUIRE_POSTGRES": "1"}
    env.setdefault(
        "HELPDESK_TEST_POSTGRES_URL",
        os.environ.get(
            "HELPDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    session.run("pytest", "-m", "postgres", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the sources, tests, benchmarks and examples."""
    session.install(*_group("lint"))
    session.run("ruff", "check", "src", "tests", "benchmarks", "examples", "docs", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over src/."""
    session.install("-e", EXTRAS_FOR_TESTS, *_group("typecheck"))
    session.run("mypy", "--strict", "src")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site (mkdocs-material) into site/; any warning is an error."""
    session.install(*_group("docs"))
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks with their peers, printed as figures and ratios (not part of CI)."""
    session.install("-e", EXTRAS_FOR_TESTS, "pandas", "timegrid", "jieba")
    session.install("-e", "examples/helpdesk_server")  # bench_scaleout runs `helpdesk serve`
    for script in sorted(os.listdir("benchmarks")):
        if script.startswith("bench_") and script.endswith(".py"):
            session.run("python", f"benchmarks/{script}")


@nox.session
def demo(session: nox.Session) -> None:
    """Install and run the demo: opens, answers, pauses and resolves tickets."""
    session.install("-e", ".")
    session.run("python", "examples/demo.py")
