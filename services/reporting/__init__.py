"""reporting: folds the event log into the KPIs headquarters audits, serves and streams them
(the staff console's quality page is their dashboard).

Laid out like dispatch (domain/, service_layer/, adapters/, entrypoints/); the service
itself is built in its own issue. `wo up` starts it once `services/reporting/__main__.py` exists.
"""
