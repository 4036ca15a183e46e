"""Built-in method plugins. Each module is one method family and one pluggy plugin, declared
under the ``ganprint`` entry-point group in setup.py like any third-party plugin."""
