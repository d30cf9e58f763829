"""The calendar: config/schedule.toml and the occasions it plans (pure, no I/O but the file)."""
