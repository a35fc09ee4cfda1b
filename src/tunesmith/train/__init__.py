"""Fine-tuning: SFT runs of a base model on a dataset version (LoRA / DoRA / QLoRA / full,
one process or N through torchrun), preference tuning of an SFT run (`align`), run folders and
their lineage, and merged exports."""
