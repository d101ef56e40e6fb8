"""Errors shared across layers."""


class ConfigError(ValueError):
    """A config value is missing or outside what is allowed; the message names the key."""
