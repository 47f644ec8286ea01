"""Article → meaning, with no database and no Scrapy: relevance, fingerprints (MinHash), and the worker job."""
