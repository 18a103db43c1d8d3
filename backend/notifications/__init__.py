"""Patient messaging: confirmation requests, reminders and recall, over WhatsApp, SMS and email.

The scheduling domain tells this app what happened to an appointment (``hooks``); this app
decides which messages that means, when (the clinic's rules, quiet hours), on which channel
(the patient's consent and contacts) and with which words (the clinic's templates). Sending
is a job (``tasks``); providers live in ``backend/integrations``.
"""
