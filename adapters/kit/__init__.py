"""The shared adapter kit: signatures, webhook plumbing, provider HTTP, settings, text splitting."""
