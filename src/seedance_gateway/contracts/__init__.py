"""The published OpenAPI 3.1 contracts: one document per wire dialect, and the whole API.

Routes declare what FastAPI cannot see (``operation``: the JSON body they read themselves, the
errors they raise, whether they need a key); ``build`` turns each dialect's routes into its
document, with every error in that dialect's own envelope and status, and the Public API v1
model parameters generated from the catalog (``catalog_schemas``).
"""
