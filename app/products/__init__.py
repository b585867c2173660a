"""Products as data: a plan year, a window, premiums, refund rule, terms and benefit buckets."""
