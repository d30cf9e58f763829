"""Entering figures: parsing, checking and storing them, all or nothing."""
