"""HTTP pieces shared by the API and the web UI: authentication policies, CSRF, health endpoints."""
