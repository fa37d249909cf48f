"""notify: tells residents, staff and managers what they need to know, when they should know it.

Laid out like dispatch (domain/, service_layer/, adapters/, entrypoints/); the service
itself is built in its own issue. `wo up` starts it once `services/notify/__main__.py` exists.
"""
