"""carecall: AI phone and SMS conversations for healthcare, with the rules enforced in code."""

__version__ = "0.1.0"
