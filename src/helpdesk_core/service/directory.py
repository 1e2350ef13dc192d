"""The agent directory: profiles routing and escalation read, and presence."""

from __future__ import annotations

from datetime import datetime

import attrs

from helpdesk_core import validation as check
from helpdesk_core.errors import NotFound, ValidationError
from helpdesk_core.model.people import Actor, Agent
from helpdesk_core.service.runner import Call, Runner


def save_agent(runner: Runner, actor: Actor, agent: Agent, *, now: datetime | None) -> Agent:
    """Add or update a profile (``config.edit``)."""
    if not isinstance(agent, Agent):
        raise ValidationError("agent", f"must be an Agent, got {type(agent).__name__}")

    def body(call: Call) -> Agent:
        call.authorise("config.edit", target=f"agent:{agent.id}")
        call.uow.save_agent(agent)
        return agent

    return runner.run(actor, "config.edit", f"agent:{agent.id}", now, body)


def set_presence(
    runner: Runner, actor: Actor, agent_id: str, online: bool, *, now: datetime | None
) -> Agent:
    """An agent goes online or offline: themself, or someone with ``config.edit`` for them."""
    check.ident(agent_id, "agent_id")
    check.flag(online, "online")

    def body(call: Call) -> Agent:
        if actor.id != agent_id:
            call.authorise("config.edit", target=f"agent:{agent_id}")
        found = next((a for a in call.uow.agents() if a.id == agent_id), None)
        if found is None:
            raise NotFound("agent", agent_id)
        changed = attrs.evolve(found, online=online)
        call.uow.save_agent(changed)
        return changed

    return runner.run(actor, "config.edit", f"agent:{agent_id}", now, body)


def agents(runner: Runner) -> list[Agent]:
    """Every profile (the directory is not secret to the host that asks)."""
    with runner.storage.transaction() as uow:
        return uow.agents()
