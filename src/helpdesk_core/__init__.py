"""helpdesk_core: a whole customer-service desk as a pure-domain library.

The public names most hosts need; everything else lives in its module.
"""

from helpdesk_core.access import AccessPolicy, AllowAllPolicy, Decision
from helpdesk_core.clock import Clock, SystemClock
from helpdesk_core.conditions import Condition, compile_condition
from helpdesk_core.config import HelpdeskConfig, load_config
from helpdesk_core.desk import Helpdesk
from helpdesk_core.errors import (
    AlreadyClaimed,
    CalendarError,
    ConcurrencyConflict,
    ConfigError,
    HelpdeskError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PluginError,
    StorageError,
    ValidationError,
)
from helpdesk_core.hookspecs import hookimpl
from helpdesk_core.lifecycle import DEFAULT_WORKFLOW, Workflow
from helpdesk_core.model.customers import Customer
from helpdesk_core.model.events import Event, Message
from helpdesk_core.model.hits import ArticleHit, SearchHit
from helpdesk_core.model.intake import Attachment, IngestResult, IntakeRecord
from helpdesk_core.model.knowledge import Article, KbGap
from helpdesk_core.model.people import SYSTEM, Actor, Agent, Department, Team
from helpdesk_core.model.records import OutboxMessage
from helpdesk_core.model.reviews import ImprovementAction, Review, RootCause
from helpdesk_core.model.surveys import Survey
from helpdesk_core.model.tickets import Ticket
from helpdesk_core.monitoring import Alarm, QueueStatus, TeamQueue

__all__ = [
    "DEFAULT_WORKFLOW",
    "SYSTEM",
    "AccessPolicy",
    "Actor",
    "Agent",
    "Alarm",
    "AllowAllPolicy",
    "AlreadyClaimed",
    "Article",
    "ArticleHit",
    "Attachment",
    "CalendarError",
    "Clock",
    "ConcurrencyConflict",
    "Condition",
    "ConfigError",
    "Customer",
    "Decision",
    "Department",
    "Event",
    "Helpdesk",
    "HelpdeskConfig",
    "HelpdeskError",
    "ImprovementAction",
    "IngestResult",
    "IntakeRecord",
    "InvalidTransition",
    "KbGap",
    "Message",
    "NotFound",
    "OutboxMessage",
    "PermissionDenied",
    "PluginError",
    "QueueStatus",
    "Review",
    "RootCause",
    "SearchHit",
    "StorageError",
    "Survey",
    "SystemClock",
    "Team",
    "TeamQueue",
    "Ticket",
    "ValidationError",
    "Workflow",
    "compile_condition",
    "hookimpl",
    "load_config",
]
__version__ = "0.1.0"
