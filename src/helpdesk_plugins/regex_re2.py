"""The linear-time regular expression engine for ``matches`` (defect 7 of issue 17): google-re2
(extra ``re2``), given to each desk through ``helpdesk_register_conditions``.

RE2 matches in time linear in the subject whatever the pattern (no backtracking), so a pattern
an actor supplies (``^(a+)+$``) cannot stall a desk. It accepts most of Python's syntax but no
back-references and no look-around; such a pattern is refused when it is compiled. Without the
extra this plugin registers nothing: configuration patterns then use Python's ``re`` and
actors' filters refuse ``matches``.
"""

from __future__ import annotations

from typing import Any

from helpdesk_core.conditions import CompiledPattern, ConditionRegistry, RegexEngine
from helpdesk_core.hookspecs import hookimpl

ENGINE_NAME = "re2"


def _options() -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # a refused pattern is our ValueError, not a line on stderr
    return options


def compile_re2(pattern: str) -> CompiledPattern:
    """``pattern`` compiled by RE2; :class:`ValueError` when RE2 refuses it."""
    import re2

    try:
        compiled: CompiledPattern = re2.compile(pattern, _options())
    except re2.error as exc:
        message = exc.args[0] if exc.args else exc
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        raise ValueError(str(message)) from exc
    return compiled


def re2_engine() -> RegexEngine | None:
    """The RE2 engine, or ``None`` when google-re2 is not installed."""
    try:
        import re2  # noqa: F401
    except ImportError:
        return None
    return RegexEngine(ENGINE_NAME, compile_re2, linear=True)


@hookimpl(trylast=True)
def helpdesk_register_conditions(registry: ConditionRegistry) -> None:
    engine = re2_engine()
    if engine is not None and registry.regex is None:  # a host's own engine wins
        registry.set_regex_engine(engine)
