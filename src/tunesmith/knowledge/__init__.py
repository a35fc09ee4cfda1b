"""Knowledge bases: documents with access groups, chunks, the index and permission-aware hybrid search."""
