"""Reading template.yaml: parameters, Conditions, Globals and intrinsics (`template`,
`intrinsics`), the functions and their events (`functions`), and the resources created in
moto (`resources`)."""
