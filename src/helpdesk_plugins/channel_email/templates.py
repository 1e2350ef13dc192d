"""Outbound mail templates per event kind and locale (``en``, ``zh-CN``).

A template is a pair of ``str.format`` strings over the fields of :func:`template_fields`
(``number``, ``subject``, ``body``, ``status``, ``reason``, ``desk``); a field a notification
lacks renders empty. Hosts pass their own table to the SMTP notifier to change the wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

Template = tuple[str, str]
"""``(subject format, body format)``."""

TEMPLATES: Final[Mapping[tuple[str, str], Template]] = {
    ("ticket_created", "en"): (
        "[#{number}] We received your request: {subject}",
        "Hello,\n\nwe received your request and opened ticket {number}. "
        "Reply to this mail to add to it; keep [#{number}] in the subject.\n\n"
        "{body}\n\n-- \n{desk}",
    ),
    ("ticket_created", "zh-CN"): (
        "[#{number}] 我们已收到您的请求：{subject}",
        "您好：\n\n我们已收到您的请求，工单号为 {number}。"
        "直接回复本邮件即可补充信息，请保留主题中的 [#{number}]。\n\n{body}\n\n-- \n{desk}",
    ),
    ("replied", "en"): ("Re: [#{number}] {subject}", "{body}\n\n-- \n{desk}"),
    ("replied", "zh-CN"): ("回复：[#{number}] {subject}", "{body}\n\n-- \n{desk}"),
    ("status_changed", "en"): (
        "[#{number}] {subject}: now {status}",
        "Your ticket {number} is now {status}.\n\n-- \n{desk}",
    ),
    ("status_changed", "zh-CN"): (
        "[#{number}] {subject}：状态已更新为 {status}",
        "您的工单 {number} 状态已更新为 {status}。\n\n-- \n{desk}",
    ),
    ("customer_messaged", "en"): (
        "[#{number}] New customer message: {subject}",
        "The customer wrote on ticket {number}:\n\n{body}",
    ),
    ("customer_messaged", "zh-CN"): (
        "[#{number}] 客户新消息：{subject}",
        "客户在工单 {number} 中留言：\n\n{body}",
    ),
    ("assigned", "en"): (
        "[#{number}] Assigned to you: {subject}",
        "Ticket {number} is assigned to you.\n\n{body}",
    ),
    ("assigned", "zh-CN"): (
        "[#{number}] 已分配给您：{subject}",
        "工单 {number} 已分配给您。\n\n{body}",
    ),
    ("escalation", "en"): (
        "[#{number}] Escalation: {subject}",
        "Ticket {number} was escalated: {reason}\n\n{body}",
    ),
    ("escalation", "zh-CN"): (
        "[#{number}] 升级提醒：{subject}",
        "工单 {number} 已升级：{reason}\n\n{body}",
    ),
    ("survey", "en"): (
        "[#{number}] How did we do? {subject}",
        "Your ticket {number} was resolved. Please rate our service from 1 to 5 stars.\n\n"
        "{body}\n\n-- \n{desk}",
    ),
    ("survey", "zh-CN"): (
        "[#{number}] 请为本次服务评分：{subject}",
        "您的工单 {number} 已解决，请为本次服务打 1-5 星。\n\n{body}\n\n-- \n{desk}",
    ),
    ("*", "en"): ("[#{number}] {subject}", "{body}\n\n-- \n{desk}"),
    ("*", "zh-CN"): ("[#{number}] {subject}", "{body}\n\n-- \n{desk}"),
}
"""The shipped wording; ``("*", locale)`` serves event kinds without their own template."""


def template_for(
    kind: str, locale: str, table: Mapping[tuple[str, str], Template] = TEMPLATES
) -> Template:
    """The template of ``kind`` in ``locale``, else the locale's default, else English."""
    for key in ((kind, locale), ("*", locale), (kind, "en"), ("*", "en")):
        if key in table:
            return table[key]
    return TEMPLATES[("*", "en")]


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: Template, fields: Mapping[str, str]) -> tuple[str, str]:
    """``(subject, body)``; unknown fields render empty, data never acts as a format string."""
    values = _Blank(fields)
    subject, body = template
    return subject.format_map(values), body.format_map(values)
