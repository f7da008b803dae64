"""Users, roles and sign-in: email + password for sponsors, partners and admins; phone +
one-time code for workers."""
