"""The consent log's public API: tree heads, checkpoints, proofs, cosignatures, keys."""
