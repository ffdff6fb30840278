"""Logs (spec section 5): file names now; catalog, parser, index, filter, tail later."""
