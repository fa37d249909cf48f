"""dispatch's HTTP routes, one module per resource."""
