"""Parsers for the formats centers actually receive, each a pure function of bytes to records.

Every parser raises or yields `opscenter.errors.ParseError` for bad input (naming the source and
the reason) and never anything else; unknown codes map to an explicit "other".
"""
