"""Channel adapters: Twilio voice (webhooks, TwiML, REST), signature checks, recordings."""
