"""The outward shapes of Gong's records (:mod:`gong.schemas.records`)."""
