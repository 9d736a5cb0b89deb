"""Meta's platforms: WhatsApp Cloud API and Messenger, which share one webhook signature scheme."""
