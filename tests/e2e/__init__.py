"""End-to-end tests: real ``seedance`` processes, real HTTP, real databases, decoded MP4s."""
