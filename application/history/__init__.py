"""Use cases of auditors: the event history and the audit trail."""
