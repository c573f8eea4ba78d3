"""Reference controller: the osac-operator's ComputeInstance reconciler (era B, 912735a; era A
names and differences under profile `cloudkit`), run as `python -m harness.reference.controller`.

Pure decision logic: `restart`, `conditions`, `config_version`, `phases`, `jobs`, `eras`,
`vm_manifest`. I/O: `kube` (API calls), `reference_provider` (provision jobs), `manager`
(informers, work queue, workers)."""
