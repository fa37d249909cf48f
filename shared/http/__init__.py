"""HTTP pieces every service's FastAPI app uses: problem details, middleware, metrics, auth."""
