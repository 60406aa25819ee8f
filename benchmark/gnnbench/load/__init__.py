"""Stage 3: check, install and load a built dataset (verify, HF cache install, PyG adapter)."""
