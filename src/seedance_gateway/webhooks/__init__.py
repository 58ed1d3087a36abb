"""Webhooks and per-request callbacks: one durable, signed delivery system (docs/webhooks.md).

``signing`` makes Standard Webhooks headers, ``schedule`` decides when to try again,
``sender`` makes one attempt of one delivery, ``manage`` holds the endpoint use cases.
"""
