"""Leaderboards: tables read from the results table, the verdicts and their confidence
intervals, the budgets board, plots, and the files and HTML page written."""
