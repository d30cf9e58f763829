"""Composing drafts: figures + occasion + template → text fitted to each channel."""
