"""City sensing (物联感知): things, readings, business tags, detectors and alarms.

Readings come in by MQTT, HTTP or files and all go through one validated pipeline
(`pipeline.ingest`); detectors are data (`definitions/*.yaml`) evaluated per reading and, for
absence rules, by a timer; an alarm opens an `auto` work order through `city.services`.
"""
