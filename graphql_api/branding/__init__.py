"""The clinic's logo: its public URLs and the admins' upload."""
