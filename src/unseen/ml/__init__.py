"""Machine learning for unseen: one subpackage per task, traditional models only (no neural networks)."""
