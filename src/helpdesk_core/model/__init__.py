"""The domain's data: attrs classes for people, tickets, messages and events."""
