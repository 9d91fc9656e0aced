"""The outbound policy: a pure decision over plain data for every outbound call and text."""

from carecall.policy.model import (
    Channel,
    Consent,
    ConsentForm,
    ConsentKind,
    ContactFacts,
    LineType,
    Message,
    OptOut,
    PastContact,
    PatientFacts,
    PolicyDecision,
    PolicyRequest,
    Reason,
    TenantFacts,
)
from carecall.policy.rules import EXEMPT_PURPOSES, decide
from carecall.policy.sms_length import SmsMeasure, measure

__all__ = [
    "EXEMPT_PURPOSES",
    "Channel",
    "Consent",
    "ConsentForm",
    "ConsentKind",
    "ContactFacts",
    "LineType",
    "Message",
    "OptOut",
    "PastContact",
    "PatientFacts",
    "PolicyDecision",
    "PolicyRequest",
    "Reason",
    "SmsMeasure",
    "TenantFacts",
    "decide",
    "measure",
]
