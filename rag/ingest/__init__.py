"""Ingest: loading documents (files, feeds), chunking them, and the encoder that embeds them."""
