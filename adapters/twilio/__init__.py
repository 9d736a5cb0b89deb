"""Twilio: voice (IVR through TwiML) and SMS/MMS."""
