"""twonets: run the city (一网统管) and serve the people (一网通办) on one data foundation."""

__version__ = "0.1.0"
