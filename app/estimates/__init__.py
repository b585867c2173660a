"""The value estimate: what last year's settlement records would have paid under the product on
sale, had the family been covered (issue 17)."""
