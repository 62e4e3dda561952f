"""The stack config: every key read, typed and checked once (`config.settings.load_settings`)."""
