"""Provider ``local``: open-weight video models (diffusers pipelines) on this server's own GPU,
or its CPU (docs/local-models.md). torch and diffusers come with the ``[local]`` extra and are
imported only when a local model is configured (``weights``), so the server starts without them.
"""
