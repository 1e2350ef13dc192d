"""Text normalisation shared by duplicate detection (and search): width, case, punctuation,
traditional vs simplified Chinese."""

from helpdesk_core.text.normalise import fold, is_cjk, to_simplified

__all__ = ["fold", "is_cjk", "to_simplified"]
