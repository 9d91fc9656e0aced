"""Outbound campaigns: plan with the outbound policy, run as durable workflows."""
