"""The HTTP API: the route table, its handlers, authentication and the generated OpenAPI document."""
