"""Local fakes of the messaging providers: real servers on loopback ports that check each
request the way the real service documents it and answer the way it does."""
