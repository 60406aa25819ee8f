"""Stage 1: run LAMMPS and read its dump files (config -> simulation -> frames)."""
