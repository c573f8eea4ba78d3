"""The reference provisioning webhook: what the operator's provision/deprovision webhook URLs
point at in the embedded stack (in a cluster, the EDA event stream, contract §9.4)."""
