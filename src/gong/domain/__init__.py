"""Gong's domain: groups, members, robots and messages, and the rules that connect them."""
