"""searchidx: a terminal search engine for collections of news articles."""

__version__ = "0.1.0"
