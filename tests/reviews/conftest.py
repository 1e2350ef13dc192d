"""Fixtures of the review tests (defined in review_setup.py, shared with the test modules)."""

from review_setup import observer, review_desk

__all__ = ["observer", "review_desk"]
