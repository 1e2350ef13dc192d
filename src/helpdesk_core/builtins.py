"""The built-in plugin of the core: registers the policy sections of the configuration
(``calendars``, ``sla``, ``routing``, ``escalation``, ``permissions``, ``customers``,
``duplicates``, ``alarms``, ``surveys``, ``problem_records``, ``reviews``) through
``helpdesk_register_config_sections``, the same hook a third-party plugin uses."""

from __future__ import annotations

from helpdesk_core.calendars import parse_calendars
from helpdesk_core.config import SectionRegistrar
from helpdesk_core.customers import parse_customers
from helpdesk_core.duplicates import parse_duplicates
from helpdesk_core.escalation import parse_escalation
from helpdesk_core.hookspecs import hookimpl
from helpdesk_core.monitoring import parse_alarms
from helpdesk_core.permissions import parse_permissions
from helpdesk_core.problems import parse_problem_records
from helpdesk_core.reviews import parse_reviews
from helpdesk_core.routing import parse_routing
from helpdesk_core.sla import parse_sla
from helpdesk_core.surveys import parse_surveys


@hookimpl(trylast=True)
def helpdesk_register_config_sections(register: SectionRegistrar) -> None:
    register("calendars", parse_calendars)
    register("sla", parse_sla)
    register("routing", parse_routing)
    register("escalation", parse_escalation)
    register("permissions", parse_permissions)
    register("customers", parse_customers)
    register("duplicates", parse_duplicates)
    register("alarms", parse_alarms)
    register("surveys", parse_surveys)
    register("problem_records", parse_problem_records)
    register("reviews", parse_reviews)
