"""The bad-input error every layer raises (kept apart from config.py so the registry, which
config.py imports, can raise it without an import cycle)."""


class ConfigError(ValueError):
    """Invalid user input; the message names the field and the allowed values."""
