"""Fitting drafts into the limits of each channel."""
