"""Subscribers: people who get posts by email or in Telegram. Their data is kept to the minimum."""
