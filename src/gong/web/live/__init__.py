"""The live stream: Server-Sent Events of each reader's groups."""
