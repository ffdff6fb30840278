"""Status > Log Analyzer (area 5): Import, Reports, SQL and E-mail tabs."""
