"""Small clients of outside services, one package per vendor, each with its base URL and
credentials in settings and tested against a local fake of the real API."""
