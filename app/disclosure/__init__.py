"""Disclosure: public statistics served from maintained aggregates, the insurer's yearly
settlement (loss-ratio floor and Huizhou corridor), and the member's records as FHIR resources.

- aggregates.py  counters updated in the same transaction as each event (atomic upserts), and the
                 hooks that enrollment, refunds and claims call;
- statistics.py / suppression.py  the public tables built from the counters, with small-cell and
                 complementary suppression (pure);
- corridor.py    the settlement rules (pure);
- fhir.py        pure mappers from plain views to FHIR R4 resources;
- services.py, routes.py, schemas.py, cli.py  the use cases and their HTTP and CLI faces.
"""
