"""Developer tools: local stand-ins and helpers for running and checking Payung on one machine."""
