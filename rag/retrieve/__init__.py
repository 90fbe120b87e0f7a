"""Retrieval: candidates from the dense and lexical lists, fused, then reranked, re-dated, collapsed
and diversified by pure stages (rag.retrieve.pipeline runs them)."""
