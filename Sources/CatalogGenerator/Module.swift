// Module CatalogGenerator: see README "Architecture".
