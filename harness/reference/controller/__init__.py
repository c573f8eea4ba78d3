"""Reference controller: the osac-operator's ComputeInstance reconciler (era B, 912735a; era A
names and differences under profile `cloudkit`, era A2's under `cloudkit-jobs`), run as
`python -m harness.reference.controller`.

Pure decision logic: `restart`, `conditions`, `config_version`, `phases`, `jobs`, `eras`,
`vm_manifest`, `outcome`, `job_styles`; `reconciler` (one pass, through the `ClusterPort` and
`provider` interfaces); `mutants` (deliberately broken variants). I/O: `cluster` (API calls),
`reference_provider` (provision jobs), `manager` (informers, work queue, workers)."""
