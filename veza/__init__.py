"""Veza: settings, errors and records shared by every part of the platform."""

__version__ = "0.1.0"
