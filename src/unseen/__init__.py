"""unseen: traditional machine learning that secures, personalises and monitors an e-commerce shop."""

__version__ = "0.1.0"
