"""console: the web console of the staff (customer service, dispatchers, technicians, ...)."""
