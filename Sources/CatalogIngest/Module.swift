// Module CatalogIngest: see README "Architecture".
