"""Tools that read the ledger or labelled data: ``report``, ``dashboard``, ``review``,
``replay``, ``evaluation``, ``training`` (the learned router), ``monthly_cost`` and
``estimate_accuracy``. Nothing on the request path imports them."""
