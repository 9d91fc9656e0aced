"""The job engine (durable workflows and queues); see ``jobs.engine``."""
