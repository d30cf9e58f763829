"""Channels: one module per platform behind the small protocol in base.py."""
