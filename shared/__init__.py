"""Shared package of the work-order services: event contract, bus, settings, auth, logging.

Every service imports from here and nothing else of another service; this is the
only code the three services have in common (each service owns its own data and rules).
"""
