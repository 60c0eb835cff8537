"""Deployment: `make class` (N replicas behind nginx), the nginx configuration, Docker and compose."""
