"""Web chat: the customer's socket and page."""
