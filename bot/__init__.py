"""spring-bot: composes posts from documented figures and publishes them."""

__version__ = "0.1.0"
