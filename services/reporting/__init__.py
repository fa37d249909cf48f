"""reporting: folds the event log into the KPIs headquarters audits and streams them to dashboards.

Laid out like dispatch (domain/, service_layer/, adapters/, entrypoints/); the service
itself is built in its own issue. `wo up` starts it once `services/reporting/__main__.py` exists.
"""
