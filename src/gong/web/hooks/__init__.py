"""The lean ASGI endpoints robots call (``/robot/send``, ``sendBySession``, integrations), and
the body deadline and client address they share."""
