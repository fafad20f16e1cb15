"""hotcast: the application layer (command-line dispatcher, demo, bench report).

It is the only package allowed to import both ``center`` and ``receiver``.
"""
