"""The web page served by `bot run`: latest figures, and /health for monitoring."""
