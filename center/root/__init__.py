"""The offline root of trust: a root home (``RootHome``) and its command line (``hotcast root``)."""
