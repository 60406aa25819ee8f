"""Stage 2: turn frames into a Hugging Face dataset repository (shards, splits, manifest, card)."""
