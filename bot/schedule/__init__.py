"""The calendar: what is posted when, and the daemon that keeps it."""
