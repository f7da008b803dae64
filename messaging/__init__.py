"""Outbound messages to workers and sponsors: the Message model, queueing and delivery."""
