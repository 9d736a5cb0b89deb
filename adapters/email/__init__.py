"""E-mail: an SMTP listener for inbound mail, replies through a relay."""
