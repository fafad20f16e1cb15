"""``hotcast bench``: one report of decoding speed, link quality and peers (issue 12).

Each section module (speed, stages, link quality, peers, time to protection, ...) exposes
``run(ctx: BenchContext) -> Section``; the command runs them, saves one JSON document, compares
it with an older one and writes the report. The types they share are in ``hotcast.bench.model``.
"""
