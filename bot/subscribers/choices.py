"""What a subscriber can choose. Kept free of heavy imports: `bot --help` loads it."""

CHANNELS = ("email", "telegram")
LANGS = ("en", "my")
TOPICS = ("statements", "weekly-digest", "daily-briefing")
ALL_TOPICS = ",".join(TOPICS)
