"""Every hook of the ``helpdesk`` plugin project.

A plugin is any object (usually a module) with functions marked ``@helpdesk_core.hookimpl`` whose
names are the hooks below. Built-in plugins in ``helpdesk_plugins`` use the same hooks and are
registered with ``trylast=True`` implementations, so a host's plugin wins whatever the order.
Third-party plugins are found through the entry-point group ``helpdesk``.

Hooks evolve only by adding optional arguments (pluggy passes just the arguments an
implementation names), never by removing or renaming one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from helpdesk_core.conditions import ConditionRegistry
    from helpdesk_core.config import HelpdeskConfig, SectionRegistrar
    from helpdesk_core.model.events import Event
    from helpdesk_core.model.people import Agent
    from helpdesk_core.model.reviews import Review
    from helpdesk_core.model.tickets import Ticket
    from helpdesk_core.ports import Channel, Notifier, Storage

PROJECT_NAME = "helpdesk"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec(firstresult=True)
def helpdesk_storage_open(url: str | object, config: HelpdeskConfig) -> Storage | None:
    """Open a storage for ``url`` if this plugin serves its scheme.

    Called once when a :class:`~helpdesk_core.desk.Helpdesk` is built. Return ``None`` for a URL
    scheme this plugin does not serve, and for any object that is not a URL string and that it
    does not recognise.

    :param url: the ``storage_url`` given to ``Helpdesk``: a URL (``memory://``,
        ``sqlite:///desk.db``) or an object a plugin recognises (the SQL plugin accepts an
        SQLAlchemy ``Engine``).
    :param config: the desk's validated configuration.
    :returns: an object implementing :class:`~helpdesk_core.ports.Storage`, or ``None``.

    Stops at the first non-None result.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``url`` may be an object other than a string (an engine).
    """


@hookspec
def helpdesk_register_notifiers(config: HelpdeskConfig) -> Iterable[Notifier] | None:
    """Provide notifiers (email, SMS, webhook...) that deliver outbox notifications.

    Called once when a desk is built; every plugin's notifiers are used.

    :param config: the desk's validated configuration.
    :returns: notifier objects implementing :class:`~helpdesk_core.ports.Notifier`, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec
def helpdesk_register_channels(config: HelpdeskConfig) -> Iterable[Channel] | None:
    """Provide intake channels (email, web form, SMS...).

    Called once when a desk is built. Channel names must be unique across plugins.

    :param config: the desk's validated configuration.
    :returns: channel objects implementing :class:`~helpdesk_core.ports.Channel`, or ``None``.

    .. versionadded:: 0.1
    """


@hookspec
def helpdesk_event_committed(event: Event, ticket: Ticket) -> None:
    """Observe an event after the transaction that recorded it has committed.

    Called once per event, in order, after commit; never for a rolled-back command. An
    exception raised here is logged and does not undo the committed change.

    :param event: the committed event.
    :param ticket: the ticket's state after the command.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def helpdesk_route_ticket(ticket: Ticket, candidates: Sequence[Agent]) -> str | None:
    """Choose the assignee of a ticket that routing is about to assign.

    Called by the router before its own strategies, with the agents the matching rule allows.

    :param ticket: the ticket to route.
    :param candidates: the agents eligible under the matching routing rule.
    :returns: the id of the chosen agent, or ``None`` to let the configured strategy decide.

    Stops at the first non-None result.

    .. versionadded:: 0.1
    """


@hookspec
def helpdesk_register_permissions(matrix: Any) -> None:
    """Add actions, roles and rules to the permission matrix.

    Called once when a desk is built, before any command is checked.

    :param matrix: the desk's permission policy; call its ``add_action`` / ``add_role`` /
        ``add_rule`` methods.

    .. versionadded:: 0.1
    """


@hookspec
def helpdesk_register_conditions(registry: ConditionRegistry) -> None:
    """Add fields, operators or the regular-expression engine to one desk's condition language.

    Called once when a desk is built (and by a standalone ``load_config``, with the built-in
    plugins only), before the configuration's conditions are compiled. What is added belongs to
    that desk alone: another desk in the same process does not know it.

    :param registry: call ``registry.add_field("customer.region")``,
        ``registry.add_operator("starts_with", func)`` or ``registry.set_regex_engine(engine)``.

    .. versionadded:: 0.1
    """


@hookspec
def helpdesk_register_config_sections(register: SectionRegistrar) -> None:
    """Own top-level keys of the desk's configuration (``[sms]``, ``[storage]``).

    Called once when a desk is built, after ``helpdesk_register_conditions`` and before the
    configuration is parsed; a standalone ``load_config`` calls it on the built-in plugins.
    A top-level key no plugin registered is a ``ConfigError``, as is a name two plugins
    register or a core key (``desk``, ``priorities``, ``ticket_types``, ``channels``,
    ``custom_fields``, ``workflow``).

    :param register: call ``register(name, parser)``; the desk calls
        ``parser(value, key_path, context)`` once with the key's value, its key path and a
        :class:`~helpdesk_core.config.ConfigContext` (``context.raw``, ``context.section(name)``
        for another section parsed once, ``context.condition(data, path)`` to compile a
        condition with the desk's registry). The parser returns the parsed section, found in
        ``config.sections[name]``, or raises ``ConfigError`` naming the key path.

    .. versionadded:: 0.2
    """


@hookspec
def helpdesk_open_review(ticket: Ticket, reason: str, key: str, review: Review | None) -> None:
    """Observe the post-incident review an escalation level opened.

    A level with ``review = true`` opens the library's own review (``desk.open_review``'s
    record) in the firing's transaction. Called by the escalation worker after that transaction
    committed, once per firing (``key`` is the firing's unique key, so an implementation can
    drop a repeat after a crash between commit and call).

    :param ticket: the ticket as it is after the escalation's actions.
    :param reason: why the level fired ("tier-chain level 3: resolution breached").
    :param key: the firing key ``ticket|policy|level|metric|cycle``.
    :param review: the ticket's live review (opened by this firing, or already open); ``None``
        when the ticket's priority is not one ``[reviews] priorities`` reviews.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        ``review``: the library opens the review itself; the hook only observes it.
    """
