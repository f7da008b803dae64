"""BPJS Ketenagakerjaan (BPU) dues: rates, discounts and their tables."""
