"""Publishing: the outbox of publications and deliveries, and the sender that works it off."""
