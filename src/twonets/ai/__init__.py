"""AI assistance, measured (issue 14): 12345 demand routing, address understanding, service search.

Imports only `core` (and `data`); the reference data it needs (taxonomy, gazetteer, catalogue)
comes in as arguments, so the city, the services and the web can all call it.
"""
