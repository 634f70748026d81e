"""Signed links, short codes, QR codes and posters. A plain library: no Flask imports."""
