"""Fulfillment: issuing every part of every bundle, claim codes, and messages to workers."""
