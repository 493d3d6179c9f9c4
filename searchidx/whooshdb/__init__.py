"""The Whoosh backend: the only part of searchidx that imports Whoosh.

- :mod:`~searchidx.whooshdb.schema`: analyzers and the schema of :mod:`searchidx.fields`;
- :mod:`~searchidx.whooshdb.query`: the query language, filters, ranking, exact totals;
- :mod:`~searchidx.whooshdb.snapshot`: one committed state of an index, read through
  the :class:`searchidx.engine.Snapshot` protocol;
- :mod:`~searchidx.whooshdb.writing`: writing segments, in parallel for big builds.
"""
