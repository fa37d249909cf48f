"""notify: tells residents, staff and managers what they need to know, when they should know it.

Laid out like dispatch (domain/, service_layer/, adapters/, entrypoints/).
`wo up` starts it with its own SQLite file under var/; see docs/notify.md.
"""
