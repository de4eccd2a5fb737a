"""Outgoing robots: call a robot's service when a person @-mentions it, post what it answers."""
