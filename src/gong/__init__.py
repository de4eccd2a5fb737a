"""Gong: a self-hosted group-robot hub, wire-compatible with DingTalk custom robots."""

__version__ = "0.1.0"
