"""SMS through a Twilio-compatible REST API (``client``)."""
