"""The topics a subscriber can follow. No imports: the store and `bot --help` both load it."""

TOPICS = ("statements", "weekly-digest", "daily-briefing")
# As the store keeps a subscriber's topics (comma-separated): every topic, the default.
ALL_TOPICS = ",".join(TOPICS)
