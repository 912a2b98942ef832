"""Pure routing: from a ``RouteRequest`` to a ``Decision``, with no I/O beyond reading the
shipped catalog and policy files, and no import of any other tierwise package.

``tiers`` the ordered ladder · ``catalog`` models and prices · ``pricing``/``usage`` exact cost ·
``tokens`` the offline estimate · ``policy``/``policy_schema`` the policy file · ``request`` what
routing reads · ``features`` one pass over the text · ``strategies`` one module each ·
``router`` runs them · ``decision`` what comes out · ``recommend`` the Model Selector.
"""
