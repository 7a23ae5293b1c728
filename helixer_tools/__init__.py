"""helixer-tools: Galaxy/Nextflow-compatible microtools for fine-tuning the Helixer gene caller."""

__version__ = "0.1.0"
