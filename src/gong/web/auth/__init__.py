"""Sign-in plumbing of the web app: signed session cookies and the sign-in lockout."""
