"""Patient messaging in GraphQL: rules, templates, contact preferences, notifications, inbox."""
