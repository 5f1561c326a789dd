"""Agent-based simulation of a relationship between two states, held up against the historical record."""

__version__ = "0.1.0"
