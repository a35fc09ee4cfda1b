"""Knowledge bases: documents with access groups, their chunks, the index, and
permission-aware hybrid search with citations."""
