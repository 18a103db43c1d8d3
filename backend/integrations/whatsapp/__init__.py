"""WhatsApp Cloud API (Meta): sending template and text messages (``client``)."""
