"""Provider ``ark``: the real upstream (Volcengine Ark, BytePlus ModelArk), carried durably.

Unlike a local renderer it is not one long call: a task is submitted once (``runner.submit``),
checked in batches through the upstream's list call (``runner.Poller``), and its video copied into
our blobs (``runner.fetch``) before it succeeds here. ``wire`` is the pure mapping of bodies and
statuses; ``client`` the HTTP calls and how each failure is classified; ``channels`` the upstream
accounts with their limits. The state lives in ``store.upstream``.
"""
