"""Leaderboards: tables read from the results database, the rule of thumb and its verdicts
with confidence intervals, the budgets board, plots, and the files and HTML page written."""
