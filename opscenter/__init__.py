"""OpsCenter core: domain records, feeds, the live store and the demo city.

Nothing in this package imports Qt, so all of it runs and is tested without a display.
"""

__version__ = "0.1.0"
