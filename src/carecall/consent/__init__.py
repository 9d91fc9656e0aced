"""The consent ledger: consents, opt-outs and their review, the do-not-call list, contact
history, and the facts the outbound policy needs about one patient and number."""
