"""The demo district and its simulation: a client of the public service functions, like any other.

Nothing in the domain packages imports this package; `twonets demo` and `twonets simulate` do.
"""
