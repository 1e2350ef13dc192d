"""Who a notification goes to, resolved for the notifiers (issue 23): a recipient id is an agent
of the directory (``Agent.emails``) or a customer record (its preferred email), and whether
customers' contact details must be masked in what that recipient is sent.

The masking decision is the one the facade makes for contact (PII) fields: the recipient, as the
actor their record makes of them (an agent's roles, team and department; a customer's role and
organisation), reads contacts in clear when they may read contact details
(``customer.view_contact``) on the notification's ticket (on every ticket when it concerns
none) and the field rules of their roles neither hide nor mask a contact custom field (``pii =
"email"`` or ``"mobile"``). A recipient the desk does not know (no agent, no customer: an
on-call address, say) has no role that may read them: masked.

What is resolved goes into ``Notification.data``, where notifiers read it: ``email`` and
``name`` when the notification does not carry them already (an acknowledgement names the
address the mail came from), and ``mask_contacts`` (always set, a bool).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from helpdesk_core.model.people import Actor, Agent
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.ports import Notification, UnitOfWork
from helpdesk_core.service.runner import Runner

VIEW_CONTACT = "customer.view_contact"
CONTACT_KINDS = frozenset({"email", "mobile"})
"""The kinds of personal data (``pii``) that are contact details."""


@attrs.define
class Addresses:
    """Resolves the recipients of one outbox message's notifications in one transaction."""

    runner: Runner
    uow: UnitOfWork
    at: datetime
    _agents: dict[str, Agent] | None = None
    _tickets: dict[str, Ticket | None] = attrs.field(factory=dict)

    def agent(self, actor_id: str) -> Agent | None:
        if self._agents is None:
            self._agents = {a.id: a for a in self.uow.agents()}
        return self._agents.get(actor_id)

    def ticket(self, ticket_id: str | None) -> Ticket | None:
        if ticket_id is None:
            return None
        if ticket_id not in self._tickets:
            self._tickets[ticket_id] = self.uow.get_ticket(ticket_id)
        return self._tickets[ticket_id]

    def remember(self, ticket: Ticket) -> None:
        """A ticket the caller read in this transaction already."""
        self._tickets[ticket.id] = ticket

    def address(self, notification: Notification) -> Notification:
        """``notification`` with ``email``, ``name`` and ``mask_contacts`` in its data."""
        data = dict(notification.data)
        actor: Actor | None = None
        email: str | None = None
        name: str | None = None
        agent = self.agent(notification.recipient)
        if agent is not None:
            actor, email, name = agent.as_actor(), agent.email, agent.name
        else:
            customer = self.uow.get_customer(notification.recipient)
            if customer is not None:
                actor = Actor(
                    id=customer.id,
                    roles=frozenset({"customer"}),
                    organisation=customer.organisation,
                    name=customer.name,
                )
                email, name = customer.preferred_email, customer.name
        if email and not data.get("email"):
            data["email"] = email
        if name and not data.get("name"):
            data["name"] = name
        data["mask_contacts"] = actor is None or self.masked(actor, notification.ticket_id)
        return attrs.evolve(notification, data=data)

    def masked(self, actor: Actor, ticket_id: str | None) -> bool:
        """Whether ``actor`` reads customers' contacts masked on the ticket: no
        ``customer.view_contact`` there, or field rules of their roles that hide or mask a
        contact field (a custom field declared ``pii = "email"`` or ``"mobile"``)."""
        view = self.runner.view(self.uow, actor, self.at)
        ticket = self.ticket(ticket_id)
        if not view.may(VIEW_CONTACT, ticket):
            return True
        contacts = {
            f"custom.{name}"
            for name, spec in self.runner.config.custom_fields.items()
            if spec.pii in CONTACT_KINDS
        }
        if not contacts:
            return False
        unreadable = view.unreadable_on(ticket) if ticket is not None else view.unreadable
        return not contacts.isdisjoint(unreadable)
