"""Datasets of ganprint: the folder loader, the real-photo base set and the GAN zoo.

They are registered through the ``ganprint_datasets`` hook (module ``ganprint.datasets.hooks``).
"""
