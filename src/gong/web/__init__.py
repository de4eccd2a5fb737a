"""The web side: the robot API, the management API, and (later) the web app's pages."""
