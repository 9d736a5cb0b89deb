"""Channel adapters: one module per provider, each translating webhooks into the router's inbound events
and agents' replies into the provider's outbound calls (see docs/adapters.md)."""
